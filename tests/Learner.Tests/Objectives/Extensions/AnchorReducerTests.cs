using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using static Learner.Tests.Objectives.ObjectiveHarness;

namespace Learner.Tests.Objectives.Extensions;

/// <summary>A reducer over the per-anchor (NT-Xent: per-positive-pair) terms of the softmax objectives and
/// Rank-N-Contrast: a term reducer that gives the mean equals the fused mean, a user reducer (the hardest half of the
/// terms) equals the same reduction of the terms computed independently in float64, and the gradient of a term
/// reducer passes the public gradient check.</summary>
public class AnchorReducerTests
{
    /// <summary>The mean or sum written as a term reducer, so the objectives take the term path.</summary>
    sealed class TermwiseCopy(Reduction reduction) : ReducerBase
    {
        public override void Weights(ReadOnlySpan<double> terms, ReadOnlySpan<TermKind> kinds, Span<double> weights)
            => ReducerBase.For(reduction).Weights(terms, kinds, weights);
    }

    /// <summary>The mean of the hardest ⌈n/2⌉ terms (ties at the cut included).</summary>
    sealed class HardestHalf : ReducerBase
    {
        public override void Weights(ReadOnlySpan<double> terms, ReadOnlySpan<TermKind> kinds, Span<double> weights)
        {
            if (terms.Length == 0) return;
            double cut = Cut(terms.ToArray());
            int kept = 0;
            foreach (double t in terms) if (t >= cut) kept++;
            for (int k = 0; k < terms.Length; k++) weights[k] = terms[k] >= cut ? 1.0 / kept : 0;
        }

        /// <summary>The smallest term that is kept.</summary>
        public static double Cut(double[] terms)
        {
            var sorted = terms.OrderBy(t => t).ToArray();
            return sorted[terms.Length - (terms.Length + 1) / 2];
        }

        /// <summary>The reduction, from terms computed elsewhere.</summary>
        public static double Of(double[] terms)
        {
            double cut = Cut(terms);
            var kept = terms.Where(t => t >= cut).ToArray();
            return kept.Average();
        }
    }

    /// <summary>Weights fixed by position (1, 2, 3, 1, … over their sum): constant in the terms, so the gradient is
    /// exactly Σ w_k ∂ℓ_k and finite differences cannot cross a cut.</summary>
    sealed class PositionWeights : ReducerBase
    {
        public override void Weights(ReadOnlySpan<double> terms, ReadOnlySpan<TermKind> kinds, Span<double> weights)
        {
            double sum = 0;
            for (int k = 0; k < terms.Length; k++) sum += 1 + k % 3;
            for (int k = 0; k < terms.Length; k++) weights[k] = (1 + k % 3) / sum;
        }
    }

    /// <summary>The objectives with a reducer, by name; the batch they read.</summary>
    static IObjective Create(string name, ReducerBase? reducer) => name switch
    {
        "ntxent" => new NtXentLoss(new NtXentOptions { Temperature = 0.5f }, reducer),
        "rnc" => new RankNContrastLoss(new RankNContrastOptions { Temperature = 2f }, reducer),
        "supcon" => new SupConLoss(new SupConOptions { Temperature = 0.5f }, reducer),
        "y-aware" => new YAwareInfoNceLoss(new YAwareOptions { Temperature = 0.5f, Sigma = 0.8f }, reducer),
        "infonce" => new InfoNceLoss(new InfoNceOptions { Temperature = 0.5f }, reducer),
        "infonce-symmetric" => new InfoNceLoss(new InfoNceOptions { Temperature = 0.5f, Variant = InfoNceVariant.Symmetric }, reducer),
        "infonce-ntxent" => new InfoNceLoss(new InfoNceOptions { Temperature = 0.5f, Variant = InfoNceVariant.NtXent }, reducer),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown"),
    };

    /// <summary>Each anchor's (NT-Xent: each positive pair's) term in float64, from the definitions.</summary>
    static double[] Terms(string name, RefBatch b) => name switch
    {
        "ntxent" => NtXentTerms(b, 0.5),
        "rnc" => RncTerms(b, 2.0),
        "supcon" => SupConTerms(b, 0.5),
        "y-aware" => YAwareTerms(b, 0.5, 0.8),
        "infonce" => CrossTerms(Rows(b), Rows(b, b.V!), 0.5),
        "infonce-symmetric" => CrossTerms(Rows(b), Rows(b, b.V!), 0.5).Concat(CrossTerms(Rows(b, b.V!), Rows(b), 0.5)).ToArray(),
        "infonce-ntxent" => NtXentViewTerms(Rows(b).Concat(Rows(b, b.V!)).ToArray(), 0.5),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown"),
    };

    static double[][] Rows(RefBatch b, double[]? x = null) => Enumerable.Range(0, b.B).Select(i => (x ?? b.E).Skip(i * b.D).Take(b.D).ToArray()).ToArray();

