using Learner.Objectives;
using Learner.Objectives.Distances;
using Learner.Objectives.Options;
using Learner.Examples.Extensions;

namespace Learner.Tests.Objectives;

/// <summary>One configured instance of every objective (and a few variants), for behavioural tests.</summary>
public static class ObjectiveCatalog
{
    public static IEnumerable<(string Name, Func<int, IObjective> Create, bool Cosine)> All()
    {
        yield return ("mse", d => new MseScoreRegression(new MseOptions { EmbeddingDimension = d, InitSeed = 5 }), false);
        yield return ("mse within-patient", d => new MseScoreRegression(new MseOptions { EmbeddingDimension = d, InitSeed = 5, WithinPatientWeight = 4 }), false);
        yield return ("contrastive cosine", _ => new ContrastiveLoss(new ContrastiveOptions { Margin = 0.9f }), true);
        yield return ("contrastive euclidean", _ => new ContrastiveLoss(new ContrastiveOptions { Distance = DistanceKind.Euclidean, Margin = 5f }), false);
        yield return ("weighted-contrastive", _ => new WeightedContrastiveLoss(new WeightedContrastiveOptions { Margin = 0.9f, MarginByGap = true, PositiveThreshold = 0.2f }), true);
        yield return ("contrastive hardest-half reducer", _ => new ContrastiveLoss(new ContrastiveOptions { Margin = 0.9f }, null, new HardestFractionReducer()), true);
        yield return ("triplet batch-hard", _ => new TripletLoss(new TripletOptions { Margin = 0.5f }), false);
        yield return ("triplet batch-hard hardest-half reducer", _ => new TripletLoss(new TripletOptions { Margin = 0.5f }, null, new HardestFractionReducer()), false);
        yield return ("triplet batch-all cosine", _ => new TripletLoss(new TripletOptions { Selection = TripletSelection.BatchAll, Distance = DistanceKind.Cosine }), true);
        yield return ("triplet semi-hard soft-plus", _ => new TripletLoss(new TripletOptions { Selection = TripletSelection.SemiHard, Penalty = TripletPenalty.SoftPlus }), false);
        yield return ("infonce", _ => new InfoNceLoss(), true);
        yield return ("infonce symmetric", _ => new InfoNceLoss(new InfoNceOptions { Variant = InfoNceVariant.Symmetric }), true);
        yield return ("ntxent", _ => new InfoNceLoss(new InfoNceOptions { Variant = InfoNceVariant.NtXent, Temperature = 0.2f }), true);
        yield return ("supcon", _ => new SupConLoss(), true);
        yield return ("ntxent (pml, labels)", _ => new NtXentLoss(new NtXentOptions { Temperature = 0.2f }), true);
        yield return ("contrastive (pml)", _ => new ContrastiveLoss(ContrastiveOptions.PytorchMetricLearning), true);
        yield return ("triplet (pml)", _ => new TripletLoss(TripletOptions.PytorchMetricLearning), true);
        yield return ("y-aware", _ => new YAwareInfoNceLoss(new YAwareOptions { Sigma = 0.5f }), true);
        yield return ("rnc", _ => new RankNContrastLoss(), false);
        yield return ("rnc cosine", _ => new RankNContrastLoss(new RankNContrastOptions { Distance = DistanceKind.Cosine, Temperature = 0.2f }), true);
    }
}
