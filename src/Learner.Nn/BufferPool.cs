namespace Learner.Nn;

/// <summary>
/// Exact-length pool of float buffers. Tensors released by a <see cref="TensorScope"/> return their storage here,
/// and new tensors of the same length reuse it, so a training step with fixed shapes allocates no tensor storage
/// once warm. Bounded: beyond <see cref="MaxPooledElements"/> returned buffers are left to the garbage collector.
/// </summary>
/// <remarks>The bound is a quarter of the memory available to the process, between 1 GiB and 8 GiB (the environment
/// variable <c>LEARNER_TENSOR_POOL_MB</c> sets it in mebibytes). It must hold a step's whole working set: at ResNet-18's
/// widths a step of 128 frames of 32×32 keeps about 1.5 GB of activations and gradients alive, and with the former fixed
/// 1 GiB every step handed the rest back to the collector and allocated it again, so a third of the step went to the
/// kernel zeroing fresh pages.</remarks>
internal static class BufferPool
{
    /// <summary>The environment variable that sets <see cref="MaxPooledElements"/> (whole mebibytes ≥ 0; 0 pools nothing).</summary>
    internal const string EnvironmentVariable = "LEARNER_TENSOR_POOL_MB";

    private static long _maxPooledElements = -1;

    /// <summary>Upper bound on the total number of pooled elements (see the remarks), read once.</summary>
    internal static long MaxPooledElements => _maxPooledElements >= 0 ? _maxPooledElements
        : _maxPooledElements = ParseLimit(Environment.GetEnvironmentVariable(EnvironmentVariable), GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    /// <summary>The bound in elements for a <c>LEARNER_TENSOR_POOL_MB</c> value (null or blank: a quarter of
    /// <paramref name="availableBytes"/>, clamped to [1 GiB, 8 GiB]).</summary>
    /// <exception cref="InvalidOperationException">The value is not a whole number of mebibytes ≥ 0.</exception>
    internal static long ParseLimit(string? text, long availableBytes) =>
        (EnvironmentSettings.Mebibytes(EnvironmentVariable, text) ?? Math.Clamp(availableBytes / 4, 1L << 30, 8L << 30)) / sizeof(float);

    private static readonly Dictionary<int, Stack<float[]>> Buckets = new();
    private static readonly object Gate = new();
    private static long _pooled;

    /// <summary>Rents a buffer of exactly <paramref name="length"/> elements; zeroed when <paramref name="clear"/>.</summary>
    internal static float[] Rent(int length, bool clear)
    {
        if (length == 0) return Array.Empty<float>();
        float[]? buffer = null;
        lock (Gate)
        {
            if (Buckets.TryGetValue(length, out var stack) && stack.Count > 0)
            {
                buffer = stack.Pop();
                _pooled -= length;
            }
        }
        if (buffer is null)
        {
            _ = MaxPooledElements; // a bad LEARNER_TENSOR_POOL_MB throws at the first allocation, not when a scope ends
            return clear ? new float[length] : GC.AllocateUninitializedArray<float>(length);
        }
        if (clear) Array.Clear(buffer);
        return buffer;
    }

    /// <summary>Returns a buffer to the pool. The caller must hold no other reference to it.</summary>
    internal static void Return(float[] buffer)
    {
        if (buffer.Length == 0) return;
        lock (Gate)
        {
            if (_pooled + buffer.Length > MaxPooledElements) return;
            if (!Buckets.TryGetValue(buffer.Length, out var stack)) Buckets[buffer.Length] = stack = new Stack<float[]>();
            stack.Push(buffer);
            _pooled += buffer.Length;
        }
    }

    /// <summary>Drops every pooled buffer.</summary>
    internal static void Clear()
    {
        lock (Gate) { Buckets.Clear(); _pooled = 0; }
    }

    /// <summary>Number of elements currently held by the pool.</summary>
    internal static long PooledElements { get { lock (Gate) return _pooled; } }
}
