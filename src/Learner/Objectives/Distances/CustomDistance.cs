namespace Learner.Objectives.Distances;

/// <summary>
/// The base of a user-written distance: implement d(a, b) (<see cref="Distance"/>) and its gradient with respect to
/// both rows (<see cref="Gradient"/>), and every pair and triplet objective that takes a <see cref="PairDistance"/>
/// uses it — blocks, miners and gradient accumulation are built here from those two methods (O(B²·D) per block,
/// serial; the built-in distances keep their GEMM kernels). Check it with <see cref="GradientCheck.Distance"/>.
/// </summary>
/// <remarks>One instance owns its workspace: give each objective its own.</remarks>
public abstract class CustomDistance : PairDistance
{
    private float[] _e = System.Array.Empty<float>();
    private double[] _grad = System.Array.Empty<double>(), _ga = System.Array.Empty<double>(), _gb = System.Array.Empty<double>();

    /// <summary>d(a, b) for two rows of D values.</summary>
    /// <param name="a">The first row.</param>
    /// <param name="b">The second row.</param>
    /// <returns>The distance (finite).</returns>
    protected abstract double Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b);

    /// <summary>Writes ∂d/∂a into <paramref name="gradA"/> and ∂d/∂b into <paramref name="gradB"/> (D values each,
    /// overwritten).</summary>
    /// <param name="a">The first row.</param>
    /// <param name="b">The second row.</param>
    /// <param name="distance">d(a, b), as <see cref="Distance"/> returned it.</param>
    /// <param name="gradA">Receives ∂d/∂a.</param>
    /// <param name="gradB">Receives ∂d/∂b.</param>
    protected abstract void Gradient(ReadOnlySpan<float> a, ReadOnlySpan<float> b, double distance, Span<double> gradA, Span<double> gradB);

    private ReadOnlySpan<float> E(int i) => _e.AsSpan(i * Dimension, Dimension);

    /// <inheritdoc />
    public sealed override void Prepare(ReadOnlySpan<float> embeddings, int count, int dimension)
    {
        if (embeddings.Length != (long)count * dimension)
            throw new ArgumentException($"{GetType().Name}: {embeddings.Length} values are not B×D = {count}×{dimension}.", nameof(embeddings));
        Count = count; Dimension = dimension;
        if (_e.Length < embeddings.Length) _e = new float[embeddings.Length];
        embeddings.CopyTo(_e);
        if (_ga.Length < dimension) { _ga = new double[dimension]; _gb = new double[dimension]; }
    }

    /// <inheritdoc />
    public sealed override double Pair(int i, int j) => Distance(E(i), E(j));

    /// <inheritdoc />
    public sealed override void Block(int rowStart, int rows, Span<float> dst)
    {
        int n = Count;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++)
                dst[r * n + j] = (float)Distance(E(rowStart + r), E(j));
    }

    /// <inheritdoc />
    public sealed override void BeginGradient()
    {
        int len = Count * Dimension;
        if (_grad.Length < len) _grad = new double[len];
        System.Array.Clear(_grad, 0, len);
    }

    /// <inheritdoc />
    public sealed override void AccumulatePair(int i, int j, double coef, double distance)
    {
        if (coef == 0 || i == j) return;
        int d = Dimension;
        var ga = _ga.AsSpan(0, d); var gb = _gb.AsSpan(0, d);
        Gradient(E(i), E(j), distance, ga, gb);
        var gi = _grad.AsSpan(i * d, d); var gj = _grad.AsSpan(j * d, d);
        for (int k = 0; k < d; k++) { gi[k] += coef * ga[k]; gj[k] += coef * gb[k]; }
    }

    /// <inheritdoc />
    public sealed override void AccumulateBlock(int rowStart, int rows, Span<float> coef, ReadOnlySpan<float> distances)
    {
        int n = Count;
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++)
            {
                float c = coef[r * n + j];
                if (c != 0f) AccumulatePair(rowStart + r, j, c, distances[r * n + j]);
            }
    }

    /// <inheritdoc />
    public sealed override void FinishGradient(Span<float> grad, float scale)
    {
        int len = Count * Dimension;
        for (int k = 0; k < len; k++) grad[k] = (float)(_grad[k] * scale);
    }
}
