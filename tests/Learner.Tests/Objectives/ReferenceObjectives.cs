using Learner.Objectives;
using Learner.Objectives.Distances;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;

namespace Learner.Tests.Objectives;

/// <summary>A batch in double precision for the reference formulas.</summary>
public sealed class RefBatch
{
    public required double[] E { get; init; }
    public required int B { get; init; }
    public required int D { get; init; }
    public double[]? V { get; init; }
    public double[]? Scores { get; init; }
    public int[]? Labels { get; init; }
    public int[]? Patients { get; init; }
    public IndexPair[]? Pairs { get; init; }
    public IndexTriplet[]? Triplets { get; init; }

    public RefBatch With(double[] e, double[]? v) => new()
    {
        E = e, B = B, D = D, V = v, Scores = Scores, Labels = Labels, Patients = Patients, Pairs = Pairs, Triplets = Triplets,
    };
}

/// <summary>
/// Straightforward float64 implementations of every objective's formula, written independently of the fused float32
/// kernels (no shared code), used for values and central finite differences.
/// </summary>
public static class ReferenceObjectives
{
    public const double NormEps = 1e-12, EuclidEps = 1e-12;

    static double[] Row(double[] x, int i, int d) => x.AsSpan(i * d, d).ToArray();

    static double[] Normalize(double[] v)
    {
        double n = Math.Sqrt(v.Sum(a => a * a));
        double den = Math.Max(n, NormEps);
        return v.Select(a => a / den).ToArray();
    }

    static double Dot(double[] a, double[] b) { double s = 0; for (int i = 0; i < a.Length; i++) s += a[i] * b[i]; return s; }

    public static double Distance(DistanceKind kind, double[] a, double[] b)
    {
        switch (kind)
        {
            case DistanceKind.Cosine: return 1 - Dot(Normalize(a), Normalize(b));
            case DistanceKind.NormalizedEuclidean: return Distance(DistanceKind.Euclidean, Normalize(a), Normalize(b));
            default:
                double s = 0;
                for (int i = 0; i < a.Length; i++) { double t = a[i] - b[i]; s += t * t; }
                return kind == DistanceKind.SquaredEuclidean ? s : Math.Sqrt(s + EuclidEps);
        }
    }

    static double Sim(SimilarityKind kind, double[] a, double[] b) => kind == SimilarityKind.Cosine ? Dot(Normalize(a), Normalize(b)) : Dot(a, b);

    static double Reduce(Reduction r, double sum, long count, long active) => r switch
    {
        Reduction.Sum => sum,
        Reduction.Mean => count > 0 ? sum / count : 0,
        _ => active > 0 ? sum / active : 0,
    };

    static double LogSumExp(IEnumerable<double> xs)
    {
        var a = xs.ToArray();
        double m = a.Max();
        return m + Math.Log(a.Sum(x => Math.Exp(x - m)));
    }

    public static double Mse(RefBatch b, double[] w, double bias, MseOptions o)
    {
        double s = 0;
        for (int i = 0; i < b.B; i++)
        {
            double r = Dot(Row(b.E, i, b.D), w) + bias - (b.Scores![i] - o.ScoreOffset) / o.ScoreScale;
            s += r * r;
        }
        if (o.WithinPatientWeight == 0) return s / b.B;
        // The within-patient term in its pair form, written apart from the objective's centred residuals:
        // Σ_i (r_i − r̄_p(i))² = Σ_p (1/n_p) Σ_{i<j in p} (r_i − r_j)².
        double within = 0;
        foreach (var group in Enumerable.Range(0, b.B).GroupBy(i => b.Patients![i]))
        {
            var rows = group.ToArray();
            double pairs = 0;
            for (int x = 0; x < rows.Length; x++)
                for (int y = x + 1; y < rows.Length; y++)
                {
                    double d = Dot(Row(b.E, rows[x], b.D), w) - Dot(Row(b.E, rows[y], b.D), w)
                        - ((b.Scores![rows[x]] - b.Scores[rows[y]]) / o.ScoreScale);
                    pairs += d * d;
                }
            within += pairs / rows.Length;
        }
        return (s + o.WithinPatientWeight * within) / b.B;
    }

