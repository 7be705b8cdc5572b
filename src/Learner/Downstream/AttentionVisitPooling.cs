using Learner.Data;

namespace Learner.Downstream;

/// <summary>Settings of <see cref="AttentionVisitPooling.Fit"/>.</summary>
public sealed record AttentionPoolingOptions
{
    /// <summary>Ridge penalty on the attention vector and the score head (on standardised embeddings and scores).
    /// Default 0.01.</summary>
    public double L2 { get; init; } = 0.01;

    /// <summary>Full-batch Adam steps. Default 400.</summary>
    public int Iterations { get; init; } = 400;

    /// <summary>Adam step size. Default 0.02.</summary>
    public double LearningRate { get; init; } = 0.02;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        if (!(L2 >= 0) || double.IsInfinity(L2)) throw new ArgumentException(FormattableString.Invariant($"L2 must be finite and ≥ 0, got {L2}."), nameof(L2));
        if (Iterations < 1) throw new ArgumentException($"Iterations must be ≥ 1, got {Iterations}.", nameof(Iterations));
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentException(FormattableString.Invariant($"LearningRate must be finite and > 0, got {LearningRate}."), nameof(LearningRate));
    }
}

/// <summary>
/// Learned pooling of a visit's scan embeddings: each scan gets the weight softmax(uᵀz) over its visit (z: the scan's
/// embedding standardised with the training scans' statistics), and the visit embedding is the weighted mean of its
/// scans' embeddings. The attention vector u is fit jointly with a linear head that predicts the visit's health score
/// (<see cref="Visit.ChangeScore"/>) from the pooled standardised embedding, on the visits of the training patients
/// only; so a clip that carries little of the score (a poor view, a noisy acquisition) can be down-weighted.
/// With u = 0 it is the mean pooling of <see cref="VisitPairs.MeanEmbeddings"/>; the fit starts there.
/// </summary>
/// <remarks>Deterministic (zero initialisation, full-batch Adam, no randomness). Immutable once fit.</remarks>
public sealed class AttentionVisitPooling
{
    private readonly VisitPairs _visits;
    private readonly double[] _mean, _scale, _attention;

    private AttentionVisitPooling(VisitPairs visits, double[] mean, double[] scale, double[] attention)
    {
        _visits = visits;
        _mean = mean;
        _scale = scale;
        _attention = attention;
    }

    /// <summary>The embedding dimension D.</summary>
    public int Dimension => _attention.Length;

    /// <summary>The fitted attention vector u, in standardised-embedding units (a copy).</summary>
    public double[] Attention => (double[])_attention.Clone();

