namespace Learner.Objectives.Distances;

/// <summary>
/// A pairwise distance over one batch with its exact gradient, as the pair and triplet objectives consume it: exact
/// single pairs, row blocks of the distance matrix (the built-ins from a blocked GEMM), and gradient accumulation for
/// sparse pairs or dense coefficient blocks. Owns its workspace, so one instance serves one objective. Derive from
/// <see cref="CustomDistance"/> to write a distance as d(a, b) and its gradient only.
/// </summary>
/// <remarks>Call <see cref="Prepare"/> once per batch, then any of the queries; for the gradient call
/// <see cref="BeginGradient"/>, accumulate d(loss)/d(distance) coefficients, and <see cref="FinishGradient"/>.
/// <see cref="GradientCheck.Distance"/> checks an implementation's blocks and gradients against its own pairs and
/// finite differences.</remarks>
public abstract class PairDistance
{
    /// <summary>Creates a built-in distance.</summary>
    /// <param name="kind">The kind.</param>
    /// <returns>A new instance (owning its workspace).</returns>
    /// <exception cref="ArgumentOutOfRangeException">The kind is undefined.</exception>
    public static PairDistance Create(DistanceKind kind) => kind switch
    {
        DistanceKind.Cosine => new CosineDistance(),
        DistanceKind.Euclidean => new EuclideanDistance(squared: false),
        DistanceKind.SquaredEuclidean => new EuclideanDistance(squared: true),
        DistanceKind.NormalizedEuclidean => new NormalizedDistance(new EuclideanDistance(squared: false)),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown distance kind."),
    };

    /// <summary>Rows of the prepared batch.</summary>
    public int Count { get; protected set; }

    /// <summary>Dimension of the prepared batch.</summary>
    public int Dimension { get; protected set; }

    /// <summary>Takes a batch (copied into the workspace).</summary>
    /// <param name="embeddings">B×D embeddings, row-major.</param>
    /// <param name="count">B.</param>
    /// <param name="dimension">D.</param>
    public abstract void Prepare(ReadOnlySpan<float> embeddings, int count, int dimension);

    /// <summary>The exact distance between rows i and j (double accumulation, no cancellation).</summary>
    /// <param name="i">A row.</param>
    /// <param name="j">Another row (or the same).</param>
    /// <returns>d(e_i, e_j).</returns>
    public abstract double Pair(int i, int j);

    /// <summary>Rows [<paramref name="rowStart"/>, +<paramref name="rows"/>) of the distance matrix into
    /// <paramref name="dst"/> (rows×Count), from a blocked GEMM.</summary>
    /// <param name="rowStart">The first row.</param>
    /// <param name="rows">The number of rows.</param>
    /// <param name="dst">Receives rows×Count distances.</param>
    public abstract void Block(int rowStart, int rows, Span<float> dst);

    /// <summary>Like <see cref="Block"/>, but any strictly increasing function of the distance may be written (e.g. the
    /// squared Euclidean distance, skipping the square root): for miners that only rank candidates.</summary>
    /// <param name="rowStart">The first row.</param>
    /// <param name="rows">The number of rows.</param>
    /// <param name="dst">Receives rows×Count values.</param>
    public virtual void RankBlock(int rowStart, int rows, Span<float> dst) => Block(rowStart, rows, dst);

    /// <summary>Clears the gradient accumulator.</summary>
    public abstract void BeginGradient();

    /// <summary>Adds coef·∂d(i,j)/∂(e_i, e_j) for a single pair whose distance is <paramref name="distance"/>.</summary>
    /// <param name="i">The first row.</param>
    /// <param name="j">The second row.</param>
    /// <param name="coef">d(loss)/d(d_ij).</param>
    /// <param name="distance">d_ij (as <see cref="Pair"/> gave it).</param>
    public abstract void AccumulatePair(int i, int j, double coef, double distance);

    /// <summary>Adds Σ_ij coef_ij·∂d(i,j) for a dense block of rows: <paramref name="coef"/> (rows×Count, consumed:
    /// overwritten) holds d(loss)/d(d_ij); <paramref name="distances"/> the block's distances.</summary>
    /// <param name="rowStart">The block's first row.</param>
    /// <param name="rows">The block's rows.</param>
    /// <param name="coef">rows×Count coefficients (consumed).</param>
    /// <param name="distances">rows×Count distances (as <see cref="Block"/> gave them).</param>
    public abstract void AccumulateBlock(int rowStart, int rows, Span<float> coef, ReadOnlySpan<float> distances);

    /// <summary>Writes scale·d(loss)/d(embeddings) into <paramref name="grad"/> (Count×Dimension).</summary>
    /// <param name="grad">Receives the gradient (overwritten).</param>
    /// <param name="scale">The reduction's factor.</param>
    public abstract void FinishGradient(Span<float> grad, float scale);
}
