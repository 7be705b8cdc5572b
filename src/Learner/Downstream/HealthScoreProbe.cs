using Learner.Metrics;
using MathNet.Numerics.LinearAlgebra;

namespace Learner.Downstream;

/// <summary>
/// A linear probe of the health score on frozen embeddings: ridge regression on standardised features — scikit-learn's
/// <c>make_pipeline(StandardScaler(), Ridge(alpha))</c>. Features are centred and scaled by the mean and population
/// standard deviation of the training rows (a constant feature keeps scale 1); the intercept is not penalised. How much
/// of the score a linear read-out recovers from held-out patients' embeddings (its R²) is the first thing a pretraining
/// has to get right before change between two scans can be read from their difference.
/// </summary>
public sealed class HealthScoreProbe
{
    /// <summary>The default ridge penalty α (on standardised features, as in the diagnosis of docs/results.md).</summary>
    public const double DefaultAlpha = 1.0;

    private readonly double[] _mean;
    private readonly double[] _scale;
    private readonly double[] _weights;

    private HealthScoreProbe(int dimension, double alpha, int rows, double[] mean, double[] scale, double[] weights, double intercept)
    {
        (Dimension, Alpha, TrainingRows, _mean, _scale, _weights, Intercept) = (dimension, alpha, rows, mean, scale, weights, intercept);
    }

    /// <summary>The embedding dimension.</summary>
    public int Dimension { get; }

    /// <summary>The ridge penalty the probe was fit with.</summary>
    public double Alpha { get; }

    /// <summary>How many rows fit the probe.</summary>
    public int TrainingRows { get; }

    /// <summary>The weights on the standardised features.</summary>
    public IReadOnlyList<double> Coefficients => _weights;

    /// <summary>The intercept: the mean score of the training rows.</summary>
    public double Intercept { get; }