    /// <summary>SupCon's L_i = LSE_{k≠i} x_ik − mean_{p∈P(i)} x_ip for the anchors with positives.</summary>
    static double[] SupConTerms(RefBatch b, double tau)
    {
        var z = Rows(b); var y = b.Labels!; int n = b.B;
        var terms = new List<double>();
        for (int i = 0; i < n; i++)
        {
            var pos = Enumerable.Range(0, n).Where(k => k != i && y[k] == y[i]).ToArray();
            if (pos.Length == 0) continue;
            terms.Add(Lse(Enumerable.Range(0, n).Where(k => k != i).Select(k => Cos(z[i], z[k]) / tau)) - pos.Average(p => Cos(z[i], z[p]) / tau));
        }
        return terms.ToArray();
    }

    /// <summary>y-aware InfoNCE's ℓ_i = LSE_{k≠i} x_ik − Σ_k t_ik x_ik with Gaussian-kernel targets.</summary>
    static double[] YAwareTerms(RefBatch b, double tau, double sigma)
    {
        var z = Rows(b); var s = b.Scores!.Select(v => (double)(float)v).ToArray(); int n = b.B;
        return Enumerable.Range(0, n).Select(i =>
        {
            var others = Enumerable.Range(0, n).Where(k => k != i).ToArray();
            var kernel = others.Select(k => Math.Exp(-(s[i] - s[k]) * (s[i] - s[k]) / (2 * sigma * sigma))).ToArray();
            double norm = kernel.Sum();
            return Lse(others.Select(k => Cos(z[i], z[k]) / tau)) - others.Select((k, j) => kernel[j] / norm * Cos(z[i], z[k]) / tau).Sum();
        }).ToArray();
    }

    /// <summary>Cross-view InfoNCE's ℓ_i = LSE_k x(u_i, v_k) − x(u_i, v_i).</summary>
    static double[] CrossTerms(double[][] u, double[][] v, double tau)
        => Enumerable.Range(0, u.Length).Select(i => Lse(v.Select(c => Cos(u[i], c) / tau)) - Cos(u[i], v[i]) / tau).ToArray();

    /// <summary>NT-Xent over the 2B views: row i's positive is the other view of its scan, every other row a candidate.</summary>
    static double[] NtXentViewTerms(double[][] z, double tau)
    {
        int n = z.Length, half = n / 2;
        return Enumerable.Range(0, n).Select(i => Lse(Enumerable.Range(0, n).Where(k => k != i).Select(k => Cos(z[i], z[k]) / tau))
            - Cos(z[i], z[(i + half) % n]) / tau).ToArray();
    }

    static double Dot(double[] a, double[] c) => a.Zip(c, (x, y) => x * y).Sum();

    static double Cos(double[] a, double[] c) => Dot(a, c) / Math.Sqrt(Dot(a, a) * Dot(c, c));

    static double Lse(IEnumerable<double> x) { var a = x.ToArray(); double m = a.Max(); return m + Math.Log(a.Sum(v => Math.Exp(v - m))); }

    static double[] NtXentTerms(RefBatch b, double tau)
    {
        var z = Rows(b); var y = b.Labels!; int n = b.B;
        var terms = new List<double>();
        for (int a = 0; a < n; a++)
            for (int p = 0; p < n; p++)
            {
                if (p == a || y[p] != y[a]) continue;
                double xp = Cos(z[a], z[p]) / tau;
                terms.Add(Lse(Enumerable.Range(0, n).Where(k => y[k] != y[a]).Select(k => Cos(z[a], z[k]) / tau).Append(xp)) - xp);
            }
        return terms.ToArray();
    }

