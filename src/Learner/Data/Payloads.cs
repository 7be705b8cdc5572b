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

    /// <inheritdoc />
    public string Description => Path;

    /// <inheritdoc />
    public Tensor Load() => PayloadFile.Read(Path, Options);
}

/// <summary>A payload held in memory; <see cref="Load"/> returns a copy.</summary>
public sealed class TensorPayload : IScanPayload
{
    private readonly float[] _data;
    private readonly int[] _shape;

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
