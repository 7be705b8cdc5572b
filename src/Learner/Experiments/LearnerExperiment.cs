using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Learner.Data;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Metrics;
using Learner.Nn;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Sampling;
using Learner.Training;

namespace Learner.Experiments;

/// <summary>Settings of a <see cref="LearnerExperiment"/>. <see cref="Validate"/> names the first invalid option.</summary>
public sealed record ExperimentOptions
{
    /// <summary>The pretraining objectives compared, by name (see <see cref="LearnerExperiment.KnownObjectives"/>).</summary>
    public IReadOnlyList<string> Objectives { get; set; } = new[] { "mse", "weighted-contrastive", "mse+weighted-contrastive" };

    /// <summary>Seeds: each objective is pretrained once per seed (encoder initialisation, batches and folds).</summary>
    public IReadOnlyList<int> Seeds { get; set; } = new[] { 1 };

    /// <summary>The encoder (the same architecture for every objective).</summary>
    public EncoderOptions Encoder { get; set; } = new();

    /// <summary>The pretraining budget and optimizer (its seed is replaced by each run's seed).</summary>
    public PretrainingOptions Pretraining { get; set; } = new() { Epochs = 2, StepsPerEpoch = 60, WarmupSteps = 5 };

    /// <summary>Patients per batch P (≥ 2). Default 8.</summary>
    public int PatientsPerBatch { get; set; } = 8;

    /// <summary>Scans per patient K (≥ 1). Default 4.</summary>
    public int ScansPerPatient { get; set; } = 4;

    /// <summary>How score changes map to improved / stable / worsened.</summary>
    public ChangeThresholds ChangeThresholds { get; set; } = ChangeThresholds.Absolute(20);

    /// <summary>Folds of the patient-grouped cross-validation (≥ 2). Default 5.</summary>
    public int Folds { get; set; } = 5;

    /// <summary>The change classifier.</summary>
    public ChangeClassifierOptions Classifier { get; set; } = new();

    /// <summary>Bootstrap replicates for the 95 % intervals (resampling patients; ≥ 1). Default 500.</summary>
    public int BootstrapResamples { get; set; } = 500;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Objectives is null || Objectives.Count == 0) throw new ArgumentException("Objectives must name at least one objective.", nameof(Objectives));
        foreach (var o in Objectives)
            if (!LearnerExperiment.KnownObjectives.Contains(o))
                throw new ArgumentException($"Objective '{o}' is unknown; allowed: {string.Join(", ", LearnerExperiment.KnownObjectives)}.", nameof(Objectives));
        if (Seeds is null || Seeds.Count == 0) throw new ArgumentException("Seeds must hold at least one seed.", nameof(Seeds));
        if (Encoder is null) throw new ArgumentException("Encoder must be set.", nameof(Encoder));
        Encoder.Validate();
        if (Pretraining is null) throw new ArgumentException("Pretraining must be set.", nameof(Pretraining));
        Pretraining.Validate();
        if (PatientsPerBatch < 2) throw new ArgumentException($"PatientsPerBatch must be ≥ 2, got {PatientsPerBatch}.", nameof(PatientsPerBatch));
        if (ScansPerPatient < 1) throw new ArgumentException($"ScansPerPatient must be ≥ 1, got {ScansPerPatient}.", nameof(ScansPerPatient));
        if (Folds < 2) throw new ArgumentException($"Folds must be ≥ 2, got {Folds}.", nameof(Folds));
        if (Classifier is null) throw new ArgumentException("Classifier must be set.", nameof(Classifier));
        Classifier.Validate();
        if (BootstrapResamples < 1) throw new ArgumentException($"BootstrapResamples must be ≥ 1, got {BootstrapResamples}.", nameof(BootstrapResamples));
    }
}

