using Learner.Nn;
using Learner.Objectives;
using Learner.Objectives.Distances;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using Learner.TorchSharp.Objectives;
using TorchSharp;
using static TorchSharp.torch;

namespace Learner.TorchSharp.Tests;

/// <summary>Every device objective against its managed reference on the same batches: the loss within 1e-5 relative,
/// the embedding (and second-view, and head) gradients within 1e-5 of the largest reference entry, the same active
/// count; and the same exceptions for bad batches.</summary>
public class ObjectiveParityTests
{
    private const double Tolerance = 1e-5;

    /// <summary>A batch's host data: B = 12 scans of 6 patients (two each) in 3 coarse classes, D = 8, scores with ties;
    /// optionally each patient's two scans near-coincident. The sampler's pairs are marked positive by coarse label; their
    /// gapped copy (<see cref="WithGaps"/>) carries seeded score gaps that differ from the batch scores' |Δ| (every third
    /// pair keeps NaN, so the fallback to the scores is mixed in).</summary>
    internal sealed class BatchData
    {
        public const int B = 12, D = 8;
        public float[] Embeddings = null!, SecondView = null!, Scores = null!;
        public int[] Patients = null!, Labels = null!;
        public IndexPair[] Pairs = null!, GappedPairs = null!;
        public IndexTriplet[] Triplets = null!;
        public bool WithSecondView, WithPairs, WithGaps, WithPatients = true;

        /// <summary>The pairs the batch carries (when <see cref="WithPairs"/>): gapped or not.</summary>
        public IndexPair[] CurrentPairs => WithGaps ? GappedPairs : Pairs;

        public static BatchData Create(int seed, float scale = 1f, bool near = false)
        {
            var rng = new Rng((ulong)seed);
            var data = new BatchData
            {
                Embeddings = Gaussian(rng, B * D, scale),
                SecondView = Gaussian(rng, B * D, scale),
                Scores = new float[B], Patients = new int[B], Labels = new int[B],
            };
            for (int i = 0; i < B; i++)
            {
                data.Patients[i] = i / 2;
                data.Labels[i] = (i / 2) % 3;
                data.Scores[i] = i % 4 == 0 ? 2f : MathF.Round((float)(rng.NextDouble() * 6), 1);   // ties at 2
            }
            var pairs = new List<IndexPair>();
            for (int p = 0; p < 20; p++)
            {
                int a = rng.NextInt(B), c = rng.NextInt(B);
                if (a != c) pairs.Add(new IndexPair(a, c, data.Labels[a] == data.Labels[c]));
            }
            data.Pairs = pairs.ToArray();
            var gapRng = new Rng((ulong)seed + 1000);                       // its own stream: the other fields do not move
            data.GappedPairs = data.Pairs.Select((p, k) => k % 3 == 2 ? p : p with { ScoreGap = MathF.Round((float)(gapRng.NextDouble() * 4), 2) }).ToArray();
            if (near)
                for (int i = 1; i < B; i += 2)
                    for (int j = 0; j < D; j++) data.Embeddings[i * D + j] = data.Embeddings[(i - 1) * D + j] + 1e-3f * (float)rng.NextGaussian();
            data.Triplets = new[] { new IndexTriplet(0, 7, 2), new IndexTriplet(3, 9, 4), new IndexTriplet(5, 11, 0), new IndexTriplet(8, 1, 10), new IndexTriplet(2, 2, 6) };
            return data;
        }