    static IEnumerable<(int I, int J, bool Flag)> Pairs(RefBatch b, bool useProvided, bool interPatient)
    {
        if (useProvided && b.Pairs is { Length: > 0 })
        {
            foreach (var p in b.Pairs) yield return (p.First, p.Second, p.Positive);
            yield break;
        }
        for (int i = 0; i < b.B; i++)
            for (int j = i + 1; j < b.B; j++)
                if (!interPatient || b.Patients is null || b.Patients[i] != b.Patients[j]) yield return (i, j, false);
    }

    public static double Contrastive(RefBatch b, ContrastiveOptions o)
    {
        bool provided = o.UseProvidedPairs && b.Pairs is { Length: > 0 };
        double[] sum = new double[2]; long[] count = new long[2], active = new long[2];
        foreach (var (i, j, flag) in Pairs(b, o.UseProvidedPairs, o.InterPatientOnly))
        {
            double d = Distance(o.Distance, Row(b.E, i, b.D), Row(b.E, j, b.D));
            bool pos = provided ? flag : b.Labels![i] == b.Labels[j];
            double h = pos ? (o.Squared && o.PositiveMargin == 0 ? d : Math.Max(0, d - o.PositiveMargin)) : Math.Max(0, o.Margin - d);
            double l = o.Squared ? h * h : h;
            int k = pos ? 0 : 1;
            sum[k] += l; count[k]++; if (l != 0) active[k]++;
        }
        if (o.Reduction == Reduction.PositiveNegativeMeansOverActive)
            return (active[0] > 0 ? sum[0] / active[0] : 0) + (active[1] > 0 ? sum[1] / active[1] : 0);
        return Reduce(o.Reduction, sum[0] + sum[1], count[0] + count[1], active[0] + active[1]);
    }

    public static double WeightedContrastive(RefBatch b, WeightedContrastiveOptions o)
    {
        // Provided pairs: Δ is the pair's own gap when finite, and the sampler's flag decides positives when
        // PositivesFromPairs; every in-batch pair (or PositivesFromPairs off): Δ = |s_i − s_j| ≤ threshold decides.
        bool provided = o.UseProvidedPairs && b.Pairs is { Length: > 0 };
        var pairs = provided
            ? b.Pairs!.Select(p => (p.First, p.Second, p.Positive, Gap: float.IsFinite(p.ScoreGap) ? p.ScoreGap : Math.Abs(b.Scores![p.First] - b.Scores[p.Second]))).ToList()
            : Pairs(b, false, o.InterPatientOnly).Select(p => (p.I, p.J, Positive: false, Gap: Math.Abs(b.Scores![p.I] - b.Scores[p.J]))).ToList();
        bool IsPositive((int, int, bool Flag, double Gap) p) => provided && o.PositivesFromPairs ? p.Flag : p.Gap <= o.PositiveThreshold;
        double g(double gap) => o.GapFunction switch
        {
            ScoreGapFunction.Linear => gap / o.GapScale,
            ScoreGapFunction.Sqrt => Math.Sqrt(gap / o.GapScale),
            ScoreGapFunction.Exp => Math.Exp(gap / o.GapScale) - 1,
            _ => o.CustomGapFunction!(gap),
        };
        double norm = 1;
        if (o.WeightByGap && o.NormalizeWeights)
        {
            var negs = pairs.Where(p => !IsPositive(p)).Select(p => g(p.Gap)).ToList();
            double mean = negs.Count > 0 ? negs.Average() : 0;
            norm = mean > 0 ? 1 / mean : 0;
        }
        double sum = 0; long count = 0, active = 0;
        foreach (var p in pairs)
        {
            double d = Distance(o.Distance, Row(b.E, p.Item1, b.D), Row(b.E, p.Item2, b.D));
            double l;
            if (IsPositive(p)) l = d * d;
            else
            {
                double w = o.WeightByGap ? g(p.Gap) * norm : 1;
                double m = o.Margin + (o.MarginByGap ? o.MarginSlope * g(p.Gap) : 0);
                l = w * Math.Pow(o.TargetDistance ? m - d : Math.Max(0, m - d), 2);
            }
            sum += l; count++; if (l != 0) active++;
        }
        return Reduce(o.Reduction, sum, count, active);
    }

