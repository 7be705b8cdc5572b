using Learner.Objectives;
using Learner.Objectives.Distances;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using static Learner.Tests.Objectives.ObjectiveHarness;

namespace Learner.Tests.Objectives;

/// <summary>Every objective's value against a float64 reference and its gradient against central finite differences of
/// that reference: random batches, duplicate embeddings, zero vectors, one-class batches and B = 2.</summary>
public class GradientCheckTests
{
    static RefBatch Duplicate(RefBatch r)
    {
        var e = (double[])r.E.Clone();
        Array.Copy(e, 0, e, r.D, r.D);
        return r.With(e, r.V);
    }

    static RefBatch Zero(RefBatch r, int row)
    {
        var e = (double[])r.E.Clone();
        Array.Clear(e, row * r.D, r.D);
        return r.With(e, r.V);
    }

    static RefBatch OneClass(RefBatch r) => new()
    {
        E = r.E, B = r.B, D = r.D, V = r.V, Scores = r.Scores, Labels = new int[r.B], Patients = r.Patients, Pairs = r.Pairs, Triplets = r.Triplets,
    };

    static IEnumerable<(string Name, RefBatch Batch)> Cases(int seed, bool view = false, bool zero = true, int patients = 0, bool pairs = false, bool triplets = false, bool duplicates = true)
    {
        var r = Random(seed, 7, 5, view, 3, patients, pairs, triplets);
        yield return ("random", r);
        yield return ("random B=9 D=3", Random(seed + 100, 9, 3, view, 2, patients, pairs, triplets));
        if (duplicates) yield return ("duplicates", Duplicate(r));
        if (zero) yield return ("zero vector", Zero(r, 2));
        yield return ("one class", OneClass(r));
        yield return ("B=2", Random(seed + 200, 2, 4, view, 2, patients > 0 ? 2 : 0, pairs, triplets));
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(2.5, 3)]
    [InlineData(64.0, 2)]
    public void Mse_value_and_gradients_of_embeddings_and_head(double withinPatientWeight, int patients)
    {
        foreach (var (name, r) in Cases(1, patients: patients))
        {
            var o = new MseOptions { EmbeddingDimension = r.D, ScoreOffset = 1.5f, ScoreScale = 0.8f, InitSeed = 3, WithinPatientWeight = withinPatientWeight };
            var mse = new MseScoreRegression(o);
            double[] w = mse.HeadWeight.Data.ToArray().Select(v => (double)v).ToArray();
            double bias = 0.25;
            mse.HeadBias.Data[0] = (float)bias;
            Check(mse, b => ReferenceObjectives.Mse(b, w, bias, o), r, $"mse λ {withinPatientWeight} {name}", normalizes: false);
            // Head gradients by central differences on w and b.
            var wg = new double[r.D];
            for (int k = 0; k < r.D; k++)
            {
                var wp = (double[])w.Clone(); wp[k] += 1e-6;
                var wm = (double[])w.Clone(); wm[k] -= 1e-6;
                wg[k] = (ReferenceObjectives.Mse(r, wp, bias, o) - ReferenceObjectives.Mse(r, wm, bias, o)) / 2e-6;
            }
            CompareGradient(mse.HeadWeightGradient.Data.ToArray(), wg, r.D, $"mse {name} head weight", 2e-4);
            double bg = (ReferenceObjectives.Mse(r, w, bias + 1e-6, o) - ReferenceObjectives.Mse(r, w, bias - 1e-6, o)) / 2e-6;
            mse.HeadBiasGradient.Data[0].Should().BeApproximately((float)bg, 1e-4f + 1e-4f * (float)Math.Abs(bg), $"mse {name} head bias");
        }
    }

