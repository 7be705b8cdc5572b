using Learner.Nn;
using Learner.Objectives;
using Learner.Objectives.Options;

namespace Learner.Compare;

/// <summary>Objectives, forward+backward on B×128 embeddings, named "objective/{name}-b{B}" as in compare_objectives.py.
/// Each computes the same formula as the torch side (see the comments there).</summary>
public static class ObjectiveWorkloads
{
    /// <summary>(objective, batch size).</summary>
    public static readonly (string Name, int B)[] Cases =
    {
        ("infonce", 1024), ("infonce", 4096), ("triplet-batch-hard", 1024), ("supcon", 1024), ("weighted-contrastive", 1024),
    };

    /// <summary>Adds the objective workloads.</summary>
    public static void Register(WorkloadRegistry registry)
    {
        const int D = 128;
        foreach (var (name, b) in Cases)
        {
            registry.Add($"objective/{name}-b{b}", $"{name}, B={b}, D={D}, forward+backward", () =>
            {
                var rng = new Rng(7);
                var e = new float[b * D]; var v = new float[b * D]; var ge = new float[b * D]; var gv = new float[b * D];
                rng.FillNormal(e, 0, 1); rng.FillNormal(v, 0, 1);
                var scores = new float[b]; var patients = new int[b]; var labels = new int[b];
                for (int i = 0; i < b; i++) { scores[i] = 100 + 400 * rng.NextSingle(); patients[i] = i / 4; labels[i] = Math.Min(3, (int)((scores[i] - 100) / 100)); }
                IObjective objective = name switch
                {
                    // cross-view InfoNCE, cosine similarity, τ = 0.1: CE(ẑ₁ẑ₂ᵀ/τ, arange)
                    "infonce" => new InfoNceLoss(new InfoNceOptions { Temperature = 0.1f }),
                    // batch-hard triplet, Euclidean distance, hinge, margin 0.2, mean over anchors
                    "triplet-batch-hard" => new TripletLoss(new TripletOptions { Selection = TripletSelection.BatchHard, Margin = 0.2f }),
                    // SupCon (L_out), cosine, τ = 0.1, single view
                    "supcon" => new SupConLoss(new SupConOptions { Temperature = 0.1f }),
                    // weighted contrastive over all inter-patient pairs, cosine distance, weight ∝ |Δscore|
                    _ => new WeightedContrastiveLoss(new WeightedContrastiveOptions { UseProvidedPairs = false, PositiveThreshold = 20f, GapScale = 100f }),
                };
                bool twoViews = name == "infonce";
                return () =>
                {
                    var batch = new EmbeddingBatch(e, b, D) { SecondView = twoViews ? v : default, Scores = scores, PatientIds = patients, Labels = labels };
                    objective.Compute(batch, ge, twoViews ? gv : Span<float>.Empty);
                };
            });
        }
    }
}