    /// <summary>Fits the attention on the visits of <paramref name="trainPatients"/>: neither the embeddings nor the scores
    /// of any other patient are read.</summary>
    /// <param name="visits">The visits (and their scores).</param>
    /// <param name="scanEmbeddings">Row-major N×D embeddings of the dataset's scans.</param>
    /// <param name="dimension">D.</param>
    /// <param name="trainPatients">The patients whose visits fit the pooling.</param>
    /// <param name="options">Fit settings (default: <see cref="AttentionPoolingOptions"/>' defaults).</param>
    /// <returns>The fitted pooling.</returns>
    /// <exception cref="ArgumentException">The embeddings do not hold N×D values, or the training patients have no
    /// visit with a finite score.</exception>
    public static AttentionVisitPooling Fit(VisitPairs visits, ReadOnlySpan<float> scanEmbeddings, int dimension,
        IReadOnlyCollection<string> trainPatients, AttentionPoolingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(visits);
        ArgumentNullException.ThrowIfNull(trainPatients);
        options ??= new AttentionPoolingOptions();
        options.Validate();
        int d = dimension;
        CheckShape(visits.Dataset, scanEmbeddings, d);
        var train = trainPatients as ISet<string> ?? trainPatients.ToHashSet(StringComparer.Ordinal);
        var fitVisits = visits.Visits.Where(v => train.Contains(v.PatientId) && double.IsFinite(v.ChangeScore)).ToArray();
        if (fitVisits.Length == 0)
            throw new ArgumentException($"None of the {trainPatients.Count} training patients has a visit with a finite score to fit the attention pooling on.", nameof(trainPatients));

        // Standardisation statistics of the training scans only.
        var mean = new double[d];
        var scale = new double[d];
        int n = 0;
        foreach (var v in fitVisits)
            foreach (int s in v.ScanIndices) { n++; for (int j = 0; j < d; j++) mean[j] += scanEmbeddings[s * d + j]; }
        for (int j = 0; j < d; j++) mean[j] /= n;
        foreach (var v in fitVisits)
            foreach (int s in v.ScanIndices) for (int j = 0; j < d; j++) { double c = scanEmbeddings[s * d + j] - mean[j]; scale[j] += c * c; }
        for (int j = 0; j < d; j++) scale[j] = Math.Sqrt(scale[j] / n) is var sd && sd > 1e-12 ? 1 / sd : 1;

        var z = new double[fitVisits.Length][][];
        for (int v = 0; v < z.Length; v++)
        {
            z[v] = new double[fitVisits[v].ScanIndices.Length][];
            for (int i = 0; i < z[v].Length; i++) z[v][i] = Standardise(scanEmbeddings.Slice(fitVisits[v].ScanIndices[i] * d, d), mean, scale, new double[d]);
        }
        double yMean = fitVisits.Average(v => v.ChangeScore);
        double ySd = Math.Sqrt(fitVisits.Average(v => (v.ChangeScore - yMean) * (v.ChangeScore - yMean)));
        if (!(ySd > 0)) ySd = 1;
        var y = fitVisits.Select(v => (v.ChangeScore - yMean) / ySd).ToArray();

        // Parameters θ = [u (D), w (D), b]; loss = mean ½(ŷ − y)² + ½·L2·(|u|² + |w|²).
        int p = 2 * d + 1;
        var theta = new double[p];
        var grad = new double[p];
        var m1 = new double[p];
        var m2 = new double[p];
        const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        var pooled = new double[d];
        // One weights buffer for every visit and iteration (the widest visit's length).
        var weights = new double[z.Max(zv => zv.Length)];
        for (int it = 1; it <= options.Iterations; it++)
        {
            Array.Clear(grad);
            for (int v = 0; v < z.Length; v++)
            {
                var a = weights.AsSpan(0, z[v].Length);
                Weights(z[v], z[v].Length, theta, a);
                Array.Clear(pooled);
                for (int i = 0; i < z[v].Length; i++) for (int j = 0; j < d; j++) pooled[j] += a[i] * z[v][i][j];
                double wp = theta[2 * d];
                for (int j = 0; j < d; j++) wp += theta[d + j] * pooled[j];
                double r = (wp - y[v]) / z.Length;
                for (int j = 0; j < d; j++) grad[d + j] += r * pooled[j];
                grad[2 * d] += r;
                double wPooled = wp - theta[2 * d];
                for (int i = 0; i < z[v].Length; i++)
                {
                    double wz = 0;
                    for (int j = 0; j < d; j++) wz += theta[d + j] * z[v][i][j];
                    double g = r * a[i] * (wz - wPooled);
                    for (int j = 0; j < d; j++) grad[j] += g * z[v][i][j];
                }
            }
            for (int k = 0; k < 2 * d; k++) grad[k] += options.L2 * theta[k];
            double c1 = 1 - Math.Pow(beta1, it), c2 = 1 - Math.Pow(beta2, it);
            for (int k = 0; k < p; k++)
            {
                m1[k] = beta1 * m1[k] + (1 - beta1) * grad[k];
                m2[k] = beta2 * m2[k] + (1 - beta2) * grad[k] * grad[k];
                theta[k] -= options.LearningRate * (m1[k] / c1) / (Math.Sqrt(m2[k] / c2) + eps);
            }
        }
        return new AttentionVisitPooling(visits, mean, scale, theta[..d]);
    }

    /// <summary>The weight of every scan within its visit (weights of one visit sum to 1), in dataset scan order.</summary>
    /// <param name="scanEmbeddings">Row-major N×D embeddings of the dataset's scans.</param>
    /// <returns>N weights.</returns>
    /// <exception cref="ArgumentException">The embeddings do not hold N×D values.</exception>
    public double[] ScanWeights(ReadOnlySpan<float> scanEmbeddings)
    {
        int d = Dimension;
        CheckShape(_visits.Dataset, scanEmbeddings, d);
        var result = new double[_visits.Dataset.ScanCount];
        var scratch = new VisitScratch(_visits, d);
        foreach (var visit in _visits.Visits)
        {
            var a = VisitWeights(visit, scanEmbeddings, scratch);
            for (int i = 0; i < a.Length; i++) result[visit.ScanIndices[i]] = a[i];
        }
        return result;
    }

