using Learner.Nn;
using Learner.Objectives;

namespace Learner.Tests.Objectives;

/// <summary>Runs float32 objectives on reference batches and checks them against float64 references.</summary>
public static class ObjectiveHarness
{
    public static float[] F(double[] x) => x.Select(v => (float)v).ToArray();

    /// <summary>Random batch; embeddings N(0,1) rounded to float so that both precisions see the same numbers.</summary>
    public static RefBatch Random(int seed, int b, int d, bool secondView = false, int classes = 3, int patients = 0, bool pairs = false, bool triplets = false)
    {
        var rng = new Rng(seed);
        double[] Gauss(int n) => Enumerable.Range(0, n).Select(_ => (double)(float)rng.NextGaussian()).ToArray();
        var e = Gauss(b * d);
        var v = secondView ? Gauss(b * d) : null;
        var scores = Enumerable.Range(0, b).Select(_ => (double)(float)(rng.NextDouble() * 4)).ToArray();
        var labels = Enumerable.Range(0, b).Select(i => i % classes).ToArray();
        var pats = patients > 0 ? Enumerable.Range(0, b).Select(_ => rng.NextInt(patients)).ToArray() : null;
        IndexPair[]? ps = null;
        if (pairs)
            ps = Enumerable.Range(0, 2 * b).Select(_ => { int i = rng.NextInt(b), j = (i + 1 + rng.NextInt(b - 1)) % b; return new IndexPair(i, j, rng.NextInt(2) == 0); }).ToArray();
        IndexTriplet[]? ts = null;
        if (triplets)
            ts = Enumerable.Range(0, 2 * b).Select(_ => new IndexTriplet(rng.NextInt(b), rng.NextInt(b), rng.NextInt(b))).ToArray();
        return new RefBatch { E = e, B = b, D = d, V = v, Scores = scores, Labels = labels, Patients = pats, Pairs = ps, Triplets = ts };
    }

    public static EmbeddingBatch ToBatch(RefBatch r, float[] e, float[]? v, float[] scores) => new(e, r.B, r.D)
    {
        SecondView = v ?? default(ReadOnlySpan<float>),
        Scores = scores,
        Labels = r.Labels ?? default(ReadOnlySpan<int>),
        PatientIds = r.Patients ?? default(ReadOnlySpan<int>),
        Pairs = r.Pairs ?? default(ReadOnlySpan<IndexPair>),
        Triplets = r.Triplets ?? default(ReadOnlySpan<IndexTriplet>),
    };

    public static (double Loss, float[] GradE, float[]? GradV, ObjectiveResult Result) Run(IObjective objective, RefBatch r)
    {
        var e = F(r.E);
        var v = r.V is null ? null : F(r.V);
        var s = r.Scores is null ? Array.Empty<float>() : F(r.Scores);
        var ge = new float[e.Length];
        var gv = v is null ? null : new float[v.Length];
        var batch = ToBatch(r, e, v, s);
        var result = objective.Compute(batch, ge, gv ?? Span<float>.Empty);
        return (result.Loss, ge, gv, result);
    }

    /// <summary>Central differences of the float64 reference, per coordinate. For objectives that L2-normalise
    /// (<paramref name="normalizes"/>), zero rows use a step far below ε = 1e-12: there the normalisation is e/ε.</summary>
    public static double[] FiniteDifference(Func<RefBatch, double> f, RefBatch r, bool secondView, bool normalizes)
    {
        var x = (double[])(secondView ? r.V! : r.E).Clone();
        var g = new double[x.Length];
        for (int k = 0; k < x.Length; k++)
        {
            int row = k / r.D;
            double norm = Math.Sqrt(Enumerable.Range(0, r.D).Sum(c => x[row * r.D + c] * x[row * r.D + c]));
            double h = normalizes && norm < 1e-10 ? 1e-16 : 1e-6;
            double old = x[k];
            x[k] = old + h; double fp = f(secondView ? r.With(r.E, x) : r.With(x, r.V));
            x[k] = old - h; double fm = f(secondView ? r.With(r.E, x) : r.With(x, r.V));
            x[k] = old;
            g[k] = (fp - fm) / (2 * h);
        }
        return g;
    }

    /// <summary>Checks the value against the reference and the gradient(s) against central differences.</summary>
    public static void Check(IObjective objective, Func<RefBatch, double> reference, RefBatch r, string what, bool normalizes, double gradRtol = 2e-4)
    {
        var (loss, ge, gv, _) = Run(objective, r);
        double expected = reference(r);
        double.IsFinite(loss).Should().BeTrue($"{what}: the loss must be finite");
        Math.Abs(loss - expected).Should().BeLessThanOrEqualTo(2e-6 + 2e-5 * Math.Abs(expected), $"{what}: loss {loss} vs float64 reference {expected}");
        CompareGradient(ge, FiniteDifference(reference, r, secondView: false, normalizes), r.D, $"{what} (embeddings)", gradRtol);
        if (gv is not null) CompareGradient(gv, FiniteDifference(reference, r, secondView: true, normalizes), r.D, $"{what} (second view)", gradRtol);
    }

    public static void CompareGradient(float[] actual, double[] expected, int d, string what, double rtol)
    {
        double globalMax = expected.Max(Math.Abs);
        for (int k = 0; k < actual.Length; k++)
        {
            int row = k / d;
            double rowMax = Enumerable.Range(0, d).Max(c => Math.Abs(expected[row * d + c]));
            double tol = 1e-7 + rtol * Math.Max(rowMax, 1e-3 * globalMax) + 1e-3 * Math.Abs(expected[k]);
            double diff = Math.Abs(actual[k] - expected[k]);
            if (!(diff <= tol))
                throw new Xunit.Sdk.XunitException($"{what}: gradient[{row},{k % d}] = {actual[k]:G9}, finite difference {expected[k]:G9} (|diff| {diff:G3} > tol {tol:G3}).");
        }
    }
}
