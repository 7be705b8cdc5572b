using Learner.Objectives;
using Learner.Objectives.Kernels;
using Learner.Objectives.Options;
using static Learner.Tests.Objectives.ObjectiveHarness;

namespace Learner.Tests.Objectives;

/// <summary>Invariances, tiling/parallel consistency, stability and steady-state behaviour of every objective.</summary>
public class BehaviourTests
{
    static RefBatch Batch(int seed, int b, int d) => Random(seed, b, d, secondView: true, classes: 4, patients: 5);

    static RefBatch Permute(RefBatch r, int[] perm)
    {
        // Row k of the permuted batch is row perm[k] of the original.
        double[] Rows(double[] x) { var y = new double[x.Length]; for (int k = 0; k < r.B; k++) Array.Copy(x, perm[k] * r.D, y, k * r.D, r.D); return y; }
        return new RefBatch
        {
            E = Rows(r.E), B = r.B, D = r.D, V = r.V is null ? null : Rows(r.V),
            Scores = perm.Select(i => r.Scores![i]).ToArray(),
            Labels = perm.Select(i => r.Labels![i]).ToArray(),
            Patients = perm.Select(i => r.Patients![i]).ToArray(),
        };
    }

    static void AssertClose(float[] actual, float[] expected, double rtol, string what)
    {
        double max = expected.Max(v => Math.Abs((double)v));
        for (int i = 0; i < actual.Length; i++)
            if (!(Math.Abs(actual[i] - expected[i]) <= rtol * max + 1e-7))
                throw new Xunit.Sdk.XunitException($"{what}: [{i}] {actual[i]:G9} vs {expected[i]:G9} (max |g| {max:G3}).");
    }

    [Fact]
    public void Permuting_the_batch_permutes_the_gradient()
    {
        var r = Batch(21, 12, 6);
        var perm = Enumerable.Range(0, r.B).Reverse().ToArray();
        (perm[0], perm[5]) = (perm[5], perm[0]);
        var p = Permute(r, perm);
        foreach (var (name, create, _) in ObjectiveCatalog.All())
        {
            var (l1, g1, v1, _) = Run(create(r.D), r);
            var (l2, g2, v2, _) = Run(create(r.D), p);
            l2.Should().BeApproximately(l1, 1e-5 * Math.Max(1, Math.Abs(l1)), name);
            var expected = new float[g1.Length];
            for (int k = 0; k < r.B; k++) Array.Copy(g1, perm[k] * r.D, expected, k * r.D, r.D);
            AssertClose(g2, expected, 1e-4, $"{name}: permuted gradient");
            if (name.StartsWith("infonce") || name == "ntxent")
            {
                var ev = new float[v1!.Length];
                for (int k = 0; k < r.B; k++) Array.Copy(v1, perm[k] * r.D, ev, k * r.D, r.D);
                AssertClose(v2!, ev, 1e-4, $"{name}: permuted second-view gradient");
            }
        }
    }

    [Fact]
    public void Cosine_objectives_ignore_the_scale_of_the_embeddings()
    {
        var r = Batch(22, 10, 5);
        const double c = 3.7;
        var scaled = r.With(r.E.Select(v => v * c).ToArray(), r.V!.Select(v => v * c).ToArray());
        foreach (var (name, create, cosine) in ObjectiveCatalog.All())
        {
            if (!cosine) continue;
            var (l1, g1, _, _) = Run(create(r.D), r);
            var (l2, g2, _, _) = Run(create(r.D), scaled);
            l2.Should().BeApproximately(l1, 1e-5 * Math.Max(1, Math.Abs(l1)), name);
            // f(cx) = f(x) ⇒ ∇f(cx) = ∇f(x)/c.
            AssertClose(g2.Select(v => (float)(v * c)).ToArray(), g1, 1e-4, $"{name}: scaled gradient × c");
        }
    }

    [Fact]
    public void Tiled_and_parallel_paths_agree_with_the_single_tile_path()
    {
        var r = Batch(23, 67, 9);
        int savedTile = Tiling.TileElements, savedPar = Tiling.ParallelThreshold;
        foreach (var (name, create, _) in ObjectiveCatalog.All())
        {
            var (l1, g1, v1, _) = Run(create(r.D), r);
            try
            {
                Tiling.TileElements = 67 * 5; // 5 rows per tile, the last one partial
                Tiling.ParallelThreshold = 1;
                var (l2, g2, v2, _) = Run(create(r.D), r);
                l2.Should().BeApproximately(l1, 1e-6 * Math.Max(1, Math.Abs(l1)), name);
                AssertClose(g2, g1, 1e-5, $"{name}: tiled gradient");
                if (v1 is not null) AssertClose(v2!, v1, 1e-5, $"{name}: tiled second-view gradient");
            }
            finally { Tiling.TileElements = savedTile; Tiling.ParallelThreshold = savedPar; }
        }
    }