/// <summary>One pretraining run of an experiment, evaluated on change prediction and alignment.</summary>
/// <param name="Objective">The pretraining objective.</param>
/// <param name="Seed">The seed.</param>
/// <param name="Accuracy">Change-classification accuracy with its 95 % patient-bootstrap interval.</param>
/// <param name="MacroF1">Macro-F1 with its interval.</param>
/// <param name="QuadraticKappa">Quadratic-weighted kappa with its interval.</param>
/// <param name="Spearman">Spearman correlation between the cosine distance of same-patient consecutive embeddings and
/// |Δscore| (the paper's Fig. 1), with its interval.</param>
/// <param name="PretrainingSeconds">Wall time of the pretraining.</param>
/// <param name="FinalLoss">Mean loss of the last 10 steps.</param>
public sealed record ExperimentRow(string Objective, int Seed, MetricInterval Accuracy, MetricInterval MacroF1, MetricInterval QuadraticKappa, MetricInterval Spearman, double PretrainingSeconds, double FinalLoss)
{
    /// <summary>What the report draws for this run (training curve, alignment scatter, confusion matrix), or null.</summary>
    public ExperimentRunDetails? Details { get; init; }
}

/// <summary>One training step of one run of an experiment.</summary>
/// <param name="Objective">The objective being pretrained.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Run">0-based index of the run (objective-major).</param>
/// <param name="Runs">Number of runs of the experiment.</param>
/// <param name="Training">The step's progress.</param>
public sealed record ExperimentStep(string Objective, int Seed, int Run, int Runs, TrainingProgress Training);

/// <summary>The per-run data behind the report's charts.</summary>
/// <param name="Losses">The training loss of every step.</param>
/// <param name="PairDistances">Cosine distance of each same-patient consecutive pair's embeddings.</param>
/// <param name="PairGaps">|Δscore| of each such pair (same order).</param>
/// <param name="Confusion">Change confusion matrix, truth × prediction, classes worsened / stable / improved.</param>
public sealed record ExperimentRunDetails(IReadOnlyList<double> Losses, IReadOnlyList<double> PairDistances, IReadOnlyList<double> PairGaps, int[,] Confusion)
{
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

/// <summary>The results table of an experiment.</summary>
/// <param name="Rows">One row per objective and seed.</param>
public sealed record ExperimentResults(IReadOnlyList<ExperimentRow> Rows)
{
    private static string F(double v) => double.IsNaN(v) ? "NaN" : v.ToString("F3", CultureInfo.InvariantCulture);
    private static string Ci(MetricInterval m) => $"{F(m.Estimate)} [{F(m.Lower)}, {F(m.Upper)}]";

    /// <summary>A markdown table (estimates with 95 % intervals).</summary>
    /// <returns>The table.</returns>
    public string ToMarkdown()
    {
        var sb = new StringBuilder("| objective | seed | accuracy | macro-F1 | quadratic κ | Spearman(dist, |Δscore|) | pretraining s |\n|---|---:|---|---|---|---|---:|\n");
        foreach (var r in Rows)
            sb.Append(CultureInfo.InvariantCulture, $"| {r.Objective} | {r.Seed} | {Ci(r.Accuracy)} | {Ci(r.MacroF1)} | {Ci(r.QuadraticKappa)} | {Ci(r.Spearman)} | {r.PretrainingSeconds:F1} |\n");
        return sb.ToString();
    }

    /// <summary>CSV with one column per estimate and bound.</summary>
    /// <returns>The CSV text.</returns>
    public string ToCsv()
    {
        var sb = new StringBuilder("objective,seed,accuracy,accuracy_lo,accuracy_hi,macro_f1,macro_f1_lo,macro_f1_hi,kappa,kappa_lo,kappa_hi,spearman,spearman_lo,spearman_hi,pretraining_seconds,final_loss\n");
        static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        foreach (var r in Rows)
            sb.Append(string.Join(',', r.Objective, r.Seed.ToString(CultureInfo.InvariantCulture),
                R(r.Accuracy.Estimate), R(r.Accuracy.Lower), R(r.Accuracy.Upper), R(r.MacroF1.Estimate), R(r.MacroF1.Lower), R(r.MacroF1.Upper),
                R(r.QuadraticKappa.Estimate), R(r.QuadraticKappa.Lower), R(r.QuadraticKappa.Upper), R(r.Spearman.Estimate), R(r.Spearman.Lower), R(r.Spearman.Upper),
                R(r.PretrainingSeconds), R(r.FinalLoss))).Append('\n');
        return sb.ToString();
    }

