using Learner.Data.Formats;
using Learner.Nn;

namespace Learner.Data;

/// <summary>A lazily loaded scan payload (a clip, a volume, a feature vector).</summary>
public interface IScanPayload
{
    /// <summary>Loads (or generates) the payload. Each call returns a new tensor the caller owns.</summary>
    /// <returns>The payload.</returns>
    Tensor Load();

    /// <summary>Where the payload comes from (a path, a generator and seed), for messages.</summary>
    string Description { get; }
}

/// <summary>A payload stored in a file: <c>.npy</c>, <c>.npz</c> (its single array, or the one named), <c>.nii</c> or <c>.nii.gz</c>.</summary>
/// <remarks>Immutable; <see cref="Load()"/> may be called from several threads at once.</remarks>
public sealed class FilePayload : IScanPayload
{
    /// <summary>Creates the payload source.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Reader limits and the NPZ member to read; null for defaults.</param>
    public FilePayload(string path, PayloadReadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
        Options = options ?? PayloadReadOptions.Default;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Reader options.</summary>
    public PayloadReadOptions Options { get; }

    /// <summary>The scan this file belongs to, when known (<see cref="Manifest.Read"/> sets it), for messages.</summary>
    public string? ScanId { get; init; }

    /// <summary>The manifest that named this file, when it was read from one (<see cref="Manifest.Read"/> sets it).</summary>
    public string? ManifestPath { get; init; }

    /// <summary>The 1-based manifest line that named this file (0 when not read from a manifest).</summary>
    public int ManifestLine { get; init; }

    /// <inheritdoc />
    public string Description => ManifestPath is null ? Path : $"{Path}, {ManifestPath} line {ManifestLine}";

    /// <summary>Reads the file and checks that every value is finite.</summary>
    /// <returns>The payload.</returns>
    /// <exception cref="PayloadNotFoundException">The file does not exist.</exception>
    /// <exception cref="PayloadFormatException">The file is malformed.</exception>
    /// <exception cref="NonFinitePayloadException">The file holds a NaN or an infinity (the message names the scan,
    /// file, manifest line and the first bad element).</exception>
    public Tensor Load() => Load(ScanId);

    /// <summary>As <see cref="Load()"/>, naming <paramref name="scanId"/> in a non-finite error.</summary>
    internal Tensor Load(string? scanId)
    {
        var t = PayloadFile.Read(Path, Options);
        PayloadValues.CheckFinite(t, scanId ?? ScanId, Path, ManifestPath, ManifestLine);
        return t;
    }
}

/// <summary>Finiteness checks of loaded payloads.</summary>
internal static class PayloadValues
{
    /// <summary>Throws <see cref="NonFinitePayloadException"/> when <paramref name="payload"/> holds a NaN or infinity.</summary>
    public static void CheckFinite(Tensor payload, string? scanId, string source, string? manifestPath, int manifestLine)
    {
        int bad = IndexOfNonFinite(payload.Data);
        if (bad >= 0) throw new NonFinitePayloadException(scanId, source, manifestPath, manifestLine, payload.ShapeArray, bad, payload.Data[bad]);
    }

    /// <summary>As <see cref="CheckFinite(Tensor, string?, string, string?, int)"/> for values held outside a tensor.</summary>
    public static void CheckFinite(ReadOnlySpan<float> values, int[] shape, string? scanId, string source, string? manifestPath = null, int manifestLine = 0)
    {
        int bad = IndexOfNonFinite(values);
        if (bad >= 0) throw new NonFinitePayloadException(scanId, source, manifestPath, manifestLine, shape, bad, values[bad]);
    }

    /// <summary>The flat index of the first NaN or infinity in <paramref name="values"/>, or −1 when all are finite.</summary>
    /// <param name="values">The values.</param>
    /// <returns>The index, or −1.</returns>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values) => Learner.Nn.Kernels.Simd.IndexOfNonFinite(values);
}

/// <summary>A payload held in memory; <see cref="Load"/> returns a copy.</summary>
/// <remarks>A dataset's batch assembly reads the values in place and checks them for NaN and infinities once, the first
/// time it reads them (the values cannot change afterwards).</remarks>
public sealed class TensorPayload : IScanPayload
{
    private readonly float[] _data;
    private readonly int[] _shape;
    private volatile bool _checkedFinite;

    /// <summary>Creates the payload from a tensor (its values are copied).</summary>
    /// <param name="tensor">The payload.</param>
    public TensorPayload(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        _data = tensor.ToArray();
        _shape = tensor.ShapeArray;
    }

    /// <summary>The payload's shape.</summary>
    public IReadOnlyList<int> Shape => _shape;

    /// <summary>The stored values, read without a copy by the dataset's batch assembly.</summary>
    internal ReadOnlySpan<float> Values => _data;

    /// <summary>A copy of the shape.</summary>
    internal int[] ShapeArray => (int[])_shape.Clone();

    /// <summary>The shape itself (read it, never write it).</summary>
    internal int[] ShapeRef => _shape;

    /// <summary>The stored values, checked finite on the first call (naming <paramref name="scanId"/> when they are not).</summary>
    /// <exception cref="NonFinitePayloadException">A value is NaN or infinite.</exception>
    internal ReadOnlySpan<float> CheckedValues(string scanId)
    {
        if (!_checkedFinite)
        {
            PayloadValues.CheckFinite(_data, _shape, scanId, Description);
            _checkedFinite = true;
        }
        return _data;
    }

    /// <inheritdoc />
    public string Description => $"in-memory tensor [{string.Join(", ", _shape)}]";

    /// <inheritdoc />
    public Tensor Load() => new((float[])_data.Clone(), _shape);
}

/// <summary>A payload produced on demand by a delegate (a synthetic generator, a cache, a network fetch).</summary>
public sealed class DelegatePayload : IScanPayload
{
    private readonly Func<Tensor> _load;

    /// <summary>Creates the payload source.</summary>
    /// <param name="load">Produces the payload; called on every <see cref="Load"/>.</param>
    /// <param name="description">Where the payload comes from, for messages.</param>
    public DelegatePayload(Func<Tensor> load, string description)
    {
        _load = load ?? throw new ArgumentNullException(nameof(load));
        Description = description ?? throw new ArgumentNullException(nameof(description));
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public Tensor Load() => _load();
}