    [Theory]
    [InlineData(DistanceKind.Cosine, 0.9f, Reduction.Mean)]
    [InlineData(DistanceKind.Euclidean, 3.2f, Reduction.Mean)]
    [InlineData(DistanceKind.SquaredEuclidean, 9f, Reduction.MeanOverActive)]
    [InlineData(DistanceKind.Cosine, 1.1f, Reduction.Sum)]
    public void Contrastive_all_pairs_by_label(DistanceKind distance, float margin, Reduction reduction)
    {
        var o = new ContrastiveOptions { Distance = distance, Margin = margin, Reduction = reduction };
        foreach (var (name, r) in Cases(2))
            Check(new ContrastiveLoss(o), b => ReferenceObjectives.Contrastive(b, o), r, $"contrastive {distance} {name}", distance == DistanceKind.Cosine);
    }

    [Theory]
    [InlineData(DistanceKind.NormalizedEuclidean, 1f, 0f, Reduction.PositiveNegativeMeansOverActive)]
    [InlineData(DistanceKind.NormalizedEuclidean, 0.9f, 0.2f, Reduction.PositiveNegativeMeansOverActive)]
    [InlineData(DistanceKind.Euclidean, 3f, 0.5f, Reduction.MeanOverActive)]
    [InlineData(DistanceKind.Cosine, 0.8f, 0.1f, Reduction.Mean)]
    public void Contrastive_unsquared_with_positive_margin(DistanceKind distance, float margin, float positiveMargin, Reduction reduction)
    {
        var o = ContrastiveOptions.PytorchMetricLearning with { Distance = distance, Margin = margin, PositiveMargin = positiveMargin, Reduction = reduction };
        // A zero row lies at normalised distance exactly 1 from every other row: on a margin of 1, whether its negative
        // terms count as non-zero (and so the mean's divisor) is decided by rounding, so that case is left out there.
        bool zeroOnMargin = distance == DistanceKind.NormalizedEuclidean && margin == 1f;
        foreach (var (name, r) in Cases(12, zero: !zeroOnMargin))
            Check(new ContrastiveLoss(o), b => ReferenceObjectives.Contrastive(b, o), r, $"contrastive unsquared {distance} {reduction} {name}", distance != DistanceKind.Euclidean);
        var squared = o with { Squared = true };
        foreach (var (name, r) in Cases(13, pairs: true, zero: !zeroOnMargin))
            Check(new ContrastiveLoss(squared with { UseProvidedPairs = true }), b => ReferenceObjectives.Contrastive(b, squared with { UseProvidedPairs = true }), r,
                $"contrastive squared m+={positiveMargin} {distance} {reduction} pairs {name}", distance != DistanceKind.Euclidean);
    }

    [Theory]
    [InlineData(false, SimilarityKind.Cosine, 0.07f, true)]
    [InlineData(false, SimilarityKind.Cosine, 0.5f, true)]
    [InlineData(true, SimilarityKind.Cosine, 0.2f, true)]
    [InlineData(true, SimilarityKind.Cosine, 0.2f, false)]
    [InlineData(false, SimilarityKind.Dot, 1f, true)]
    public void NtXent_with_labels(bool secondView, SimilarityKind similarity, float temperature, bool labels)
    {
        var o = new NtXentOptions { Temperature = temperature, Similarity = similarity };
        foreach (var (name, r0) in Cases(14, view: secondView))
        {
            // Without coarse labels each scan is its own class (SimCLR's NT-Xent over the two views).
            var r = labels ? r0 : new RefBatch { E = r0.E, B = r0.B, D = r0.D, V = r0.V, Labels = Enumerable.Range(0, r0.B).ToArray() };
            Check(new NtXentLoss(o), b => ReferenceObjectives.NtXent(b, o), r, $"ntxent view={secondView} labels={labels} {similarity} {name}", similarity == SimilarityKind.Cosine);
        }
    }

    [Theory]
    [InlineData(DistanceKind.Cosine)]
    [InlineData(DistanceKind.Euclidean)]
    public void Contrastive_explicit_pairs_and_inter_patient_filter(DistanceKind distance)
    {
        var explicitPairs = new ContrastiveOptions { Distance = distance, Margin = distance == DistanceKind.Cosine ? 0.9f : 3.2f };
        foreach (var (name, r) in Cases(3, pairs: true))
            Check(new ContrastiveLoss(explicitPairs), b => ReferenceObjectives.Contrastive(b, explicitPairs), r, $"contrastive pairs {name}", distance == DistanceKind.Cosine);
        var inter = explicitPairs with { InterPatientOnly = true };
        foreach (var (name, r) in Cases(4, patients: 3))
            Check(new ContrastiveLoss(inter), b => ReferenceObjectives.Contrastive(b, inter), r, $"contrastive inter-patient {name}", distance == DistanceKind.Cosine);
    }