    /// <summary>JSON (NaN written as null). With <paramref name="includeDetails"/>, each row also carries its loss curve
    /// (at most 500 points), its confusion matrix and the number of alignment pairs.</summary>
    /// <param name="includeDetails">Whether to include the per-run details.</param>
    /// <returns>The JSON text.</returns>
    public string ToJson(bool includeDetails = false)
    {
        static double? N(double v) => double.IsFinite(v) ? v : null;
        static object I(MetricInterval m) => new { estimate = N(m.Estimate), lower = N(m.Lower), upper = N(m.Upper) };
        static object? D(ExperimentRunDetails? d)
        {
            if (d is null) return null;
            var (curve, per) = d.LossCurve();
            int k = d.Confusion.GetLength(0);
            return new
            {
                lossCurve = curve.Select(N), stepsPerPoint = per, alignmentPairs = d.PairDistances.Count,
                confusion = Enumerable.Range(0, k).Select(i => Enumerable.Range(0, k).Select(j => d.Confusion[i, j]).ToArray()).ToArray(),
            };
        }
        return JsonSerializer.Serialize(Rows.Select(r =>
        {
            var row = new Dictionary<string, object?>
            {
                ["objective"] = r.Objective, ["seed"] = r.Seed, ["accuracy"] = I(r.Accuracy), ["macroF1"] = I(r.MacroF1),
                ["quadraticKappa"] = I(r.QuadraticKappa), ["spearman"] = I(r.Spearman), ["pretrainingSeconds"] = r.PretrainingSeconds,
                ["finalLoss"] = N(r.FinalLoss),
            };
            if (includeDetails) row["details"] = D(r.Details);
            return row;
        }), new JsonSerializerOptions { WriteIndented = true });
    }
}

/// <summary>
/// The paper's comparison as one call: for each objective and seed, pretrain the same encoder with the same budget,
/// embed every scan, and evaluate three-way change prediction with patient-grouped cross-validation and the alignment
/// of embedding distance with |Δscore|.
/// </summary>
public sealed class LearnerExperiment
{
    /// <summary>The objective names an experiment understands.</summary>
    public static IReadOnlyList<string> KnownObjectives { get; } = new[]
    {
        "mse", "contrastive", "weighted-contrastive", "triplet", "infonce", "supcon", "rnc", "y-aware", "mse+weighted-contrastive",
    };

    private readonly ExperimentOptions _options;
    private readonly ComputeBackend _backend;

    /// <summary>Creates the experiment.</summary>
    /// <param name="options">Settings (validated).</param>
    /// <param name="backend">Builds the encoders and objectives, or null for the managed engine
    /// (<see cref="ComputeBackend.Managed"/>).</param>
    public LearnerExperiment(ExperimentOptions options, ComputeBackend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _backend = backend ?? ComputeBackend.Managed;
    }

    /// <summary>The backend that builds the encoders and objectives.</summary>
    public ComputeBackend Backend => _backend;