        private static float[] Gaussian(Rng rng, int n, float scale)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float)rng.NextGaussian() * scale;
            return a;
        }

        public EmbeddingBatch Batch() => new(Embeddings, B, D)
        {
            SecondView = WithSecondView ? SecondView : default,
            Scores = Scores, Labels = Labels,
            PatientIds = WithPatients ? Patients : default,
            Pairs = WithPairs ? CurrentPairs : default,
            Triplets = Triplets,
        };
    }

    public sealed record Case(string Label, Func<IObjective> Managed, Func<Device, TorchSharpObjective> OnDevice, bool SecondView = false, bool Pairs = false,
        bool Patients = true, float Scale = 1f, bool Near = false, bool Gaps = false)
    {
        public override string ToString() => Label;

        /// <summary>The case's batch data for a seed.</summary>
        internal BatchData Data(int seed)
        {
            var data = BatchData.Create(seed, Scale, Near);
            data.WithSecondView = SecondView; data.WithPairs = Pairs; data.WithGaps = Gaps; data.WithPatients = Patients;
            return data;
        }
    }

    private static Case C<TOptions>(string label, string name, TOptions? options, bool secondView = false, bool pairs = false, bool patients = true, float scale = 1f,
        bool near = false, bool gaps = false)
        where TOptions : ObjectiveOptions =>
        new(label, () => ObjectiveRegistry.CreateDefault().Create(name, options), d => TorchSharpObjectives.Create(name, options, d), secondView, pairs, patients, scale, near, gaps);

    /// <summary>The weighted contrastive loss on the sampler's pairs: flags decide (the default, with a threshold the flags
    /// overrule), the threshold decides (flags ignored), and pairs carrying score gaps both ways.</summary>
    internal static readonly WeightedContrastiveOptions FlagsDecide = new() { PositiveThreshold = 0.5f, Margin = 0.9f },
        ThresholdDecides = new() { PositiveThreshold = 0.5f, Margin = 0.9f, PositivesFromPairs = false },
        GapsFlagsDecide = new() { GapFunction = ScoreGapFunction.Sqrt, MarginByGap = true, PositiveThreshold = 0.5f, Margin = 0.6f },
        GapsThresholdDecides = new() { GapFunction = ScoreGapFunction.Exp, GapScale = 3f, PositiveThreshold = 0.5f, Margin = 0.6f, PositivesFromPairs = false };

    public static TheoryData<Case> Cases()
    {
        var all = new TheoryData<Case>
        {
            C("infonce cross-view", "infonce", new InfoNceOptions(), secondView: true),
            C("infonce symmetric", "infonce", new InfoNceOptions { Variant = InfoNceVariant.Symmetric, Temperature = 0.3f }, secondView: true),
            C("infonce nt-xent", "infonce", new InfoNceOptions { Variant = InfoNceVariant.NtXent }, secondView: true),
            C("infonce dot", "infonce", new InfoNceOptions { Similarity = SimilarityKind.Dot, Temperature = 2f }, secondView: true),
            C("supcon", "supcon", new SupConOptions()),
            C("supcon two views", "supcon", new SupConOptions { Temperature = 0.5f }, secondView: true),
            C("supcon dot", "supcon", new SupConOptions { Similarity = SimilarityKind.Dot, Temperature = 3f }),
            C("ntxent", "ntxent", new NtXentOptions()),
            C("ntxent two views", "ntxent", new NtXentOptions { Temperature = 0.5f }, secondView: true),
            C("ntxent dot", "ntxent", new NtXentOptions { Similarity = SimilarityKind.Dot, Temperature = 3f }),
            C("contrastive pml", "contrastive", ContrastiveOptions.PytorchMetricLearning),
            C("contrastive pml inter-patient margins", "contrastive", ContrastiveOptions.PytorchMetricLearning with { InterPatientOnly = true, PositiveMargin = 0.3f, Margin = 0.9f }),
            C("contrastive pml pairs squared", "contrastive", ContrastiveOptions.PytorchMetricLearning with { UseProvidedPairs = true, Squared = true, PositiveMargin = 0.2f }, pairs: true),
            C("weighted separate means", "weighted-contrastive", new WeightedContrastiveOptions { Margin = 0.9f, Reduction = Reduction.PositiveNegativeMeansOverActive }),
            C("y-aware", "y-aware", new YAwareOptions()),
            C("y-aware two views", "y-aware", new YAwareOptions { Sigma = 0.5f }, secondView: true),
            C("y-aware dot", "y-aware", new YAwareOptions { Similarity = SimilarityKind.Dot, Temperature = 2f, Sigma = 2f }),
            C("contrastive pairs", "contrastive", new ContrastiveOptions { Margin = 0.8f }, pairs: true),
            C("contrastive all pairs", "contrastive", new ContrastiveOptions { Margin = 0.9f, InterPatientOnly = true }),
            C("contrastive euclidean sum", "contrastive", new ContrastiveOptions { Distance = DistanceKind.Euclidean, Margin = 4f, Reduction = Reduction.Sum }),
            C("contrastive squared mean-active", "contrastive", new ContrastiveOptions { Distance = DistanceKind.SquaredEuclidean, Margin = 12f, Reduction = Reduction.MeanOverActive }, pairs: true),
            C("weighted all pairs", "weighted-contrastive", new WeightedContrastiveOptions()),
            C("weighted pairs", "weighted-contrastive", new WeightedContrastiveOptions { Margin = 0.9f }, pairs: true),
            C("weighted no patients", "weighted-contrastive", new WeightedContrastiveOptions { Margin = 0.9f }, patients: false),
            C("weighted sqrt margin threshold", "weighted-contrastive", new WeightedContrastiveOptions { GapFunction = ScoreGapFunction.Sqrt, MarginByGap = true, PositiveThreshold = 0.5f, Margin = 0.6f }),
            C("weighted exp unnormalised euclidean", "weighted-contrastive", new WeightedContrastiveOptions { GapFunction = ScoreGapFunction.Exp, GapScale = 3f, NormalizeWeights = false, Distance = DistanceKind.Euclidean, Margin = 4f, Reduction = Reduction.Sum }),
            C("weighted pairs flags decide", "weighted-contrastive", FlagsDecide, pairs: true),
            C("weighted pairs threshold decides", "weighted-contrastive", ThresholdDecides, pairs: true),
            C("weighted pairs with gaps flags decide", "weighted-contrastive", GapsFlagsDecide, pairs: true, gaps: true),
            C("weighted pairs with gaps threshold decides", "weighted-contrastive", GapsThresholdDecides, pairs: true, gaps: true),
            C("weighted pairs with gaps euclidean sum", "weighted-contrastive", new WeightedContrastiveOptions { Distance = DistanceKind.Euclidean, Margin = 4f, NormalizeWeights = false, Reduction = Reduction.Sum }, pairs: true, gaps: true),
            C("weighted custom margin only", "weighted-contrastive", new WeightedContrastiveOptions { GapFunction = ScoreGapFunction.Custom, CustomGapFunction = g => g * g / 4, WeightByGap = false, MarginByGap = true, MarginSlope = 0.1f, Reduction = Reduction.MeanOverActive }),
            C("weighted ranking form (target distance)", "weighted-contrastive", new WeightedContrastiveOptions { MarginByGap = true, TargetDistance = true, Margin = 0.9f }),
            C("weighted ranking form, pairs", "weighted-contrastive", new WeightedContrastiveOptions { MarginByGap = true, TargetDistance = true, Margin = 0.9f }, pairs: true),
            C("mse", "mse", new MseOptions { EmbeddingDimension = BatchData.D, ScoreOffset = 3f, ScoreScale = 2f, InitSeed = 5 }),
            C("mse within-patient", "mse", new MseOptions { EmbeddingDimension = BatchData.D, ScoreOffset = 3f, ScoreScale = 2f, InitSeed = 5, WithinPatientWeight = 16 }),
            C("rnc", "rnc", new RankNContrastOptions()),
            C("rnc cosine", "rnc", new RankNContrastOptions { Distance = DistanceKind.Cosine, Temperature = 0.5f }),
            C("rnc squared", "rnc", new RankNContrastOptions { Distance = DistanceKind.SquaredEuclidean, Temperature = 10f }),
            C("triplet provided", "triplet", new TripletOptions { Selection = TripletSelection.Provided, Margin = 1f }),
            C("triplet ignores a second view", "triplet", new TripletOptions { Margin = 1f }, secondView: true),
            C("mse ignores a second view", "mse", new MseOptions { EmbeddingDimension = BatchData.D }, secondView: true),
        };
        foreach (var selection in new[] { TripletSelection.BatchAll, TripletSelection.BatchHard, TripletSelection.SemiHard })
            foreach (var distance in Enum.GetValues<DistanceKind>())
                foreach (var penalty in Enum.GetValues<TripletPenalty>())
                {
                    float margin = distance is DistanceKind.Cosine or DistanceKind.NormalizedEuclidean ? 0.3f : distance == DistanceKind.Euclidean ? 1f : 4f;
                    var reduction = penalty == TripletPenalty.Hinge ? Reduction.MeanOverActive : Reduction.Mean;
                    all.Add(C($"triplet {selection} {distance} {penalty}", "triplet", new TripletOptions { Selection = selection, Distance = distance, Penalty = penalty, Margin = margin, Reduction = reduction }));
                }
        all.Add(C("triplet batch-all sum", "triplet", new TripletOptions { Selection = TripletSelection.BatchAll, Reduction = Reduction.Sum }));
        // Near-coincident scans (each patient's second scan 1e-3 from the first): the exact-difference path.
        all.Add(C("contrastive euclidean near-coincident", "contrastive", new ContrastiveOptions { Distance = DistanceKind.Euclidean, Margin = 4f }, near: true));
        all.Add(C("weighted squared near-coincident", "weighted-contrastive", new WeightedContrastiveOptions { Distance = DistanceKind.SquaredEuclidean, InterPatientOnly = false, Margin = 12f }, near: true));
        all.Add(C("triplet batch-all euclidean near-coincident", "triplet", new TripletOptions { Selection = TripletSelection.BatchAll, Distance = DistanceKind.Euclidean, Margin = 1f, Penalty = TripletPenalty.SoftPlus }, near: true));
        all.Add(C("rnc near-coincident", "rnc", new RankNContrastOptions(), near: true));
        return all;
    }

    [TorchSharpTheory]
    [MemberData(nameof(Cases))]
    public void Device_objective_matches_the_managed_one(Case c)
    {
        foreach (int seed in new[] { 1, 2 })
        {
            var data = c.Data(seed);
            var managed = c.Managed();
            using var device = c.OnDevice(TestDevice.Current);
            device.Name.Should().Be(managed.Name);
            device.Requires.Should().Be(managed.Requires);
            int n = BatchData.B * BatchData.D;
            float[] gm = new float[n], gd = new float[n], sm = new float[c.SecondView ? n : 0], sd = new float[c.SecondView ? n : 0];
            var rm = managed.Compute(data.Batch(), gm, sm);
            var rd = device.Compute(data.Batch(), gd, sd);
            Relative(rd.Loss, rm.Loss).Should().BeLessThan(Tolerance, $"{c} seed {seed}: loss {rd.Loss} vs managed {rm.Loss}");
            rd.ActiveCount.Should().Be(rm.ActiveCount, $"{c} seed {seed}");
            rd.Terms[0].Name.Should().Be(rm.Terms[0].Name);
            rd.Parts.Count.Should().Be(rm.Parts.Count, $"{c}: the same sub-terms");
            for (int p = 0; p < rm.Parts.Count; p++)
            {
                rd.Parts[p].Name.Should().Be(rm.Parts[p].Name);
                Math.Abs(rd.Parts[p].Value - rm.Parts[p].Value).Should().BeLessThan(Tolerance * Math.Max(1, Math.Abs(rm.Loss)), $"{c} seed {seed}: {rm.Parts[p].Name}");
            }
            rd.Mining.Pairs.Should().Be(rm.Mining.Pairs, $"{c}: pairs visited");
            rd.Mining.PositivePairs.Should().Be(rm.Mining.PositivePairs, $"{c}: positive pairs");
            rd.Mining.Triplets.Should().Be(rm.Mining.Triplets, $"{c}: triplets visited");
            rd.Mining.Anchors.Should().Be(rm.Mining.Anchors, $"{c}: anchors visited");
            rd.Mining.Active.Should().Be(rm.Mining.Active, $"{c}: active");
            GradientError(gd, gm).Should().BeLessThan(Tolerance, $"{c} seed {seed}: embedding gradient");
            if (c.SecondView) GradientError(sd, sm).Should().BeLessThan(Tolerance, $"{c} seed {seed}: second-view gradient");
            device.Parameters.Count.Should().Be(managed.Parameters.Count);
            for (int p = 0; p < managed.Parameters.Count; p++)
            {
                device.Parameters[p].Name.Should().Be(managed.Parameters[p].Name);
                device.Parameters[p].Value.ToArray().Should().Equal(managed.Parameters[p].Value.ToArray(), "the head starts from the same initialisation");
                GradientError(device.Parameters[p].Gradient.ToArray(), managed.Parameters[p].Gradient.ToArray()).Should().BeLessThan(Tolerance, $"{c}: {managed.Parameters[p].Name} gradient");
            }
            // The value alone (no gradient buffers) is the same number.
            device.Compute(data.Batch(), default).Loss.Should().BeApproximately(rd.Loss, 1e-6 * Math.Max(1, Math.Abs(rd.Loss)));
        }
    }

    [TorchSharpTheory]
    [MemberData(nameof(Cases))]
    public void Device_api_gives_the_same_loss_and_gradient_on_device_tensors(Case c)
    {
        var data = c.Data(3);
        using var objective = c.OnDevice(TestDevice.Current);
        int n = BatchData.B * BatchData.D;
        var g = new float[n];
        var host = objective.Compute(data.Batch(), g, c.SecondView ? new float[n] : default);
        using var scope = NewDisposeScope();
        var z = tensor(data.Embeddings, new long[] { BatchData.B, BatchData.D }).to(TestDevice.Current).requires_grad_(true);
        var v = c.SecondView ? tensor(data.SecondView, new long[] { BatchData.B, BatchData.D }).to(TestDevice.Current) : null;
        var metadata = new BatchMetadata
        {
            Scores = data.Scores, Labels = data.Labels,
            PatientIds = c.Patients ? data.Patients : ReadOnlyMemory<int>.Empty,
            Pairs = c.Pairs ? data.CurrentPairs : ReadOnlyMemory<IndexPair>.Empty,
            Triplets = data.Triplets,
        };
        var loss = objective.Loss(z, metadata, v);
        loss.Value.dim().Should().Be(0);
        loss.Value.item<float>().Should().BeApproximately((float)host.Loss, 1e-6f * Math.Max(1f, Math.Abs((float)host.Loss)));
        loss.ActiveCount.Should().Be(host.ActiveCount);
        loss.Value.backward();
        var grad = z.GradOrNull()!.cpu().data<float>().ToArray();
        // The same computation, but not bit for bit: libtorch 2.10 bundles MKL, whose matrix-vector products round
        // according to the buffers' alignment (the mse cases differed in the last bits in 3 of 6 runs).
        GradientError(grad, g).Should().BeLessThanOrEqualTo(SameComputation, "the same computation");
        loss.Parameters.Count.Should().Be(objective.Parameters.Count);
        for (int p = 0; p < loss.Parameters.Count; p++)
            GradientError(loss.Parameters[p].GradOrNull()!.cpu().data<float>().ToArray(), objective.Parameters[p].Gradient.ToArray())
                .Should().BeLessThanOrEqualTo(SameComputation, $"parameter {p}'s gradient is the same computation");
    }

    [Fact]
    public void The_provided_pair_cases_tell_flags_threshold_and_gaps_apart()
    {
        // Managed only (runs without libtorch): the parity cases above can fail. On their batches the flags and the
        // threshold disagree on some pairs and the gapped pairs' Δ differ from the scores', so a device loss that took
        // positives by the threshold, or ignored ScoreGap, would land on another managed value, far outside the tolerance.
        foreach (int seed in new[] { 1, 2, 3 })
        {
            var data = BatchData.Create(seed);
            data.WithPairs = true;
            data.Pairs.Should().Contain(p => p.Positive && Math.Abs(data.Scores[p.First] - data.Scores[p.Second]) > FlagsDecide.PositiveThreshold, "a flagged positive the threshold calls negative");
            data.Pairs.Should().Contain(p => !p.Positive && Math.Abs(data.Scores[p.First] - data.Scores[p.Second]) <= FlagsDecide.PositiveThreshold, "a flagged negative the threshold calls positive");
            data.GappedPairs.Select(p => p.ScoreGap).Should().Contain(float.NaN, "some pairs fall back to the scores").And.Contain(g => float.IsFinite(g));
            Relative(Managed(FlagsDecide, data), Managed(ThresholdDecides, data)).Should().BeGreaterThan(100 * Tolerance, $"seed {seed}: flags vs threshold");
            foreach (var o in new[] { GapsFlagsDecide, GapsThresholdDecides })
            {
                data.WithGaps = false;
                double plain = Managed(o, data);
                data.WithGaps = true;
                Relative(Managed(o, data), plain).Should().BeGreaterThan(100 * Tolerance, $"seed {seed} {o}: the gaps change the loss");
            }
        }

        static double Managed(WeightedContrastiveOptions o, BatchData d) => new WeightedContrastiveLoss(o).Compute(d.Batch(), default).Loss;
    }

    [TorchSharpFact]
    public void Device_weighted_loss_takes_positives_from_the_pair_flags_and_gaps_from_the_pairs()
    {
        // The managed objective's closed-form example on the device: two orthogonal rows (cosine distance d = 1), scores
        // 0 and 1 (Δ = 1), threshold 0.5, margin 3, unnormalised linear weights g(Δ) = Δ.
        float[] e = { 1, 0, 0, 1 };
        float[] scores = { 0, 1 };
        var o = new WeightedContrastiveOptions { PositiveThreshold = 0.5f, Margin = 3f, NormalizeWeights = false };
        var byThreshold = o with { PositivesFromPairs = false };
        double Loss(WeightedContrastiveOptions options, IndexPair pair)
        {
            using var objective = new TorchSharpWeightedContrastiveLoss(options, TestDevice.Current);
            return objective.Compute(new EmbeddingBatch(e, 2, 2) { Scores = scores, Pairs = new[] { pair } }, default).Loss;
        }
        Loss(o, new IndexPair(0, 1, true)).Should().BeApproximately(1, 1e-6, "the sampler's positive flag wins over the threshold: d²");
        Loss(byThreshold, new IndexPair(0, 1, true)).Should().BeApproximately(4, 1e-5, "by the threshold Δ = 1 is a negative: g(1)·(3 − d)²");
        Loss(o, new IndexPair(0, 1, false, 3f)).Should().BeApproximately(12, 1e-5, "a finite ScoreGap is the pair's Δ: g(3)·(3 − d)²");
        Loss(o, new IndexPair(0, 1, false, 0.4f)).Should().BeApproximately(1.6, 1e-5, "a flagged negative below the threshold is still weighted by g(Δ)");
        Loss(byThreshold, new IndexPair(0, 1, false, 0.4f)).Should().BeApproximately(1, 1e-6, "by the threshold the pair's gap 0.4 makes it a positive: d²");
        Loss(byThreshold, new IndexPair(0, 1, false)).Should().BeApproximately(4, 1e-5, "without a gap Δ comes from the scores");
    }

    [TorchSharpFact]
    public void Batches_without_positives_or_pairs_give_zero_loss_and_zero_gradient_as_managed()
    {
        var data = BatchData.Create(4);
        for (int i = 0; i < BatchData.B; i++) data.Labels[i] = i;          // no positives anywhere
        foreach (var (name, options) in new (string, ObjectiveOptions)[]
        {
            ("supcon", new SupConOptions()),
            ("triplet", new TripletOptions { Selection = TripletSelection.BatchHard }),
            ("triplet", new TripletOptions { Selection = TripletSelection.BatchAll }),
            ("triplet", new TripletOptions { Selection = TripletSelection.SemiHard }),
        })
        {
            using var device = TorchSharpObjectives.Create(name, options, TestDevice.Current);
            var managed = ObjectiveRegistry.CreateDefault().Create(name, options);
            var gd = Enumerable.Repeat(7f, BatchData.B * BatchData.D).ToArray();
            var gm = new float[gd.Length];
            var rd = device.Compute(data.Batch(), gd);
            var rm = managed.Compute(data.Batch(), gm);
            rd.Loss.Should().Be(0); rm.Loss.Should().Be(0);
            rd.ActiveCount.Should().Be(0);
            gd.Should().OnlyContain(x => x == 0f, $"{name} {options}: stale buffer contents are overwritten");
        }
        // One scan: Rank-N-Contrast and y-aware InfoNCE have nothing to contrast.
        var one = new float[BatchData.D];
        foreach (var name in new[] { "rnc", "y-aware" })
        {
            using var device = TorchSharpObjectives.Create(name, null, TestDevice.Current);
            var g = Enumerable.Repeat(1f, BatchData.D).ToArray();
            var r = device.Compute(new EmbeddingBatch(one, 1, BatchData.D) { Scores = new[] { 1f } }, g);
            r.Loss.Should().Be(0); r.ActiveCount.Should().Be(0);
            g.Should().OnlyContain(x => x == 0f);
        }
    }

    [TorchSharpFact]
    public void Bad_batches_throw_what_the_managed_objectives_throw()
    {
        var data = BatchData.Create(5);
        int n = BatchData.B * BatchData.D;
        var cases = new List<(string Name, ObjectiveOptions? Options, Func<BatchData, float[]?> Mutate)>
        {
            ("supcon", null, d => { d.Labels = new int[3]; return null; }),
            ("triplet", null, d => { d.Labels = Array.Empty<int>(); return null; }),
            ("triplet", new TripletOptions { Selection = TripletSelection.Provided }, d => { d.Triplets = Array.Empty<IndexTriplet>(); return null; }),
            ("triplet", new TripletOptions { Selection = TripletSelection.Provided }, d => { d.Triplets = new[] { new IndexTriplet(0, 1, 99) }; return null; }),
            ("contrastive", null, d => { d.WithPairs = true; d.Pairs = new[] { new IndexPair(0, -1, true) }; return null; }),
            ("contrastive", null, d => { d.Labels = new int[1]; return null; }),
            ("weighted-contrastive", null, d => { d.Scores = new float[2]; return null; }),
            ("weighted-contrastive", null, d => { d.Scores[3] = float.NaN; return null; }),
            ("weighted-contrastive", null, d => { d.Patients = new int[5]; return null; }),
            ("weighted-contrastive", new WeightedContrastiveOptions { GapFunction = ScoreGapFunction.Custom, CustomGapFunction = _ => -1 }, _ => null),
            ("weighted-contrastive", null, d => { d.WithPairs = true; d.Pairs = new[] { new IndexPair(0, 3, true), new IndexPair(1, 4, false, -2f) }; return null; }),
            ("weighted-contrastive", null, d => { d.WithPairs = true; d.Pairs = new[] { new IndexPair(0, 12, false, 1f) }; return null; }),
            ("infonce", null, d => { d.WithSecondView = false; return null; }),
            ("infonce", null, d => { d.WithSecondView = true; d.SecondView[17] = float.PositiveInfinity; return null; }),
            ("y-aware", null, d => { d.Embeddings[9] = float.NaN; return null; }),
            ("rnc", null, d => { d.Scores = Array.Empty<float>(); return null; }),
            ("mse", new MseOptions { EmbeddingDimension = 3 }, _ => null),
            ("mse", new MseOptions { EmbeddingDimension = BatchData.D }, d => { d.Scores = new float[1]; return null; }),
            ("mse", new MseOptions { EmbeddingDimension = BatchData.D, WithinPatientWeight = 2 }, d => { d.WithPatients = false; return null; }),
            ("mse", new MseOptions { EmbeddingDimension = BatchData.D, WithinPatientWeight = 2 }, d => { d.Patients = new int[3]; return null; }),
            ("supcon", null, _ => new float[5]),
            ("supcon", null, d => { d.WithSecondView = true; d.SecondView = new float[5]; return null; }),
        };
        foreach (var (name, options, mutate) in cases)
        {
            var managedData = BatchData.Create(5);
            var deviceData = BatchData.Create(5);
            var gm = mutate(managedData) ?? new float[n];
            var gd = mutate(deviceData) ?? new float[n];
            var managed = ObjectiveRegistry.CreateDefault().Create(name, options);
            using var device = TorchSharpObjectives.Create(name, options, TestDevice.Current);
            var expected = Catch(() => managed.Compute(managedData.Batch(), gm));
            var actual = Catch(() => device.Compute(deviceData.Batch(), gd));
            expected.Should().NotBeNull($"{name}: the managed objective rejects this batch");
            actual.Should().NotBeNull($"{name}: the device objective rejects it too ({expected!.Message})");
            actual!.GetType().Should().Be(expected!.GetType(), name);
            actual.Message.Should().Be(expected.Message, name);
        }
    }

    [TorchSharpFact]
    public void A_TorchSharp_loop_trains_through_the_device_api()
    {
        // The loop of docs/torchsharp.md: module output → Loss → backward → optimizer, never leaving the device.
        _ = manual_seed(4);
        var net = nn.Sequential(("0", nn.Linear(6, 16)), ("1", nn.ReLU()), ("2", nn.Linear(16, 4)));
        var optimizer = optim.AdamW(net.parameters(), 1e-2);
        using var objective = new TorchSharpWeightedContrastiveLoss(new WeightedContrastiveOptions { MarginByGap = true }, CPU);
        var rng = new Rng(5);
        var scores = Enumerable.Range(0, 16).Select(_ => (float)(rng.NextDouble() * 4)).ToArray();
        var features = new float[16 * 6];
        for (int i = 0; i < 16; i++)
            for (int j = 0; j < 6; j++) features[i * 6 + j] = scores[i] * (j % 2 == 0 ? 1 : -1) + (float)rng.NextGaussian();
        var metadata = new BatchMetadata { Scores = scores, PatientIds = Enumerable.Range(0, 16).Select(i => i / 2).ToArray() };
        using var x = tensor(features, new long[] { 16, 6 });
        var losses = new List<float>();
        for (int step = 0; step < 40; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = objective.Loss(net.call(x), metadata);
            losses.Add(loss.Value.item<float>());
            loss.Value.backward();
            optimizer.step();
        }
        losses[^1].Should().BeLessThan(0.5f * losses[0], "training through the device loss lowers it");
    }

    [TorchSharpFact]
    public void A_disposed_objective_refuses_work()
    {
        var objective = new TorchSharpRankNContrastLoss(device: CPU);
        objective.Dispose();
        objective.Dispose();
        var data = BatchData.Create(9);
        FluentActions.Invoking(() => objective.Compute(data.Batch(), default)).Should().Throw<ObjectDisposedException>();
        FluentActions.Invoking(() => objective.Loss(ones(2, 2), new BatchMetadata { Scores = new[] { 1f, 2f } })).Should().Throw<ObjectDisposedException>();
    }

    [TorchSharpFact]
    public void Device_api_rejects_tensors_that_do_not_fit()
    {
        using var objective = new TorchSharpSupConLoss(device: CPU);
        var metadata = new BatchMetadata { Labels = new[] { 0, 0, 1 } };
        using var scope = NewDisposeScope();
        var ok = ones(3, 4);
        objective.Loss(ok, metadata).ActiveCount.Should().Be(2);
        FluentActions.Invoking(() => objective.Loss(ones(3, 4, 1), metadata)).Should().Throw<ObjectiveInputException>().WithMessage("*B×D matrix*[3, 4, 1]*");
        FluentActions.Invoking(() => objective.Loss(ones(3, 4, ScalarType.Float64), metadata)).Should().Throw<ObjectiveInputException>().WithMessage("*float32*Float64*");
        FluentActions.Invoking(() => objective.Loss(ones(3, 4), new BatchMetadata { Labels = new[] { 0, 1 } })).Should().Throw<ObjectiveInputException>().WithMessage("*one coarse label per row*expected 3, got 2*");
        var nan = ones(3, 4);
        nan[1, 2] = tensor(float.NaN);
        FluentActions.Invoking(() => objective.Loss(nan, metadata)).Should().Throw<NonFiniteEmbeddingException>().Where(e => e.Row == 1 && e.Column == 2);
        using var infonce = new TorchSharpInfoNceLoss(device: CPU);
        FluentActions.Invoking(() => infonce.Loss(ok, null, ones(2, 4))).Should().Throw<ObjectiveInputException>().WithMessage("*second view*[2, 4]*[3, 4]*");
        FluentActions.Invoking(() => infonce.Loss(ok)).Should().Throw<ObjectiveInputException>().WithMessage("InfoNCE needs a second view*");
    }

    [TorchSharpFact]
    public void Registry_resolves_the_built_in_names_to_device_objectives_and_composes_them()
    {
        var registry = TorchSharpObjectives.CreateRegistry(CPU);
        foreach (var name in TorchSharpObjectives.Names)
        {
            ObjectiveOptions? options = name == "mse" ? new MseOptions { EmbeddingDimension = 4 } : null;
            using var o = (TorchSharpObjective)registry.Create(name, options);
            o.Name.Should().Be(name);
            o.Device.type.Should().Be(DeviceType.CPU);
        }
        FluentActions.Invoking(() => TorchSharpObjectives.Create("arcface", null, CPU)).Should().Throw<KeyNotFoundException>().WithMessage("*arcface*weighted-contrastive*");
        FluentActions.Invoking(() => TorchSharpObjectives.Create("mse", null, CPU)).Should().Throw<ArgumentException>().WithMessage("*EmbeddingDimension*");
        FluentActions.Invoking(() => TorchSharpObjectives.Create("supcon", new InfoNceOptions(), CPU)).Should().Throw<ArgumentException>().WithMessage("*SupConOptions*InfoNceOptions*");
        FluentActions.Invoking(() => new TorchSharpTripletLoss(new TripletOptions { Margin = -1 }, CPU)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*Margin*");

        // A composite of device objectives equals the managed composite.
        var composite = new CompositeOptions
        {
            Terms = new[]
            {
                new CompositeTermOptions("mse", 0.5, new MseOptions { EmbeddingDimension = BatchData.D, InitSeed = 3 }),
                new CompositeTermOptions("weighted-contrastive", 2.0),
            },
        };
        var data = BatchData.Create(6);
        using var onDevice = (CompositeObjective)registry.Create("composite", composite);
        var managed = ObjectiveRegistry.CreateDefault().Create("composite", composite);
        var gd = new float[BatchData.B * BatchData.D];
        var gm = new float[gd.Length];
        var rd = onDevice.Compute(data.Batch(), gd);
        var rm = managed.Compute(data.Batch(), gm);
        Relative(rd.Loss, rm.Loss).Should().BeLessThan(Tolerance);
        GradientError(gd, gm).Should().BeLessThan(Tolerance);
        onDevice.Parameters.Select(p => p.Name).Should().Equal(managed.Parameters.Select(p => p.Name));
    }

    [TorchSharpFact]
    public void Objective_specs_build_through_the_recipes_with_the_device_registry_as_with_the_managed_one()
    {
        // The experiment's path: ObjectiveRecipes.Build(spec, context, backend.Objectives). The device registry has the
        // managed names and options types, so the recipes' cohort-scaled defaults and the spec's overrides reach the device
        // objectives unchanged: the same loss and gradient on a batch of gapped sampler pairs.
        var context = new ObjectiveContext(BatchData.D, 3, CohortStatistics.FromMoments(3, 1.5));
        var deviceRegistry = TorchSharpObjectives.CreateRegistry(TestDevice.Current);
        var data = BatchData.Create(7);
        data.WithPairs = data.WithGaps = true;
        int n = BatchData.B * BatchData.D;
        foreach (var text in new[]
        {
            "weighted-contrastive", "weighted-contrastive(positivesFromPairs=false)", "weighted-contrastive(marginByGap=true, useProvidedPairs=false)",
            "mse", "y-aware", "contrastive", "rnc", "mse+0.5*weighted-contrastive(marginByGap=true)", "weighted-ranking", "mse+weighted-ranking",
            "mse-within-patient", "mse-within-patient+3*weighted-contrastive",
        })
        {
            var spec = ObjectiveSpec.Parse(text);
            var managed = ObjectiveRecipes.Default.Build(spec, context, ObjectiveRegistry.CreateDefault());
            var device = ObjectiveRecipes.Default.Build(spec, context, deviceRegistry);
            try
            {
                device.Name.Should().Be(managed.Name, text);
                if (device is CompositeObjective composite)
                    composite.Terms.Should().OnlyContain(t => t.Objective is TorchSharpObjective, $"{text}: a composite of device objectives");
                else device.Should().BeAssignableTo<TorchSharpObjective>(text);
                float[] gm = new float[n], gd = new float[n];
                var rm = managed.Compute(data.Batch(), gm);
                var rd = device.Compute(data.Batch(), gd);
                Relative(rd.Loss, rm.Loss).Should().BeLessThan(Tolerance, $"{text}: loss {rd.Loss} vs managed {rm.Loss}");
                GradientError(gd, gm).Should().BeLessThan(Tolerance, $"{text}: embedding gradient");
            }
            finally
            {
                (device as IDisposable)?.Dispose();
            }
        }
    }

    [TorchSharpFact]
    public void Objectives_have_exact_gradients_by_finite_differences_in_double_precision()
    {
        // The dense device formulations (Rank-N-Contrast, mined triplets, the weighted loss, the softmax losses) against
        // central differences of the device loss itself (float32, h = 1e-2; smooth penalties so no hinge kink is crossed).
        var data = BatchData.Create(8);
        foreach (var (name, options, gappedPairs) in new (string, ObjectiveOptions?, bool)[]
        {
            ("rnc", null, false), ("weighted-contrastive", new WeightedContrastiveOptions { MarginByGap = true }, false),
            ("weighted-contrastive", GapsFlagsDecide, true),
            ("triplet", new TripletOptions { Selection = TripletSelection.SemiHard, Penalty = TripletPenalty.SoftPlus }, false),
            ("triplet", new TripletOptions { Selection = TripletSelection.BatchAll, Penalty = TripletPenalty.SoftPlus, Distance = DistanceKind.Cosine }, false),
            ("y-aware", null, false), ("supcon", null, false),
        })
        {
            data.WithPairs = data.WithGaps = gappedPairs;
            using var objective = TorchSharpObjectives.Create(name, options, TestDevice.Current);
            var g = new float[data.Embeddings.Length];
            objective.Compute(data.Batch(), g);
            var rng = new Rng(11);
            for (int probe = 0; probe < 6; probe++)
            {
                int k = rng.NextInt(g.Length);
                const float h = 1e-2f;
                float x = data.Embeddings[k];
                data.Embeddings[k] = x + h;
                double up = objective.Compute(data.Batch(), default).Loss;
                data.Embeddings[k] = x - h;
                double down = objective.Compute(data.Batch(), default).Loss;
                data.Embeddings[k] = x;
                double numeric = (up - down) / (2 * h);
                Math.Abs(numeric - g[k]).Should().BeLessThan(2e-3 + 2e-2 * Math.Abs(g[k]), $"{name} {options} at {k}: numeric {numeric}, autograd {g[k]}");
            }
        }
    }

    private static Exception? Catch(Action a)
    {
        try { a(); return null; }
        catch (Exception e) { return e; }
    }

    private static double Relative(double actual, double expected) => Math.Abs(actual - expected) / Math.Max(Math.Abs(expected), 1e-3);

    /// <summary>Largest difference, relative to the largest reference entry, between two runs of the same device
    /// computation (rounding only).</summary>
    private const double SameComputation = 1e-5;

    private static double GradientError(float[] actual, float[] expected)
    {
        double scale = 0, err = 0;
        for (int i = 0; i < expected.Length; i++) { scale = Math.Max(scale, Math.Abs(expected[i])); err = Math.Max(err, Math.Abs(actual[i] - expected[i])); }
        return scale == 0 ? err : err / scale;
    }
}