    public static TheoryData<string, WeightedContrastiveOptions> WeightedConfigs() => new()
    {
        { "linear weight", new WeightedContrastiveOptions { Margin = 0.9f, PositiveThreshold = 0.3f } },
        { "sqrt weight+margin", new WeightedContrastiveOptions { Margin = 0.5f, GapFunction = ScoreGapFunction.Sqrt, MarginByGap = true, MarginSlope = 0.4f, PositiveThreshold = 0.2f } },
        { "exp margin only", new WeightedContrastiveOptions { Margin = 0.3f, GapFunction = ScoreGapFunction.Exp, GapScale = 2f, WeightByGap = false, MarginByGap = true } },
        { "custom euclidean unnormalised", new WeightedContrastiveOptions { Distance = DistanceKind.Euclidean, Margin = 3f, GapFunction = ScoreGapFunction.Custom, CustomGapFunction = g => g * g + 0.1 * g, NormalizeWeights = false, PositiveThreshold = 0.5f } },
        { "ranking: target distance by gap", new WeightedContrastiveOptions { Margin = 0.1f, WeightByGap = false, MarginByGap = true, MarginSlope = 0.3f, TargetDistance = true, PositiveThreshold = 0.2f } },
        { "ranking weighted sqrt euclidean", new WeightedContrastiveOptions { Distance = DistanceKind.Euclidean, Margin = 0.5f, GapFunction = ScoreGapFunction.Sqrt, MarginByGap = true, MarginSlope = 1f, TargetDistance = true, PositiveThreshold = 0.3f } },
        { "linear squared-euclidean all patients", new WeightedContrastiveOptions { Distance = DistanceKind.SquaredEuclidean, Margin = 9f, InterPatientOnly = false, Reduction = Reduction.Sum } },
    };

    [Theory]
    [MemberData(nameof(WeightedConfigs))]
    public void Weighted_contrastive(string config, WeightedContrastiveOptions o)
    {
        foreach (var (name, r) in Cases(5, patients: 4))
            Check(new WeightedContrastiveLoss(o), b => ReferenceObjectives.WeightedContrastive(b, o), r, $"weighted {config} {name}", o.Distance == DistanceKind.Cosine);
        // Provided pairs three ways: the sampler's flags decide (default), the threshold decides (flags ignored), and the
        // sampler's own score gaps (here deliberately different from |s_i − s_j|, to show they are the ones used).
        foreach (var (name, r) in Cases(6, pairs: true))
        {
            Check(new WeightedContrastiveLoss(o), b => ReferenceObjectives.WeightedContrastive(b, o), r, $"weighted {config} pairs {name}", o.Distance == DistanceKind.Cosine);
            var byThreshold = o with { PositivesFromPairs = false };
            Check(new WeightedContrastiveLoss(byThreshold), b => ReferenceObjectives.WeightedContrastive(b, byThreshold), r, $"weighted {config} pairs by threshold {name}", o.Distance == DistanceKind.Cosine);
            var gapped = WithPairGaps(r, 10 + name.Length);
            Check(new WeightedContrastiveLoss(o), b => ReferenceObjectives.WeightedContrastive(b, o), gapped, $"weighted {config} pairs with gaps {name}", o.Distance == DistanceKind.Cosine);
        }
    }

    /// <summary>The batch with a finite, seeded score gap on every provided pair.</summary>
    static RefBatch WithPairGaps(RefBatch r, int seed)
    {
        var rng = new Learner.Nn.Rng((ulong)seed);
        return new RefBatch
        {
            E = r.E, B = r.B, D = r.D, V = r.V, Scores = r.Scores, Labels = r.Labels, Patients = r.Patients, Triplets = r.Triplets,
            Pairs = r.Pairs!.Select(p => p with { ScoreGap = (float)(rng.NextDouble() * 3) }).ToArray(),
        };
    }