    /// <summary>Fits the probe on some rows of an embedding matrix.</summary>
    /// <param name="embeddings">Row-major embeddings, <c>rows × dimension</c>.</param>
    /// <param name="dimension">The embedding dimension (≥ 1).</param>
    /// <param name="scores">The health score of every row of <paramref name="embeddings"/>.</param>
    /// <param name="trainingRows">The rows that fit the probe (at least 2, each in range; their scores and embeddings finite).</param>
    /// <param name="alpha">The ridge penalty (&gt; 0 and finite).</param>
    /// <returns>The fitted probe.</returns>
    /// <exception cref="ArgumentException">A shape does not match, a row is out of range, a training score or embedding
    /// value is not finite (row named), there are fewer than 2 training rows, or α is not positive.</exception>
    public static HealthScoreProbe Fit(ReadOnlySpan<float> embeddings, int dimension, ReadOnlySpan<double> scores, ReadOnlySpan<int> trainingRows, double alpha = DefaultAlpha)
    {
        int n = CheckShape(embeddings, dimension, scores);
        if (!(alpha > 0) || double.IsInfinity(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "The ridge penalty must be positive and finite.");
        if (trainingRows.Length < 2) throw new ArgumentException($"A health-score probe needs at least 2 training rows; {trainingRows.Length} given.", nameof(trainingRows));
        int d = dimension, m = trainingRows.Length;
        var mean = new double[d];
        double yMean = 0;
        foreach (int r in trainingRows)
        {
            if ((uint)r >= (uint)n) throw new ArgumentOutOfRangeException(nameof(trainingRows), r, $"Training row {r} is outside the {n} rows of the embeddings.");
            if (!double.IsFinite(scores[r])) throw new ArgumentException($"Training row {r} has score {scores[r]}; the probe needs finite scores.", nameof(scores));
            var e = embeddings.Slice(r * d, d);
            for (int j = 0; j < d; j++)
            {
                if (!float.IsFinite(e[j])) throw new ArgumentException($"Training row {r} has embedding value {e[j]} at feature {j}.", nameof(embeddings));
                mean[j] += e[j];
            }
            yMean += scores[r];
        }
        for (int j = 0; j < d; j++) mean[j] /= m;
        yMean /= m;
        // Centred design (training rows), its population standard deviations, then the normal equations of the scaled
        // features: (ZᵀZ + αI) w = Zᵀ(y − ȳ), with Z = X_c · diag(1/s).
        var xc = new double[m * d];
        var scale = new double[d];
        for (int i = 0; i < m; i++)
        {
            var e = embeddings.Slice(trainingRows[i] * d, d);
            for (int j = 0; j < d; j++)
            {
                double c = e[j] - mean[j];
                xc[i * d + j] = c;
                scale[j] += c * c;
            }
        }
        for (int j = 0; j < d; j++)
        {
            double s = Math.Sqrt(scale[j] / m);
            scale[j] = s > 1e-12 * Math.Max(1, Math.Abs(mean[j])) ? s : 1;
        }
        var gram = Matrix<double>.Build.Dense(d, d);
        var rhs = Vector<double>.Build.Dense(d);
        var z = new double[d];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < d; j++) z[j] = xc[i * d + j] / scale[j];
            double y = scores[trainingRows[i]] - yMean;
            for (int j = 0; j < d; j++)
            {
                rhs[j] += z[j] * y;
                double zj = z[j];
                for (int k = 0; k <= j; k++) gram[j, k] += zj * z[k];
            }
        }
        for (int j = 0; j < d; j++)
        {
            for (int k = 0; k < j; k++) gram[k, j] = gram[j, k];
            gram[j, j] += alpha;
        }
        var w = gram.Cholesky().Solve(rhs).ToArray();
        return new HealthScoreProbe(d, alpha, m, mean, scale, w, yMean);
    }

    /// <summary>The predicted score of one embedding.</summary>
    /// <param name="embedding">One embedding of <see cref="Dimension"/> values.</param>
    /// <returns>The prediction (non-finite only if the embedding is).</returns>
    /// <exception cref="ArgumentException">The embedding has the wrong length.</exception>
    public double Predict(ReadOnlySpan<float> embedding)
    {
        if (embedding.Length != Dimension)
            throw new ArgumentException($"The probe was fit on {Dimension}-dimensional embeddings; this one has {embedding.Length} values.", nameof(embedding));
        double y = Intercept;
        for (int j = 0; j < Dimension; j++) y += (embedding[j] - _mean[j]) / _scale[j] * _weights[j];
        return y;
    }

    /// <summary>The predicted scores of some rows of an embedding matrix.</summary>
    /// <param name="embeddings">Row-major embeddings of <see cref="Dimension"/> columns.</param>
    /// <param name="rows">The rows to predict.</param>
    /// <returns>One prediction per entry of <paramref name="rows"/>.</returns>
    /// <exception cref="ArgumentException">The matrix is not a whole number of rows, or a row is out of range.</exception>
    public double[] Predict(ReadOnlySpan<float> embeddings, ReadOnlySpan<int> rows)
    {
        if (embeddings.Length % Dimension != 0)
            throw new ArgumentException($"{embeddings.Length} embedding values are not a whole number of {Dimension}-dimensional rows.", nameof(embeddings));
        int n = embeddings.Length / Dimension;
        var result = new double[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            if ((uint)rows[i] >= (uint)n) throw new ArgumentOutOfRangeException(nameof(rows), rows[i], $"Row {rows[i]} is outside the {n} rows of the embeddings.");
            result[i] = Predict(embeddings.Slice(rows[i] * Dimension, Dimension));
        }
        return result;
    }

    /// <summary>R² (<see cref="Regression.RSquared"/>) of the probe on some rows.</summary>
    /// <param name="embeddings">Row-major embeddings.</param>
    /// <param name="scores">The score of every row.</param>
    /// <param name="rows">The rows to score (their scores finite).</param>
    /// <returns>R² on those rows (NaN when their scores are all equal).</returns>
    public double RSquared(ReadOnlySpan<float> embeddings, ReadOnlySpan<double> scores, ReadOnlySpan<int> rows)
    {
        var predicted = Predict(embeddings, rows);
        var truth = new double[rows.Length];
        for (int i = 0; i < rows.Length; i++) truth[i] = scores[rows[i]];
        return Regression.RSquared(truth, predicted);
    }

    private static int CheckShape(ReadOnlySpan<float> embeddings, int dimension, ReadOnlySpan<double> scores)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (embeddings.Length % dimension != 0)
            throw new ArgumentException($"{embeddings.Length} embedding values are not a whole number of {dimension}-dimensional rows.", nameof(embeddings));
        int n = embeddings.Length / dimension;
        if (scores.Length != n) throw new ArgumentException($"The embeddings have {n} rows but {scores.Length} scores were given; one per row is needed.", nameof(scores));
        return n;
    }
}