    /// <summary>Runs every objective and seed.</summary>
    /// <param name="dataset">Scans with health scores (coarse labels are added by quartiles when missing).</param>
    /// <param name="progress">Receives one line per finished run.</param>
    /// <param name="cancellationToken">Checked between training steps and runs.</param>
    /// <returns>The results table.</returns>
    public ExperimentResults Run(LongitudinalDataset dataset, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
        => Run(dataset, progress, null, cancellationToken);

    /// <summary>Runs every objective and seed, reporting every training step too (for live progress displays).</summary>
    /// <param name="dataset">Scans with health scores (coarse labels are added by quartiles when missing).</param>
    /// <param name="progress">Receives one line per finished run.</param>
    /// <param name="steps">Receives every training step of every run.</param>
    /// <param name="cancellationToken">Checked between training steps and runs.</param>
    /// <returns>The results table.</returns>
    public ExperimentResults Run(LongitudinalDataset dataset, IProgress<string>? progress, IProgress<ExperimentStep>? steps, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (dataset.Scans.Any(s => s.CoarseLabel is null)) dataset = dataset.WithQuantileLabels(4);
        var scores = dataset.Scans.Select(s => s.Score ?? throw new ArgumentException($"Scan '{s.Id}' has no health score; the experiment needs one for every scan.", nameof(dataset))).ToArray();
        double mean = scores.Average(), std = Math.Sqrt(scores.Select(v => (v - mean) * (v - mean)).Average());
        double scale = std > 0 ? std : 1;
        var pairs = new IntraPatientPairSampler(dataset, _options.ChangeThresholds).Pairs;
        var rows = new List<ExperimentRow>();
        int runCount = _options.Objectives.Count * _options.Seeds.Count, run = 0;
        foreach (string name in _options.Objectives)
            foreach (int seed in _options.Seeds)
            {
                int runIndex = run++;
                IProgress<TrainingProgress>? stepProgress = steps is null ? null : new StepRelay(steps, name, seed, runIndex, runCount);
                cancellationToken.ThrowIfCancellationRequested();
                var encoder = _backend.CreateEncoder(_options.Encoder with { Seed = (ulong)seed });
                IObjective? objective = null;
                try
                {
                    objective = CreateObjective(name, encoder.EmbeddingDimension, (float)mean, (float)scale, (ulong)seed, _backend.Objectives);
                    rows.Add(RunOne(dataset, name, seed, encoder, objective, pairs, stepProgress, progress, cancellationToken));
                }
                finally
                {
                    (objective as IDisposable)?.Dispose();
                    (encoder as IDisposable)?.Dispose();
                }
            }
        return new ExperimentResults(rows);
    }

    private ExperimentRow RunOne(LongitudinalDataset dataset, string name, int seed, IEncoder encoder, IObjective objective, IReadOnlyList<ConsecutivePair> pairs,
        IProgress<TrainingProgress>? stepProgress, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var sampler = new PatientBatchSampler(dataset, _options.PatientsPerBatch, _options.ScansPerPatient);
        var clock = Stopwatch.StartNew();
        var result = new Pretrainer(encoder, dataset, sampler, objective, _options.Pretraining with { Seed = (ulong)seed, CheckpointDirectory = null })
            .Run(stepProgress, cancellationToken);
        double seconds = clock.Elapsed.TotalSeconds;
        int d = encoder.EmbeddingDimension;
        var embeddings = Embedder.EmbedAll(encoder, dataset, 64, cancellationToken);
        var eval = ChangeEvaluation.CrossValidate(dataset, embeddings, d, _options.ChangeThresholds, _options.Folds, seed, _options.Classifier);

        var rng = new Rng((ulong)seed).Fork(0xB007);
        var truth = eval.Truth; var pred = eval.Predicted;
        var accuracy = Bootstrap.ConfidenceInterval(eval.PatientIndices, idx => Classification.Accuracy(Pick(truth, idx), Pick(pred, idx), 3), _options.BootstrapResamples, 0.95, rng.Fork(1));
        var macroF1 = Bootstrap.ConfidenceInterval(eval.PatientIndices, idx => Classification.MacroF1(Pick(truth, idx), Pick(pred, idx), 3), _options.BootstrapResamples, 0.95, rng.Fork(2));
        var kappa = Bootstrap.ConfidenceInterval(eval.PatientIndices, idx => Classification.CohenKappa(Pick(truth, idx), Pick(pred, idx), 3), _options.BootstrapResamples, 0.95, rng.Fork(3));

        // Cosine distances of the consecutive pairs once; each bootstrap replicate only re-ranks a resample.
        var pairIdx = pairs.Select(p => (p.Before, p.After)).ToArray();
        var gaps = pairs.Select(p => Math.Abs((double)p.HealthChange)).ToArray();
        var distances = Alignment.Compute(embeddings, d, pairIdx, gaps).Distances;
        var pairPatients = pairs.Select(p => dataset.Scans[p.Before].PatientIndex).ToArray();
        var spearman = Bootstrap.ConfidenceInterval(pairPatients, idx =>
        {
            var x = new double[idx.Length];
            var y = new double[idx.Length];
            for (int i = 0; i < idx.Length; i++) { x[i] = distances[idx[i]]; y[i] = gaps[idx[i]]; }
            return Correlations.Spearman(x, y);
        }, _options.BootstrapResamples, 0.95, rng.Fork(4));
        double finalLoss = result.Losses.Skip(Math.Max(0, result.Losses.Count - 10)).DefaultIfEmpty(double.NaN).Average();
        var row = new ExperimentRow(name, seed, accuracy, macroF1, kappa, spearman, seconds, finalLoss)
        {
            Details = new ExperimentRunDetails(result.Losses, distances.ToArray(), gaps, Classification.ConfusionMatrix(truth, pred, 3)),
        };
        progress?.Report(string.Create(CultureInfo.InvariantCulture, $"{name} seed {seed}: macro-F1 {macroF1.Estimate:F3}, Spearman {spearman.Estimate:F3}, pretraining {seconds:F1} s"));
        return row;
    }

    private sealed class StepRelay(IProgress<ExperimentStep> target, string objective, int seed, int run, int runs) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => target.Report(new ExperimentStep(objective, seed, run, runs, value));
    }