    [Fact]
    public void Weighted_contrastive_takes_positives_from_the_pair_flags_and_gaps_from_the_pairs()
    {
        // Two rows, one pair with Δ = 1 between the scores: above the threshold 0.5, so a negative by the threshold.
        float[] e = { 1, 0, 0, 1 };
        float[] scores = { 0, 1 };
        var positivePair = new[] { new IndexPair(0, 1, true) };
        var o = new WeightedContrastiveOptions { Margin = 2f, PositiveThreshold = 0.5f, NormalizeWeights = false };
        double d = 1; // cosine distance of orthogonal unit rows
        new WeightedContrastiveLoss(o).Compute(new EmbeddingBatch(e, 2, 2) { Scores = scores, Pairs = positivePair }, Span<float>.Empty)
            .Loss.Should().BeApproximately(d * d, 1e-6, "the sampler's positive flag wins over the threshold");
        new WeightedContrastiveLoss(o with { PositivesFromPairs = false }).Compute(new EmbeddingBatch(e, 2, 2) { Scores = scores, Pairs = positivePair }, Span<float>.Empty)
            .Loss.Should().BeApproximately(1 * (2 - d) * (2 - d), 1e-6, "by the threshold Δ = 1 is a negative weighted by g(1) = 1");
        var gapped = new[] { new IndexPair(0, 1, false, 3f) };
        new WeightedContrastiveLoss(o).Compute(new EmbeddingBatch(e, 2, 2) { Scores = scores, Pairs = gapped }, Span<float>.Empty)
            .Loss.Should().BeApproximately(3 * (2 - d) * (2 - d), 1e-5, "a finite ScoreGap is the pair's Δ (weight g(3) = 3)");
    }

    [Theory]
    [InlineData(TripletSelection.BatchHard, TripletPenalty.Hinge, DistanceKind.Euclidean, Reduction.Mean)]
    [InlineData(TripletSelection.BatchHard, TripletPenalty.SoftPlus, DistanceKind.Cosine, Reduction.Mean)]
    [InlineData(TripletSelection.BatchAll, TripletPenalty.Hinge, DistanceKind.Euclidean, Reduction.MeanOverActive)]
    [InlineData(TripletSelection.BatchAll, TripletPenalty.SoftPlus, DistanceKind.SquaredEuclidean, Reduction.Mean)]
    [InlineData(TripletSelection.BatchAll, TripletPenalty.Hinge, DistanceKind.Cosine, Reduction.Sum)]
    [InlineData(TripletSelection.SemiHard, TripletPenalty.Hinge, DistanceKind.Euclidean, Reduction.Mean)]
    [InlineData(TripletSelection.SemiHard, TripletPenalty.SoftPlus, DistanceKind.Cosine, Reduction.Mean)]
    [InlineData(TripletSelection.Provided, TripletPenalty.Hinge, DistanceKind.Euclidean, Reduction.Mean)]
    [InlineData(TripletSelection.BatchAll, TripletPenalty.Hinge, DistanceKind.NormalizedEuclidean, Reduction.MeanOverActive)]
    [InlineData(TripletSelection.BatchHard, TripletPenalty.Hinge, DistanceKind.NormalizedEuclidean, Reduction.MeanOverActive)]
    [InlineData(TripletSelection.Provided, TripletPenalty.SoftPlus, DistanceKind.NormalizedEuclidean, Reduction.Sum)]
    public void Triplet(TripletSelection selection, TripletPenalty penalty, DistanceKind distance, Reduction reduction)
    {
        float margin = distance switch { DistanceKind.Cosine or DistanceKind.NormalizedEuclidean => 0.2f, DistanceKind.Euclidean => 0.5f, _ => 2f };
        var o = new TripletOptions { Selection = selection, Penalty = penalty, Distance = distance, Margin = margin, Reduction = reduction };
        // Mined selections (hardest / semi-hard) are discontinuous where two candidates tie; duplicate rows and, for the
        // cosine distance, a zero row (at distance 1 from everything) create such ties, so those cases are checked
        // only where no selection is made (batch-all, provided triplets).
        bool mined = selection is TripletSelection.BatchHard or TripletSelection.SemiHard;
        bool cosine = distance is DistanceKind.Cosine or DistanceKind.NormalizedEuclidean;
        foreach (var (name, r) in Cases(7, triplets: true, duplicates: !mined, zero: !(mined && cosine)))
            Check(new TripletLoss(o), b => ReferenceObjectives.Triplet(b, o), r, $"triplet {selection} {penalty} {distance} {name}", cosine);
    }

