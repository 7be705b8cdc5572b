using System.Diagnostics;
using Learner.Nn;

namespace Learner.Data;

// Batch assembly: payloads (through the dataset's PayloadCache) stacked into one tensor or a loader's reused buffer.
public sealed partial class LongitudinalDataset
{
    /// <summary>Loads the payloads of the given scans and stacks them into one tensor of shape (B, …).</summary>
    /// <param name="scanIndices">Indices into <see cref="Scans"/>.</param>
    /// <returns>The batch.</returns>
    /// <exception cref="RaggedPayloadException">The payloads do not share a shape.</exception>
    /// <exception cref="LearnerDataException">A scan has no payload or its file cannot be read.</exception>
    public Tensor LoadBatch(ReadOnlySpan<int> scanIndices) => LoadBatch(scanIndices, 1, null);

    /// <summary>Loads the payloads of the given scans <paramref name="views"/> times, passes each copy through
    /// <paramref name="transform"/> (e.g. a seeded augmentation), and stacks them view-major into one tensor of shape
    /// (views × B, …): rows [v·B, (v+1)·B) are view v of the B scans.</summary>
    /// <param name="scanIndices">Indices into <see cref="Scans"/>.</param>
    /// <param name="views">Copies of each scan (≥ 1).</param>
    /// <param name="transform">Called with (payload, v·B + i) for copy v of scan i; null keeps the payloads as stored.</param>
    /// <returns>The batch.</returns>
    /// <exception cref="RaggedPayloadException">The (transformed) payloads do not share a shape.</exception>
    /// <exception cref="LearnerDataException">A scan has no payload or its file cannot be read.</exception>
    public Tensor LoadBatch(ReadOnlySpan<int> scanIndices, int views, Func<Tensor, int, Tensor>? transform)
    {
        var target = new TensorTarget();
        Assemble(scanIndices, views, transform, ref target);
        return target.Batch!;
    }

    /// <summary>As <see cref="LoadBatch(ReadOnlySpan{int}, int, Func{Tensor, int, Tensor}?)"/>, written into
    /// <paramref name="buffer"/> instead of a new tensor (a background loader's reused storage): the buffer is replaced by
    /// one of <paramref name="capacityRows"/> items the first time it is too small, so a loader that passes the largest
    /// batch it will assemble allocates once.</summary>
    /// <returns>The batch's shape (views × B, …); its values are the first elements of <paramref name="buffer"/>.</returns>
    internal int[] LoadBatchInto(ReadOnlySpan<int> scanIndices, int views, Func<Tensor, int, Tensor>? transform, ref float[] buffer, int capacityRows)
    {
        var target = new ArrayTarget(buffer, capacityRows);
        Assemble(scanIndices, views, transform, ref target);
        buffer = target.Buffer;
        return target.Shape!;
    }

    private void Assemble<TTarget>(ReadOnlySpan<int> scanIndices, int views, Func<Tensor, int, Tensor>? transform, ref TTarget target) where TTarget : struct, IBatchTarget
    {
        if (scanIndices.Length == 0) throw new ArgumentException("A batch needs at least one scan.", nameof(scanIndices));
        ArgumentOutOfRangeException.ThrowIfLessThan(views, 1);
        long started = Stopwatch.GetTimestamp();
        int b = scanIndices.Length;
        foreach (int i in scanIndices)
            if ((uint)i >= (uint)_scans.Length) throw new ArgumentOutOfRangeException(nameof(scanIndices), i, $"Scan index out of range [0, {_scans.Length}).");
        Span<float> batch = default;
        bool allocated = false;
        int[]? itemShape = null;
        int itemSize = 0;
        for (int v = 0; v < views; v++)
            for (int k = 0; k < b; k++)
            {
                var scan = _scans[scanIndices[k]];
                // The first item runs in the caller's scope, so that the batch (sized from it) is owned by that scope
                // and its storage returns to the pool with it; later items release their temporaries at once.
                using var scope = allocated ? TensorScope.Begin() : null;
                ReadOnlySpan<float> values = _cache.ValuesOf(scan, out var shape);
                if (transform is not null)
                {
                    // The transform gets a tensor of its own (it may work in place), never the stored values.
                    var t = transform(Tensor.FromSpan(values, shape), v * b + k);
                    values = t.Data;
                    shape = t.ShapeArray;
                }
                if (!allocated)
                {
                    itemShape = shape;
                    itemSize = values.Length;
                    var batchShape = new int[shape.Length + 1];
                    batchShape[0] = checked(views * b);
                    shape.CopyTo(batchShape, 1);
                    batch = target.Allocate(batchShape, itemSize);
                    allocated = true;
                }
                else if (!shape.AsSpan().SequenceEqual(itemShape))
                    throw new RaggedPayloadException(scan.Id, scan.Payload!.Description, itemShape!, shape);
                values.CopyTo(batch.Slice((v * b + k) * itemSize, itemSize));
            }
        _cache.AddBatch(started);
    }

    /// <summary>Where <see cref="Assemble"/> writes a batch.</summary>
    private interface IBatchTarget
    {
        /// <summary>Storage for a batch of <paramref name="shape"/> (items of <paramref name="itemSize"/> values).</summary>
        Span<float> Allocate(int[] shape, int itemSize);
    }

    /// <summary>A new tensor of the caller's scope.</summary>
    private struct TensorTarget : IBatchTarget
    {
        public Tensor? Batch;

        public Span<float> Allocate(int[] shape, int itemSize) => (Batch = Tensor.Empty(shape)).Data;
    }

    /// <summary>A reused array, replaced by one of the capacity's size when too small.</summary>
    private struct ArrayTarget(float[] buffer, int capacityRows) : IBatchTarget
    {
        public float[] Buffer = buffer;
        public int[]? Shape;

        public Span<float> Allocate(int[] shape, int itemSize)
        {
            long need = (long)shape[0] * itemSize;
            if (Buffer.Length < need) Buffer = GC.AllocateUninitializedArray<float>(checked((int)Math.Max(need, (long)capacityRows * itemSize)));
            Shape = shape;
            return Buffer.AsSpan(0, (int)need);
        }
    }

    /// <summary>Loads every payload (through <see cref="PayloadCache"/>, so the check warms it) and checks that all share one shape.</summary>
    /// <returns>The common shape.</returns>
    /// <exception cref="RaggedPayloadException">Two payloads differ in shape.</exception>
    /// <exception cref="LearnerDataException">A payload is missing or unreadable.</exception>
    public int[] ValidatePayloadShapes()
    {
        int[]? shape = null;
        foreach (var s in _scans)
        {
            using var scope = TensorScope.Begin();
            _cache.ValuesOf(s, out var current);
            if (shape is null) shape = current;
            else if (!current.AsSpan().SequenceEqual(shape)) throw new RaggedPayloadException(s.Id, s.Payload!.Description, shape, current);
        }
        return shape is null ? Array.Empty<int>() : (int[])shape.Clone();
    }
}
