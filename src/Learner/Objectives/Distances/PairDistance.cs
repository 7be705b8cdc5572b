namespace Learner.Objectives.Distances;

/// <summary>
/// A pairwise distance over one batch with its exact gradient: exact single pairs, row blocks of the distance matrix
/// from a blocked GEMM, and gradient accumulation for sparse pairs or dense coefficient blocks. Owns its workspace.
/// </summary>
/// <remarks>Call <see cref="Prepare"/> once per batch, then any of the queries; for the gradient call
/// <see cref="BeginGradient"/>, accumulate d(loss)/d(distance) coefficients, and <see cref="FinishGradient"/>.</remarks>
internal abstract class PairDistance
{
    /// <summary>Creates the distance for <paramref name="kind"/>.</summary>
    public static PairDistance Create(DistanceKind kind) => kind switch
    {
        DistanceKind.Cosine => new CosineDistance(),
        DistanceKind.Euclidean => new EuclideanDistance(squared: false),
        DistanceKind.SquaredEuclidean => new EuclideanDistance(squared: true),
        DistanceKind.NormalizedEuclidean => new NormalizedDistance(new EuclideanDistance(squared: false), DistanceKind.NormalizedEuclidean),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown distance kind."),
    };

    /// <summary>The kind.</summary>
    public abstract DistanceKind Kind { get; }

    /// <summary>Rows of the prepared batch.</summary>
    public int Count { get; protected set; }

    /// <summary>Dimension of the prepared batch.</summary>
    public int Dimension { get; protected set; }

    /// <summary>Takes a batch (copied into the workspace).</summary>
    public abstract void Prepare(ReadOnlySpan<float> embeddings, int count, int dimension);

    /// <summary>The exact distance between rows i and j (double accumulation, no cancellation).</summary>
    public abstract double Pair(int i, int j);

    /// <summary>Rows [<paramref name="rowStart"/>, +<paramref name="rows"/>) of the distance matrix into
    /// <paramref name="dst"/> (rows×Count), from a blocked GEMM.</summary>
    public abstract void Block(int rowStart, int rows, Span<float> dst);

    /// <summary>Like <see cref="Block"/>, but any strictly increasing function of the distance may be written (e.g. the
    /// squared Euclidean distance, skipping the square root): for miners that only rank candidates.</summary>
    public virtual void RankBlock(int rowStart, int rows, Span<float> dst) => Block(rowStart, rows, dst);

    /// <summary>Clears the gradient accumulator.</summary>
    public abstract void BeginGradient();

    /// <summary>Adds coef·∂d(i,j)/∂(e_i, e_j) for a single pair whose distance is <paramref name="distance"/>.</summary>
    public abstract void AccumulatePair(int i, int j, double coef, double distance);

    /// <summary>Adds Σ_ij coef_ij·∂d(i,j) for a dense block of rows: <paramref name="coef"/> (rows×Count, consumed:
    /// overwritten) holds d(loss)/d(d_ij); <paramref name="distances"/> the block's distances.</summary>
    public abstract void AccumulateBlock(int rowStart, int rows, Span<float> coef, ReadOnlySpan<float> distances);

    /// <summary>Writes scale·d(loss)/d(embeddings) into <paramref name="grad"/> (Count×Dimension).</summary>
    public abstract void FinishGradient(Span<float> grad, float scale);
}