    [Theory]
    [InlineData(InfoNceVariant.CrossView, SimilarityKind.Cosine, 0.1f)]
    [InlineData(InfoNceVariant.Symmetric, SimilarityKind.Cosine, 0.5f)]
    [InlineData(InfoNceVariant.NtXent, SimilarityKind.Cosine, 0.2f)]
    [InlineData(InfoNceVariant.CrossView, SimilarityKind.Dot, 1f)]
    [InlineData(InfoNceVariant.NtXent, SimilarityKind.Dot, 2f)]
    public void InfoNce(InfoNceVariant variant, SimilarityKind similarity, float temperature)
    {
        var o = new InfoNceOptions { Variant = variant, Similarity = similarity, Temperature = temperature };
        foreach (var (name, r) in Cases(8, view: true))
            Check(new InfoNceLoss(o), b => ReferenceObjectives.InfoNce(b, o), r, $"infonce {variant} {similarity} {name}", similarity == SimilarityKind.Cosine);
    }

    [Theory]
    [InlineData(false, SimilarityKind.Cosine, 0.1f)]
    [InlineData(true, SimilarityKind.Cosine, 0.3f)]
    [InlineData(false, SimilarityKind.Dot, 1f)]
    public void SupCon(bool secondView, SimilarityKind similarity, float temperature)
    {
        var o = new SupConOptions { Similarity = similarity, Temperature = temperature };
        foreach (var (name, r) in Cases(9, view: secondView))
            Check(new SupConLoss(o), b => ReferenceObjectives.SupCon(b, o), r, $"supcon view={secondView} {name}", similarity == SimilarityKind.Cosine);
    }

    [Theory]
    [InlineData(false, 0.1f, 1f)]
    [InlineData(true, 0.3f, 0.5f)]
    [InlineData(false, 0.2f, 0.05f)]
    public void YAware(bool secondView, float temperature, float sigma)
    {
        var o = new YAwareOptions { Temperature = temperature, Sigma = sigma };
        foreach (var (name, r) in Cases(10, view: secondView))
            Check(new YAwareInfoNceLoss(o), b => ReferenceObjectives.YAware(b, o), r, $"y-aware view={secondView} {name}", true);
    }

    [Theory]
    [InlineData(DistanceKind.Euclidean, 2f)]
    [InlineData(DistanceKind.Cosine, 0.2f)]
    [InlineData(DistanceKind.SquaredEuclidean, 4f)]
    public void RankNContrast(DistanceKind distance, float temperature)
    {
        var o = new RankNContrastOptions { Distance = distance, Temperature = temperature };
        foreach (var (name, r) in Cases(11))
            Check(new RankNContrastLoss(o), b => ReferenceObjectives.RankNContrast(b, o), r, $"rnc {distance} {name}", distance == DistanceKind.Cosine);
        // Tied scores: the candidate sets S_ik include every tie.
        var tied = Random(12, 8, 4);
        var scores = new double[] { 1, 2, 1, 3, 2, 1, 0.5, 3 };
        var t = new RefBatch { E = tied.E, B = 8, D = 4, Scores = scores };
        Check(new RankNContrastLoss(o), b => ReferenceObjectives.RankNContrast(b, o), t, $"rnc {distance} tied scores", distance == DistanceKind.Cosine);
    }
}