    static double[] RncTerms(RefBatch b, double tau)
    {
        var e = Rows(b); var y = b.Scores!; int n = b.B;
        double X(int i, int j) => -Math.Sqrt(e[i].Zip(e[j], (u, v) => (u - v) * (u - v)).Sum()) / tau;
        var terms = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int k = 0; k < n; k++)
            {
                if (k == i) continue;
                double gap = Math.Abs(y[i] - y[k]);
                s += Lse(Enumerable.Range(0, n).Where(j => j != i && Math.Abs(y[i] - y[j]) >= gap).Select(j => X(i, j))) - X(i, k);
            }
            terms[i] = s / (n - 1);
        }
        return terms;
    }

    static (double Loss, float[] Grad, ObjectiveResult R) Run(IObjective o, RefBatch r)
    {
        var e = F(r.E); var g = new float[e.Length];
        var v = r.V is null ? null : F(r.V);
        var res = o.Compute(new EmbeddingBatch(e, r.B, r.D) { Labels = r.Labels!, Scores = F(r.Scores!), SecondView = v ?? default(ReadOnlySpan<float>) }, g);
        return (res.Loss, g, res);
    }

    /// <summary>A random batch; the InfoNCE objectives get a second view.</summary>
    static RefBatch Data(string name, int seed, int b, int d, int classes) => Random(seed, b, d, secondView: name.StartsWith("infonce", StringComparison.Ordinal), classes: classes);

    public static TheoryData<string> Names() => new() { "ntxent", "rnc", "supcon", "y-aware", "infonce", "infonce-symmetric", "infonce-ntxent" };

    [Theory]
    [MemberData(nameof(Names))]
    public void A_term_reducer_giving_the_mean_or_sum_equals_the_fused_pass(string name)
    {
        var r = Data(name, 11, 10, 4, classes: 3);
        foreach (var reduction in new[] { Reduction.Mean, Reduction.Sum })
        {
            var fused = Run(Create(name, reduction == Reduction.Mean ? null : SumReducer.Instance), r);
            var termwise = Run(Create(name, new TermwiseCopy(reduction)), r);
            termwise.Loss.Should().BeApproximately(fused.Loss, 1e-6 * Math.Abs(fused.Loss), $"{name} {reduction}");
            double max = fused.Grad.Max(Math.Abs);
            max.Should().BeGreaterThan(0);
            for (int k = 0; k < fused.Grad.Length; k++) termwise.Grad[k].Should().BeApproximately(fused.Grad[k], (float)(1e-5 * max), $"{name} {reduction} grad[{k}]");
            termwise.R.Mining.Should().Be(fused.R.Mining, name);
            termwise.R.ActiveCount.Should().Be(fused.R.ActiveCount, name);
        }
        var sum = Run(Create(name, SumReducer.Instance), r).Loss;
        var mean = Run(Create(name, null), r).Loss;
        (sum / mean).Should().BeGreaterThan(1.5, "the sum reducer is used, not the mean");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void The_hardest_half_equals_its_reduction_of_independently_computed_terms(string name)
    {
        foreach (int seed in new[] { 3, 4 })
        {
            var r = Data(name, seed, 9, 4, classes: 3);
            double expected = HardestHalf.Of(Terms(name, r));
            var got = Run(Create(name, new HardestHalf()), r);
            got.Loss.Should().BeApproximately(expected, 1e-5 * expected, $"{name} seed {seed}");
            Run(Create(name, null), r).Loss.Should().BeLessThan(expected * 0.98, "the mean of all terms is below that of the hardest half");
        }
    }

    /// <summary>The objectives <see cref="GradientCheck.Objective"/> can run (it passes no second view, which InfoNCE needs;
    /// its term path is held to the fused pass above).</summary>
    public static TheoryData<string> SingleView() => new() { "ntxent", "rnc", "supcon", "y-aware" };

    [Theory]
    [MemberData(nameof(SingleView))]
    public void A_term_reducers_gradient_passes_the_gradient_check(string name)
    {
        var r = Data(name, 5, 8, 3, classes: 2);
        var metadata = new BatchMetadata { Labels = r.Labels!, Scores = F(r.Scores!) };
        GradientCheck.Objective(Create(name, new PositionWeights()), F(r.E), r.B, r.D, metadata).EnsurePassed();
        GradientCheck.Objective(Create(name, new HardestHalf()), F(r.E), r.B, r.D, metadata).EnsurePassed();
    }

    /// <summary>The InfoNCE variants read a second view, which <see cref="GradientCheck.Objective"/> does not pass: their
    /// term path's gradients (both views) against central differences here, with weights that differ per anchor.</summary>
    [Theory]
    [InlineData("infonce")]
    [InlineData("infonce-symmetric")]
    [InlineData("infonce-ntxent")]
    public void The_infonce_term_paths_gradients_match_finite_differences(string name)
    {
        var r = Data(name, 6, 5, 3, classes: 2);
        var o = Create(name, new PositionWeights());
        var e = F(r.E); var v = F(r.V!);
        var ge = new float[e.Length]; var gv = new float[v.Length];
        double Loss() => o.Compute(new EmbeddingBatch(e, r.B, r.D) { SecondView = v }, default).Loss;
        o.Compute(new EmbeddingBatch(e, r.B, r.D) { SecondView = v }, ge, gv);
        double max = ge.Concat(gv).Max(Math.Abs);
        max.Should().BeGreaterThan(0);
        foreach (var (x, g, view) in new[] { (e, ge, "embeddings"), (v, gv, "second view") })
            for (int k = 0; k < x.Length; k++)
            {
                float x0 = x[k]; const float h = 1e-2f;
                x[k] = x0 + h; double fp = Loss();
                x[k] = x0 - h; double fm = Loss();
                x[k] = x0;
                ((double)g[k]).Should().BeApproximately((fp - fm) / (2 * h), 2e-2 * max, $"{name} {view}[{k}]");
            }
    }
}
