using Learner.Objectives.Distances;

namespace Learner.Objectives.Kernels;

/// <summary>
/// The rows a softmax objective compares: the embeddings, optionally followed by the second view (2B rows),
/// L2-normalised for cosine similarity or copied for the dot product; and the way back for the gradient.
/// </summary>
internal sealed class SimilarityInputs
{
    private readonly Workspace<float> _z = new(), _norms = new(), _gradZ = new();

    /// <summary>Rows loaded.</summary>
    public int Rows { get; private set; }

    /// <summary>The loaded rows (Rows×D).</summary>
    public Memory<float> Z => _z.Array.AsMemory(0, Rows * _d);

    /// <summary>The gradient accumulator (Rows×D), cleared by <see cref="Load"/>.</summary>
    public Memory<float> GradZ => _gradZ.Array.AsMemory(0, Rows * _d);

    private int _d;
    private SimilarityKind _kind;

    /// <summary>Loads the first view and, when <paramref name="second"/> is not empty, the second after it.</summary>
    public void Load(ReadOnlySpan<float> first, ReadOnlySpan<float> second, int b, int d, SimilarityKind kind, bool wantGrad)
    {
        _d = d; _kind = kind;
        Rows = second.IsEmpty ? b : 2 * b;
        var z = _z.Get(Rows * d);
        var norms = _norms.Get(Rows);
        if (kind == SimilarityKind.Cosine)
        {
            RowNormalizer.Forward(first, b, d, RowNormalizer.DefaultEpsilon, z, norms);
            if (!second.IsEmpty) RowNormalizer.Forward(second, b, d, RowNormalizer.DefaultEpsilon, z.Slice(b * d), norms.Slice(b));
        }
        else
        {
            first.CopyTo(z);
            if (!second.IsEmpty) second.CopyTo(z.Slice(b * d));
        }
        if (wantGrad) _gradZ.Get(Rows * d, clear: true);
    }

    /// <summary>Writes the gradient of rows [<paramref name="rowStart"/>, +<paramref name="rows"/>) into <paramref name="grad"/>.</summary>
    public void Backward(int rowStart, int rows, Span<float> grad)
    {
        int d = _d;
        var gz = _gradZ.Array.AsSpan(rowStart * d, rows * d);
        if (_kind == SimilarityKind.Cosine)
            RowNormalizer.Backward(gz, _z.Array.AsSpan(rowStart * d, rows * d), _norms.Array.AsSpan(rowStart, rows), rows, d,
                RowNormalizer.DefaultEpsilon, 1f, grad);
        else gz.CopyTo(grad);
    }
}
