using Learner.Metrics;

namespace Learner.Experiments;

/// <summary>One objective × seed of an experiment, evaluated on change prediction and alignment: under the held-out
/// protocol the metrics pool the predictions of every outer fold's test patients, made by models that never saw them.</summary>
/// <param name="Objective">The objective spec (canonical form).</param>
/// <param name="Seed">The seed.</param>
/// <param name="Accuracy">Change-classification accuracy with its 95 % patient-bootstrap interval.</param>
/// <param name="MacroF1">Macro-F1 with its interval.</param>
/// <param name="QuadraticKappa">Quadratic-weighted kappa with its interval.</param>
/// <param name="Spearman">Spearman correlation between the cosine distance of same-patient consecutive embeddings and
/// |Δscore| (the paper's Fig. 1), with its interval.</param>
/// <param name="PretrainingSeconds">Wall time of the pretraining (every fold and trial; JIT warm-up excluded).</param>
/// <param name="FinalLoss">Mean loss of the last 10 steps of the chosen models, averaged over folds.</param>
public sealed record ExperimentRow(string Objective, int Seed, MetricInterval Accuracy, MetricInterval MacroF1, MetricInterval QuadraticKappa, MetricInterval Spearman, double PretrainingSeconds, double FinalLoss)
{
    /// <summary>The protocol's name ("held-out k-fold", "held-out split" or "transductive").</summary>
    public string Protocol { get; init; } = "held-out k-fold";

    /// <summary>Balanced accuracy of the pooled predictions (NaN when unknown).</summary>
    public double BalancedAccuracy { get; init; } = double.NaN;

    /// <summary>The outer folds: which patients pretrained, validated and were tested, what the search tried and chose.</summary>
    public IReadOnlyList<ExperimentFold> Folds { get; init; } = Array.Empty<ExperimentFold>();

    /// <summary>Warnings about the evaluation (an empty or nearly empty change class).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();

    /// <summary>What the report draws for this run (training curve, alignment scatter, confusion matrix), or null.</summary>
    public ExperimentRunDetails? Details { get; init; }

    /// <summary>Visit-level change and alignment on the same held-out patients (mean of each visit's scan embeddings),
    /// or null when not evaluated (the transductive mode, or results written before visit-level evaluation existed).</summary>
    public VisitLevelResult? Visit { get; init; }

    /// <summary>The health-score probe's R² on the same held-out patients (clip and visit level), or null when not
    /// evaluated (the transductive mode, or results written before the probe existed).</summary>
    public HealthScoreProbeResult? Probe { get; init; }
}

/// <summary>One outer fold of one run.</summary>
/// <param name="Index">0-based fold number.</param>
/// <param name="PretrainPatients">Patients whose scans pretrained the encoder (and whose pairs, with the validation
/// patients', fit the change classifier).</param>
/// <param name="ValidationPatients">Patients carved out of the training patients for selection and early stopping.</param>
/// <param name="TestPatients">Held-out patients: predicted once, by the chosen model.</param>
public sealed record ExperimentFold(int Index, IReadOnlyList<string> PretrainPatients, IReadOnlyList<string> ValidationPatients, IReadOnlyList<string> TestPatients)
{
    /// <summary>Every configuration the search tried on this fold, with its validation score (empty without a search).</summary>
    public IReadOnlyList<TrialResult> Trials { get; init; } = Array.Empty<TrialResult>();

    /// <summary>The index of the chosen trial, or null without a search.</summary>
    public int? ChosenTrial { get; init; }

    /// <summary>The settings of the model that predicted the test patients: its objective spec and learning rate.</summary>
    public string ChosenSettings { get; init; } = "";

    /// <summary>Pretraining wall time of this fold (all trials).</summary>
    public double PretrainingSeconds { get; init; }

    /// <summary>Mean loss of the last 10 steps of the chosen model.</summary>
    public double FinalLoss { get; init; } = double.NaN;
}

/// <summary>One trial of a hyperparameter search.</summary>
/// <param name="Index">The trial number.</param>
/// <param name="Settings">The objective spec and learning rate tried.</param>
/// <param name="Metric">The validation metric.</param>
/// <param name="Score">Its value on the validation patients (NaN when it could not be computed).</param>
/// <param name="PretrainingSeconds">Wall time of the trial's pretraining.</param>
public sealed record TrialResult(int Index, string Settings, string Metric, double Score, double PretrainingSeconds);

/// <summary>The per-run data behind the report's charts and paired comparisons.</summary>
/// <param name="Losses">The training loss of every step (of the chosen model of each fold, folds in order).</param>
/// <param name="PairDistances">Cosine distance of each evaluated same-patient consecutive pair's embeddings.</param>
/// <param name="PairGaps">|Δscore| of each such pair (same order).</param>
/// <param name="Confusion">Change confusion matrix, truth × prediction, classes worsened / stable / improved.</param>
public sealed record ExperimentRunDetails(IReadOnlyList<double> Losses, IReadOnlyList<double> PairDistances, IReadOnlyList<double> PairGaps, int[,] Confusion)
{
    /// <summary>True change class of every evaluated pair (0 worsened, 1 stable, 2 improved); empty when not recorded.</summary>
    public IReadOnlyList<int> Truth { get; init; } = Array.Empty<int>();

    /// <summary>The prediction for every evaluated pair (same order as <see cref="Truth"/>).</summary>
    public IReadOnlyList<int> Predicted { get; init; } = Array.Empty<int>();

    /// <summary>The patient (index in the dataset) of every evaluated pair.</summary>
    public IReadOnlyList<int> PairPatients { get; init; } = Array.Empty<int>();

    /// <summary>The loss curve reduced to at most <paramref name="points"/> points by averaging consecutive steps.</summary>
    /// <param name="points">Most points (≥ 1).</param>
    /// <returns>The reduced curve and the number of steps per point.</returns>
    public (double[] Values, int StepsPerPoint) LossCurve(int points = 500)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(points, 1);
        int per = Math.Max(1, (Losses.Count + points - 1) / points);
        var values = new double[(Losses.Count + per - 1) / per];
        for (int i = 0; i < values.Length; i++)
        {
            double sum = 0;
            int n = 0;
            for (int k = i * per; k < Math.Min(Losses.Count, (i + 1) * per); k++) { sum += Losses[k]; n++; }
            values[i] = sum / n;
        }
        return (values, per);
    }
}