    [Fact]
    public void Larger_batches_match_the_float64_reference()
    {
        var r = Batch(24, 150, 16);
        var checks = new (IObjective Objective, Func<RefBatch, double> Reference)[]
        {
            (new InfoNceLoss(), b => ReferenceObjectives.InfoNce(b, new InfoNceOptions())),
            (new SupConLoss(), b => ReferenceObjectives.SupCon(b, new SupConOptions())),
            (new TripletLoss(new TripletOptions { Selection = TripletSelection.BatchAll }), b => ReferenceObjectives.Triplet(b, new TripletOptions { Selection = TripletSelection.BatchAll })),
            (new RankNContrastLoss(), b => ReferenceObjectives.RankNContrast(b, new RankNContrastOptions())),
        };
        foreach (var (obj, reference) in checks)
        {
            var (loss, _, _, _) = Run(obj, r);
            double expected = reference(r);
            loss.Should().BeApproximately(expected, 1e-5 * Math.Abs(expected) + 1e-7, obj.Name);
        }
    }

    [Fact]
    public void Value_only_calls_match_calls_with_gradients()
    {
        var r = Batch(25, 9, 4);
        foreach (var (name, create, _) in ObjectiveCatalog.All())
        {
            var (l1, _, _, _) = Run(create(r.D), r);
            var o = create(r.D);
            var e = F(r.E); var v = F(r.V!); var s = F(r.Scores!);
            var res = o.Compute(ToBatch(r, e, v, s), Span<float>.Empty);
            res.Loss.Should().Be(l1, name);
            res.Terms.Count.Should().Be(1);
            res.Terms[0].Name.Should().Be(o.Name);
        }
    }

    [Fact]
    public void Extreme_but_finite_inputs_give_finite_losses_and_gradients()
    {
        var r = Batch(26, 16, 8);
        var big = r.With(r.E.Select(v => v * 1e15).ToArray(), r.V!.Select(v => v * 1e15).ToArray());
        var tiny = r.With(r.E.Select(v => v * 1e-30).ToArray(), r.V!.Select(v => v * 1e-30).ToArray());
        foreach (var batch in new[] { big, tiny })
            foreach (var (name, create, cosine) in ObjectiveCatalog.All())
            {
                if (!cosine) continue; // Euclidean objectives on 1e15-scale inputs overflow float32 by definition.
                var (l, g, v, _) = Run(create(r.D), batch);
                double.IsFinite(l).Should().BeTrue(name);
                g.All(float.IsFinite).Should().BeTrue(name);
            }
        // Dot-product InfoNCE with huge logits: log-sum-exp must be max-subtracted.
        var o = new InfoNceOptions { Similarity = Learner.Objectives.Distances.SimilarityKind.Dot, Temperature = 0.01f };
        var hot = r.With(r.E.Select(v => v * 30).ToArray(), r.V!.Select(v => v * 30).ToArray());
        var (loss, grad, _, _) = Run(new InfoNceLoss(o), hot);
        double reference = ReferenceObjectives.InfoNce(hot, o);
        double.IsFinite(loss).Should().BeTrue();
        loss.Should().BeApproximately(reference, 1e-4 * Math.Abs(reference));
        grad.All(float.IsFinite).Should().BeTrue();
    }

    [Fact]
    public void Steady_state_calls_do_not_allocate_on_the_serial_path()
    {
        var r = Batch(27, 32, 8);
        var e = F(r.E); var v = F(r.V!); var s = F(r.Scores!);
        var ge = new float[e.Length]; var gv = new float[v.Length];
        foreach (var (name, create, _) in ObjectiveCatalog.All())
        {
            var o = create(r.D);
            bool twoViews = name.StartsWith("infonce") || name == "ntxent";
            SteadyStateAllocations.Bytes(() => o.Compute(ToBatch(r, e, v, s), ge, twoViews ? gv : Span<float>.Empty))
                .Should().Be(0, $"{name} must reuse its workspace");
        }
        // The paper's composite (two terms, two parts in all: held inline) reuses its buffers and part names too.
        var composite = new CompositeObjective(new CompositeTerm("mse", new MseScoreRegression(new MseOptions { EmbeddingDimension = r.D }), 1.0),
            new CompositeTerm("weighted-contrastive", new WeightedContrastiveLoss(), 0.5));
        ObjectiveResult result = default;
        SteadyStateAllocations.Bytes(() => result = composite.Compute(ToBatch(r, e, v, s), ge)).Should().Be(0, "the composite must reuse its term and part buffers");
        result.Parts.Select(p => p.Name).Should().Equal("weighted-contrastive.positive", "weighted-contrastive.negative");
    }
}