    /// <summary>Visit embeddings: the attention-weighted mean of each visit's scan embeddings (the same layout as
    /// <see cref="VisitPairs.MeanEmbeddings"/>, so <see cref="VisitPairs.FitAndPredictOnVisits"/> and alignment take them
    /// unchanged).</summary>
    /// <param name="scanEmbeddings">Row-major N×D embeddings of the dataset's scans.</param>
    /// <returns>Row-major V×D visit embeddings, in <see cref="VisitPairs.Visits"/> order.</returns>
    /// <exception cref="ArgumentException">The embeddings do not hold N×D values.</exception>
    public float[] Pool(ReadOnlySpan<float> scanEmbeddings)
    {
        int d = Dimension;
        CheckShape(_visits.Dataset, scanEmbeddings, d);
        var result = new float[(long)_visits.Visits.Count * d];
        var scratch = new VisitScratch(_visits, d);
        for (int v = 0; v < _visits.Visits.Count; v++)
        {
            var visit = _visits.Visits[v];
            var a = VisitWeights(visit, scanEmbeddings, scratch);
            for (int i = 0; i < a.Length; i++)
            {
                var row = scanEmbeddings.Slice(visit.ScanIndices[i] * d, d);
                for (int j = 0; j < d; j++) result[v * d + j] += (float)(a[i] * row[j]);
            }
        }
        return result;
    }

    /// <summary>Standardised rows and weights of one visit at a time, sized once for the widest visit.</summary>
    private sealed class VisitScratch
    {
        public readonly double[][] Rows;
        public readonly double[] Weights;

        public VisitScratch(VisitPairs visits, int d)
        {
            int widest = visits.Visits.Count == 0 ? 0 : visits.Visits.Max(v => v.ScanIndices.Length);
            Rows = new double[widest][];
            for (int i = 0; i < widest; i++) Rows[i] = new double[d];
            Weights = new double[widest];
        }
    }

    private ReadOnlySpan<double> VisitWeights(Visit visit, ReadOnlySpan<float> scanEmbeddings, VisitScratch scratch)
    {
        int d = Dimension, count = visit.ScanIndices.Length;
        for (int i = 0; i < count; i++) Standardise(scanEmbeddings.Slice(visit.ScanIndices[i] * d, d), _mean, _scale, scratch.Rows[i]);
        var a = scratch.Weights.AsSpan(0, count);
        Weights(scratch.Rows, count, _attention, a);
        return a;
    }

    /// <summary>softmax over the first <paramref name="count"/> scans of uᵀz (u: the first D entries of
    /// <paramref name="theta"/>) into <paramref name="s"/>.</summary>
    private static void Weights(double[][] z, int count, double[] theta, Span<double> s)
    {
        int d = z[0].Length;
        double max = double.NegativeInfinity;
        for (int i = 0; i < count; i++)
        {
            double t = 0;
            for (int j = 0; j < d; j++) t += theta[j] * z[i][j];
            s[i] = t;
            max = Math.Max(max, t);
        }
        double sum = 0;
        for (int i = 0; i < count; i++) sum += s[i] = Math.Exp(s[i] - max);
        for (int i = 0; i < count; i++) s[i] /= sum;
    }

    private static double[] Standardise(ReadOnlySpan<float> row, double[] mean, double[] scale, double[] z)
    {
        for (int j = 0; j < row.Length; j++) z[j] = (row[j] - mean[j]) * scale[j];
        return z;
    }

    private static void CheckShape(LongitudinalDataset dataset, ReadOnlySpan<float> scanEmbeddings, int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (scanEmbeddings.Length != (long)dataset.ScanCount * dimension)
            throw new ArgumentException($"{scanEmbeddings.Length} embedding values for {dataset.ScanCount} scans of dimension {dimension}.", nameof(scanEmbeddings));
    }
}