    static double Penalty(TripletPenalty p, double v) => p == TripletPenalty.Hinge ? Math.Max(0, v) : (v > 30 ? v : Math.Log(1 + Math.Exp(v)));

    public static double Triplet(RefBatch b, TripletOptions o)
    {
        int n = b.B;
        var dist = new double[n, n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) dist[i, j] = Distance(o.Distance, Row(b.E, i, b.D), Row(b.E, j, b.D));
        double sum = 0; long count = 0, active = 0;
        void Add(int a, int p, int q)
        {
            double l = Penalty(o.Penalty, dist[a, p] - dist[a, q] + o.Margin);
            sum += l; count++; if (l != 0) active++;
        }
        if (o.Selection == TripletSelection.Provided)
        {
            foreach (var t in b.Triplets!) Add(t.Anchor, t.Positive, t.Negative);
            return Reduce(o.Reduction, sum, count, active);
        }
        var y = b.Labels!;
        for (int a = 0; a < n; a++)
        {
            var pos = Enumerable.Range(0, n).Where(j => j != a && y[j] == y[a]).ToList();
            var neg = Enumerable.Range(0, n).Where(j => y[j] != y[a]).ToList();
            if (pos.Count == 0 || neg.Count == 0) continue;
            switch (o.Selection)
            {
                case TripletSelection.BatchAll:
                    foreach (int p in pos) foreach (int q in neg) Add(a, p, q);
                    break;
                case TripletSelection.BatchHard:
                    Add(a, pos.MaxBy(p => dist[a, p]), neg.MinBy(q => dist[a, q]));
                    break;
                default:
                    foreach (int p in pos)
                    {
                        var farther = neg.Where(q => dist[a, q] > dist[a, p]).ToList();
                        int q = farther.Count > 0 ? farther.MinBy(q => dist[a, q]) : neg.MaxBy(q => dist[a, q]);
                        Add(a, p, q);
                    }
                    break;
            }
        }
        return Reduce(o.Reduction, sum, count, active);
    }