    private static int[] Pick(int[] values, int[] idx)
    {
        var r = new int[idx.Length];
        for (int i = 0; i < idx.Length; i++) r[i] = values[idx[i]];
        return r;
    }

    /// <summary>Creates an objective by experiment name, with scores normalised by the dataset's mean and standard
    /// deviation where the objective uses score values.</summary>
    /// <param name="name">One of <see cref="KnownObjectives"/>.</param>
    /// <param name="embeddingDimension">D.</param>
    /// <param name="scoreMean">Mean health score of the dataset.</param>
    /// <param name="scoreScale">Standard deviation of the health scores.</param>
    /// <param name="seed">Seed for heads an objective owns.</param>
    /// <returns>The objective.</returns>
    public static IObjective CreateObjective(string name, int embeddingDimension, float scoreMean, float scoreScale, ulong seed)
        => CreateObjective(name, embeddingDimension, scoreMean, scoreScale, seed, ObjectiveRegistry.CreateDefault());

    /// <summary>Creates an objective by experiment name from a backend's registry (see
    /// <see cref="ComputeBackend.Objectives"/>), with scores normalised as in
    /// <see cref="CreateObjective(string, int, float, float, ulong)"/>.</summary>
    /// <param name="name">One of <see cref="KnownObjectives"/>.</param>
    /// <param name="embeddingDimension">D.</param>
    /// <param name="scoreMean">Mean health score of the dataset.</param>
    /// <param name="scoreScale">Standard deviation of the health scores.</param>
    /// <param name="seed">Seed for heads an objective owns.</param>
    /// <param name="registry">Resolves the registry names ("mse", "infonce", …, "composite") to implementations.</param>
    /// <returns>The objective.</returns>
    /// <exception cref="ArgumentException">The name is not one of <see cref="KnownObjectives"/>.</exception>
    public static IObjective CreateObjective(string name, int embeddingDimension, float scoreMean, float scoreScale, ulong seed, ObjectiveRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var mse = new MseOptions { EmbeddingDimension = embeddingDimension, ScoreOffset = scoreMean, ScoreScale = scoreScale, InitSeed = seed };
        var weighted = new WeightedContrastiveOptions { UseProvidedPairs = false, PositiveThreshold = 0.1f * scoreScale, GapScale = scoreScale };
        return name switch
        {
            "mse" => registry.Create("mse", mse),
            "weighted-contrastive" => registry.Create("weighted-contrastive", weighted),
            "contrastive" => registry.Create("contrastive", new ContrastiveOptions { UseProvidedPairs = false, InterPatientOnly = true }),
            "triplet" or "infonce" or "supcon" or "rnc" => registry.Create(name),
            "y-aware" => registry.Create("y-aware", new YAwareOptions { Sigma = 0.25f * scoreScale }),
            "mse+weighted-contrastive" => registry.Create("composite", new CompositeOptions
            {
                Terms = new[] { new CompositeTermOptions("mse", 1.0, mse), new CompositeTermOptions("weighted-contrastive", 1.0, weighted) },
            }),
            _ => throw new ArgumentException($"Objective '{name}' is unknown; allowed: {string.Join(", ", KnownObjectives)}.", nameof(name)),
        };
    }
}