    /// <summary>Σ over anchors of −Σ_k t_ik log softmax_k(x_ik), anchors and candidates as given.</summary>
    static double CrossEntropy(double[][] a, double[][] c, bool self, double tau, SimilarityKind sim, Func<int, double[]?> targets, Func<int, double> weight)
    {
        double total = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double w = weight(i);
            if (w == 0) continue;
            var t = targets(i)!;
            var x = new double[c.Length];
            for (int k = 0; k < c.Length; k++) x[k] = Sim(sim, a[i], c[k]) / tau;
            double lse = LogSumExp(Enumerable.Range(0, c.Length).Where(k => !self || k != i).Select(k => x[k]));
            double l = 0;
            for (int k = 0; k < c.Length; k++) if (t[k] != 0) l -= t[k] * (x[k] - lse);
            total += w * l;
        }
        return total;
    }

    static double[][] Rows(double[] x, int n, int d) => Enumerable.Range(0, n).Select(i => Row(x, i, d)).ToArray();

    public static double InfoNce(RefBatch b, InfoNceOptions o)
    {
        int n = b.B;
        var u = Rows(b.E, n, b.D); var v = Rows(b.V!, n, b.D);
        double[] OneHot(int len, int k) { var t = new double[len]; t[k] = 1; return t; }
        switch (o.Variant)
        {
            case InfoNceVariant.CrossView:
                return CrossEntropy(u, v, false, o.Temperature, o.Similarity, i => OneHot(n, i), _ => 1.0 / n);
            case InfoNceVariant.Symmetric:
                return CrossEntropy(u, v, false, o.Temperature, o.Similarity, i => OneHot(n, i), _ => 0.5 / n)
                     + CrossEntropy(v, u, false, o.Temperature, o.Similarity, i => OneHot(n, i), _ => 0.5 / n);
            default:
                var z = u.Concat(v).ToArray();
                return CrossEntropy(z, z, true, o.Temperature, o.Similarity, i => OneHot(2 * n, i < n ? i + n : i - n), _ => 1.0 / (2 * n));
        }
    }

    public static double SupCon(RefBatch b, SupConOptions o)
    {
        var z = Rows(b.E, b.B, b.D);
        var y = b.Labels!;
        if (b.V is not null) { z = z.Concat(Rows(b.V, b.B, b.D)).ToArray(); y = y.Concat(y).ToArray(); }
        int n = z.Length;
        int P(int i) => Enumerable.Range(0, n).Count(k => k != i && y[k] == y[i]);
        int valid = Enumerable.Range(0, n).Count(i => P(i) > 0);
        if (valid == 0) return 0;
        return CrossEntropy(z, z, true, o.Temperature, o.Similarity,
            i => Enumerable.Range(0, n).Select(k => k != i && y[k] == y[i] ? 1.0 / P(i) : 0.0).ToArray(),
            i => P(i) > 0 ? 1.0 / valid : 0);
    }

    /// <summary>PML's NT-Xent with labels: per ordered positive pair (a, p), −log[e^{x_ap} / (e^{x_ap} + Σ_{n: y_n ≠ y_a} e^{x_an})],
    /// averaged over the positive pairs; a second view adds rows (labels repeated, or each scan its own class).</summary>
    public static double NtXent(RefBatch b, NtXentOptions o)
    {
        var z = Rows(b.E, b.B, b.D);
        var y = b.Labels ?? Enumerable.Range(0, b.B).ToArray();
        if (b.V is not null) { z = z.Concat(Rows(b.V, b.B, b.D)).ToArray(); y = y.Concat(y).ToArray(); }
        int n = z.Length;
        double total = 0; long pairs = 0;
        for (int a = 0; a < n; a++)
            for (int p = 0; p < n; p++)
            {
                if (p == a || y[p] != y[a]) continue;
                double xp = Sim(o.Similarity, z[a], z[p]) / o.Temperature;
                var terms = Enumerable.Range(0, n).Where(k => y[k] != y[a]).Select(k => Sim(o.Similarity, z[a], z[k]) / o.Temperature).Append(xp);
                total += LogSumExp(terms) - xp;
                pairs++;
            }
        return pairs > 0 ? total / pairs : 0;
    }

    public static double YAware(RefBatch b, YAwareOptions o)
    {
        var z = Rows(b.E, b.B, b.D);
        var s = b.Scores!;
        if (b.V is not null) { z = z.Concat(Rows(b.V, b.B, b.D)).ToArray(); s = s.Concat(s).ToArray(); }
        int n = z.Length;
        if (n < 2) return 0;
        double[] T(int i)
        {
            // Shifted by the nearest score so that a narrow kernel cannot underflow (the weights are a ratio).
            double near = Enumerable.Range(0, n).Where(j => j != i).Min(j => Math.Pow(s[i] - s[j], 2));
            var k = Enumerable.Range(0, n).Select(j => j == i ? 0 : Math.Exp(-(Math.Pow(s[i] - s[j], 2) - near) / (2.0 * o.Sigma * o.Sigma))).ToArray();
            double z0 = k.Sum();
            return k.Select(v => v / z0).ToArray();
        }
        return CrossEntropy(z, z, true, o.Temperature, o.Similarity, T, _ => 1.0 / n);
    }

    public static double RankNContrast(RefBatch b, RankNContrastOptions o)
    {
        int n = b.B;
        if (n < 2) return 0;
        var e = Rows(b.E, n, b.D);
        var y = b.Scores!;
        double total = 0;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++)
            {
                if (k == i) continue;
                double dik = Math.Abs(y[i] - y[k]);
                var set = Enumerable.Range(0, n).Where(j => j != i && Math.Abs(y[i] - y[j]) >= dik);
                double x(int j) => -Distance(o.Distance, e[i], e[j]) / o.Temperature;
                total -= x(k) - LogSumExp(set.Select(x));
            }
        return total / (n * (n - 1.0));
    }
}
