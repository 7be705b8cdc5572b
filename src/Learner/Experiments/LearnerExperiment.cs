using System.Diagnostics;
using System.Globalization;
using Learner.Data;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Metrics;
using Learner.Objectives;
using Learner.Sampling;

namespace Learner.Experiments;

/// <summary>
/// The paper's comparison as one call, evaluated without leakage. For each objective and seed: patients are split into
/// outer folds (or one held-out split) <em>before</em> anything is trained; for each fold the encoder is pretrained on the
/// fold's training patients only (optionally minus validation patients used for a hyperparameter search and early
/// stopping), the change classifier is fit on the training patients' consecutive pairs, and the held-out patients' pairs
/// are predicted once. Metrics and patient-bootstrap intervals pool the held-out predictions of every fold.
/// </summary>
/// <remarks>Every objective gets the same folds (per seed), the same encoder, batch source, step budget and search
/// budget. The transductive mode (<see cref="ExperimentProtocolOptions.Transductive"/>) reproduces the old, leaky
/// evaluation for comparison only and labels its rows so.</remarks>
public sealed partial class LearnerExperiment
{
    private readonly ExperimentOptions _options;
    private readonly ComputeBackend _backend;
    private readonly ObjectiveRecipes _recipes;
    private readonly ObjectiveSpec[] _specs;
    private readonly ChangeThresholds _thresholds;

    /// <summary>Creates the experiment.</summary>
    /// <param name="options">Settings (validated, the objective specs against the backend's registry).</param>
    /// <param name="backend">Builds the encoders and objectives, or null for the managed engine
    /// (<see cref="ComputeBackend.Managed"/>).</param>
    /// <param name="recipes">The objective recipes (cohort-scaled defaults), or null for <see cref="ObjectiveRecipes.Default"/>.</param>
    /// <exception cref="ArgumentException">An option is invalid (named), or <see cref="ExperimentOptions.ChangeThresholds"/>
    /// is not set (there is no default change threshold).</exception>
    public LearnerExperiment(ExperimentOptions options, ComputeBackend? backend = null, ObjectiveRecipes? recipes = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _thresholds = options.ChangeThresholds ?? throw new ArgumentException(
            "ExperimentOptions.ChangeThresholds must be set: the score change that counts as improved or worsened depends on the score "
            + "(e.g. ChangeThresholds.Absolute(20) for S/F, Absolute(2) for MMSE; a synthetic cohort declares its own, such as SyntheticLusCohort.ChangeThresholds). There is no default.",
            nameof(options));
        _backend = backend ?? ComputeBackend.Managed;
        _recipes = recipes ?? ObjectiveRecipes.Default;
        options.Validate(_recipes, _backend.Objectives);
        _options = options;
        _specs = options.Objectives.Select(ObjectiveSpec.Parse).ToArray();
    }

    /// <summary>The backend that builds the encoders and objectives.</summary>
    public ComputeBackend Backend => _backend;

    /// <summary>The settings.</summary>
    public ExperimentOptions Options => _options;

    /// <summary>The validation share actually used: <see cref="ExperimentProtocolOptions.ValidationFraction"/>, or 0.2 when
    /// the search or early stopping needs validation patients and it is unset, else 0.</summary>
    public double EffectiveValidationFraction =>
        _options.Protocol.Transductive ? 0 : _options.Protocol.ValidationFraction ?? (_options.Search.Trials > 0 || _options.Pretraining.EarlyStopping is not null ? 0.2 : 0);

    /// <summary>Runs every objective and seed.</summary>
    /// <param name="dataset">Scans with change scores (<see cref="Scan.ChangeScore"/>) and the pretraining targets the
    /// objectives need (scores and/or coarse labels; labels are added per fold from the training patients' score quartiles
    /// when missing).</param>
    /// <param name="progress">Receives one line per finished run.</param>
    /// <param name="cancellationToken">Checked between training steps and runs.</param>
    /// <returns>The results table.</returns>
    public ExperimentResults Run(LongitudinalDataset dataset, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
        => Run(dataset, new ExperimentRunOptions(), progress, null, cancellationToken);

    /// <summary>Runs every objective and seed, reporting every training step too (for live progress displays).</summary>
    /// <param name="dataset">The scans (see <see cref="Run(LongitudinalDataset, IProgress{string}?, CancellationToken)"/>).</param>
    /// <param name="progress">Receives one line per finished run.</param>
    /// <param name="steps">Receives every training step of every pretraining.</param>
    /// <param name="cancellationToken">Checked between training steps and runs.</param>
    /// <returns>The results table.</returns>
    public ExperimentResults Run(LongitudinalDataset dataset, IProgress<string>? progress, IProgress<ExperimentStep>? steps, CancellationToken cancellationToken = default)
        => Run(dataset, new ExperimentRunOptions(), progress, steps, cancellationToken);

    /// <summary>Runs the experiment on a background thread (see <see cref="Run(LongitudinalDataset, ExperimentRunOptions, IProgress{string}?, IProgress{ExperimentStep}?, CancellationToken)"/>).</summary>
    /// <param name="dataset">The scans.</param>
    /// <param name="run">Where to keep state, whether to resume, what to record; null for none.</param>
    /// <param name="progress">Receives one line per finished run.</param>
    /// <param name="steps">Receives every training step.</param>
    /// <param name="cancellationToken">Cancels between steps; the task then fails with <see cref="ExperimentCancelledException"/>.</param>
    /// <returns>The results.</returns>
    public Task<ExperimentResults> RunAsync(LongitudinalDataset dataset, ExperimentRunOptions? run = null, IProgress<string>? progress = null, IProgress<ExperimentStep>? steps = null, CancellationToken cancellationToken = default)
        => Task.Run(() => Run(dataset, run ?? new ExperimentRunOptions(), progress, steps, cancellationToken), CancellationToken.None);

    /// <summary>Runs every objective and seed with run-folder state: checkpoints per pretraining, finished folds saved, and
    /// on cancellation <c>results.json</c> with the finished runs (<see cref="ExperimentCancelledException.Partial"/>).</summary>
    /// <param name="dataset">The scans.</param>
    /// <param name="run">Where to keep state, whether to resume, what to record.</param>
    /// <param name="progress">Receives one line per finished run.</param>
    /// <param name="steps">Receives every training step.</param>
    /// <param name="cancellationToken">Checked between training steps.</param>
    /// <returns>The results.</returns>
    /// <exception cref="ExperimentCancelledException">Cancelled; carries the finished runs.</exception>
    /// <exception cref="EmptyChangeClassException">The change thresholds leave a change class without any pair.</exception>
    /// <exception cref="MissingScoreException">A scan in a consecutive pair has no change score, or an objective needs
    /// scores a scan lacks.</exception>
    public ExperimentResults Run(LongitudinalDataset dataset, ExperimentRunOptions run, IProgress<string>? progress, IProgress<ExperimentStep>? steps, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(run);
        if (run.ConcurrentRuns < 1)
            throw new ArgumentException($"ExperimentRunOptions.ConcurrentRuns = {run.ConcurrentRuns}; at least one fold must run at a time.", nameof(run));
        if (run.ConcurrentRuns > 1 && !_backend.RunsSideBySide)
            throw new ArgumentException($"ExperimentRunOptions.ConcurrentRuns = {run.ConcurrentRuns}, but the '{_backend.Name}' backend does not declare that its folds can run side by side (ComputeBackend.RunsSideBySide is false; the TorchSharp backend's encoders share libtorch's random generator and threads); use 1.", nameof(run));
        var source = dataset;
        // One normalisation setting, the pretrainer's: every scan (held-out ones included) is normalised before the
        // folds, and a caller's own normalisation is kept, as the pretrainer does.
        dataset = dataset.Normalization is null ? _options.Pretraining.InputNormalization.Apply(dataset) : dataset;
        var sampler = new IntraPatientPairSampler(dataset, _thresholds); // fails early, naming a scan without a change score
        var allPairs = sampler.Pairs;
        if (allPairs.Count == 0) throw new ArgumentException("The dataset has no same-patient consecutive pairs: change cannot be evaluated.", nameof(dataset));
        EmptyChangeClassException.ThrowIfAnyEmpty(sampler);
        var visits = _options.Protocol.Transductive ? null : new VisitPairs(dataset, _thresholds);
        var store = run.OutputDirectory is null ? null : new ExperimentStore(run.OutputDirectory);
        var metadata = new ExperimentMetadata
        {
            CommandLine = run.CommandLine, Protocol = _options.Protocol.Name, Settings = ResolvedSettings(),
            Dataset = run.DatasetDescription ?? string.Create(CultureInfo.InvariantCulture, $"{dataset.PatientCount} patients, {dataset.ScanCount} scans"),
        };
        var plans = _options.Seeds.ToDictionary(s => s, s => FoldPlan.Create(dataset, _options.Protocol, EffectiveValidationFraction, s));
        // P×K batches draw P distinct patients from a fold's pretraining group: refuse a P no fold can fill before any
        // training, naming the fold and the group's size (the sampler would say it only when that fold starts).
        if (_options.BatchSource.Kind == Training.BatchSourceKind.PatientBatches
            && plans.Values.SelectMany(p => p).MinBy(p => p.Pretrain.PatientCount) is { } smallest
            && smallest.Pretrain.PatientCount < _options.BatchSource.PatientsPerBatch)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"BatchSourceOptions.PatientsPerBatch = {_options.BatchSource.PatientsPerBatch}, but fold {smallest.Index + 1} of {plans.Values.First().Count}'s pretraining group has {smallest.Pretrain.PatientCount} of the {dataset.PatientCount} patients (the others are its test and validation patients); a P×K batch draws P distinct patients, so give at most {smallest.Pretrain.PatientCount}, or use more patients."),
                nameof(ExperimentOptions.BatchSource));
        // Only with every fold planned is anything written to the folder.
        store?.CheckOrWriteSettings(metadata.Settings, ExperimentStore.Fingerprint(source), run.Resume);
        int runs = _specs.Length * _options.Seeds.Count;
        int trials = Math.Max(1, _options.Search.Trials);
        var tracker = new ProgressTracker(runs * plans.Values.First().Count * trials * _options.Pretraining.TotalSteps);
        // Folds side by side report from their own threads: the caller's handlers (often one object for both) see one
        // report at a time, in the order the tracker counted them.
        if (run.ConcurrentRuns > 1)
        {
            if (progress is not null) progress = new SerialProgress<string>(progress, tracker.Gate);
            if (steps is not null) steps = new SerialProgress<ExperimentStep>(steps, tracker.Gate);
        }
        var rows = new List<ExperimentRow>();
        // One item per (objective, seed, fold), in the order the runs are numbered and reported.
        var items = new List<FoldItem>();
        int runIndex = 0;
        foreach (var spec in _specs)
            foreach (int seed in _options.Seeds)
            {
                foreach (var plan in plans[seed]) items.Add(new FoldItem(spec, seed, plan, runIndex, items.Count));
                runIndex++;
            }
        var outcomes = new FoldOutcome?[items.Count];
        var foldsOfRun = items.GroupBy(i => i.Run).OrderBy(g => g.Key).Select(g => g.ToArray()).ToArray();
        int reportedRuns = 0;
        // Pools and reports every run whose folds (and those of every run before it) are done, in run order.
        void ReportFinishedRuns()
        {
            while (reportedRuns < runs)
            {
                var folds = foldsOfRun[reportedRuns];
                if (Array.Exists(folds, i => outcomes[i.Index] is null)) return;
                var row = Pool(dataset, folds[0].Spec.ToString(), folds[0].Seed, folds.Select(i => outcomes[i.Index]!).ToArray());
                rows.Add(row);
                progress?.Report(string.Create(CultureInfo.InvariantCulture,
                    $"{row.Objective} seed {row.Seed} ({row.Protocol}): macro-F1 {row.MacroF1.Estimate:F3} [{row.MacroF1.Lower:F3}, {row.MacroF1.Upper:F3}], Spearman {row.Spearman.Estimate:F3}, pretraining {row.PretrainingSeconds:F1} s"));
                reportedRuns++;
            }
        }
        FoldOutcome RunFold(FoldItem item, CancellationToken ct)
        {
            var context = new FoldContext(this, dataset, item.Spec, item.Seed, item.Plan, item.Run, runs, plans[item.Seed].Count, store, run.Resume, steps, tracker, allPairs, visits);
            var outcome = context.Run(ct);
            store?.SaveFold(item.Spec.ToString(), item.Seed, outcome);
            return outcome;
        }
        try
        {
            var pending = new List<FoldItem>();
            foreach (var item in items)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var saved = run.Resume ? store?.TryLoadFold(item.Spec.ToString(), item.Seed, item.Plan.Index) : null;
                if (saved is null) { pending.Add(item); continue; }
                outcomes[item.Index] = saved;
                tracker.Skip(trials * _options.Pretraining.TotalSteps);
            }
            ReportFinishedRuns();
            if (run.WarmUp && pending.Count > 0) WarmUp(pending[0].Spec, pending[0].Plan, pending[0].Seed);
            if (run.ConcurrentRuns == 1 || pending.Count < 2)
                foreach (var item in pending)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    outcomes[item.Index] = RunFold(item, cancellationToken);
                    ReportFinishedRuns();
                }
            else
                ConcurrentFolds.Run(pending, Math.Min(run.ConcurrentRuns, pending.Count), RunFold,
                    (item, outcome) => { outcomes[item.Index] = outcome; ReportFinishedRuns(); }, cancellationToken);
        }
        catch (OperationCanceledException e) when (e is not ExperimentCancelledException)
        {
            var partial = new ExperimentResults(rows.ToArray()) { Metadata = metadata with { Complete = false } };
            if (store is not null) ExperimentResultsFile.Write(Path.Combine(store.Root, "results.json"), partial);
            throw new ExperimentCancelledException(partial, e.CancellationToken);
        }
        var results = new ExperimentResults(rows) { Metadata = metadata };
        if (store is not null) ExperimentResultsFile.Write(Path.Combine(store.Root, "results.json"), results);
        return results;
    }

    /// <summary>Passes reports on one at a time, whichever thread makes them.</summary>
    private sealed class SerialProgress<T>(IProgress<T> inner, object gate) : IProgress<T>
    {
        public void Report(T value)
        {
            lock (gate) inner.Report(value);
        }
    }

    private ExperimentRow Pool(LongitudinalDataset dataset, string objective, int seed, IReadOnlyList<FoldOutcome> outcomes)
    {
        var eval = new ChangeEvaluationResult(outcomes.SelectMany(o => o.Truth).ToArray(), outcomes.SelectMany(o => o.Predicted).ToArray(),
            Array.Empty<float>(), outcomes.SelectMany(o => o.PairPatients).ToArray(), outcomes.Count);
        var distances = outcomes.SelectMany(o => o.Distances).ToArray();
        var gaps = outcomes.SelectMany(o => o.Gaps).ToArray();
        var report = ChangeReport.Summarize(eval, distances, gaps, outcomes.SelectMany(o => o.AlignmentPatients).ToArray(), _options.BootstrapResamples, (ulong)seed);
        var losses = outcomes.SelectMany(o => o.Losses).ToArray();
        double finalLoss = outcomes.Select(o => o.Fold.FinalLoss).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
        return new ExperimentRow(objective, seed, report.Accuracy, report.MacroF1, report.QuadraticKappa, report.Spearman,
            outcomes.Sum(o => o.Fold.PretrainingSeconds), finalLoss)
        {
            Visit = PoolVisits(outcomes, seed),
            Probe = PoolProbe(outcomes, seed),
            Protocol = _options.Protocol.Name,
            BalancedAccuracy = report.BalancedAccuracy,
            Folds = outcomes.Select(o => o.Fold).ToArray(),
            Warnings = report.Warnings,
            Details = new ExperimentRunDetails(losses, distances, gaps, report.Confusion)
            {
                Truth = eval.Truth, Predicted = eval.Predicted, PairPatients = eval.PatientIndices,
            },
        };
    }

    /// <summary>The visit-level result pooled over the folds, or null when no fold evaluated visits.</summary>
    private VisitLevelResult? PoolVisits(IReadOnlyList<FoldOutcome> outcomes, int seed)
    {
        if (outcomes.Any(o => o.VisitTruth.Length == 0)) return null;
        var truth = outcomes.SelectMany(o => o.VisitTruth).ToArray();
        var predicted = outcomes.SelectMany(o => o.VisitPredicted).ToArray();
        var patients = outcomes.SelectMany(o => o.VisitPatients).ToArray();
        var distances = outcomes.SelectMany(o => o.VisitDistances).ToArray();
        var gaps = outcomes.SelectMany(o => o.VisitGaps).ToArray();
        var eval = new ChangeEvaluationResult(truth, predicted, Array.Empty<float>(), patients, outcomes.Count);
        var r = ChangeReport.Summarize(eval, distances, gaps, patients, _options.BootstrapResamples, (ulong)seed);
        return new VisitLevelResult(truth.Length, r.Accuracy, r.MacroF1, r.QuadraticKappa, r.Spearman)
        {
            Truth = truth, Predicted = predicted, PairPatients = patients, Distances = distances, Gaps = gaps,
        };
    }

    /// <summary>The stream the probe's bootstraps fork from: <c>new Rng(seed).Fork(ProbeBootstrapStream)</c>, then
    /// <c>.Fork(1)</c> for the clip level and <c>.Fork(2)</c> for the visit level.</summary>
    internal const ulong ProbeBootstrapStream = 0xB0B5;

    /// <summary>The health-score probe pooled over the folds, or null when a fold did not score it (the transductive
    /// mode, or folds saved before the probe existed).</summary>
    private HealthScoreProbeResult? PoolProbe(IReadOnlyList<FoldOutcome> outcomes, int seed)
    {
        if (outcomes.Any(o => o.ProbeScores.Length == 0)) return null;
        var rng = new Learner.Nn.Rng((ulong)seed).Fork(ProbeBootstrapStream);
        MetricInterval R2(double[] y, double[] p, int[] patients, Learner.Nn.Rng stream) => y.Length == 0
            ? new MetricInterval(double.NaN, double.NaN, double.NaN)
            : Bootstrap.ConfidenceInterval(patients, idx => Regression.RSquared(idx.Select(i => y[i]).ToArray(), idx.Select(i => p[i]).ToArray()),
                _options.BootstrapResamples, Bootstrap.DefaultLevel, stream);
        var clipY = outcomes.SelectMany(o => o.ProbeScores).ToArray();
        var clipP = outcomes.SelectMany(o => o.ProbePredictions).ToArray();
        var visitY = outcomes.SelectMany(o => o.VisitProbeScores).ToArray();
        var visitP = outcomes.SelectMany(o => o.VisitProbePredictions).ToArray();
        var clipPatients = outcomes.SelectMany(o => o.ProbePatients).ToArray();
        var visitPatients = outcomes.SelectMany(o => o.VisitProbePatients).ToArray();
        return new HealthScoreProbeResult(clipY.Length, visitY.Length, R2(clipY, clipP, clipPatients, rng.Fork(1)), R2(visitY, visitP, visitPatients, rng.Fork(2)))
        {
            ClipScores = clipY, ClipPredictions = clipP, ClipPatients = clipPatients,
            VisitScores = visitY, VisitPredictions = visitP, VisitPatients = visitPatients,
        };
    }

    /// <summary>A short untimed pretraining of the first objective on the first fold's pretraining patients, so that
    /// JIT compilation is not billed to the first run. Its encoder and objective are discarded.</summary>
    private void WarmUp(ObjectiveSpec spec, FoldPlan plan, int seed)
    {
        var warm = new FoldContext(this, plan.Pretrain, spec, seed, plan, 0, 1, 1, null, false, null, new ProgressTracker(0), Array.Empty<ConsecutivePair>(), null);
        warm.WarmUp();
    }

    private IReadOnlyList<KeyValuePair<string, string>> ResolvedSettings()
    {
        static string S(object? o) => o switch
        {
            null => "null",
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => o.ToString() ?? "",
        };
        var o = _options;
        var p = o.Pretraining;
        var b = o.BatchSource;
        var settings = new List<KeyValuePair<string, string>>
        {
            new("objectives", string.Join("; ", _specs.Select(s => s.ToString()))),
            new("seeds", string.Join(", ", o.Seeds)),
            new("backend", _backend.Name),
            new("protocol", o.Protocol.Name + (o.Protocol.TestFraction is { } tf ? $" (test fraction {S(tf)})" : o.Protocol.TestPatients is { } tp ? $" ({tp.Count} test patients)" : o.Protocol.Transductive ? $" ({o.Protocol.OuterFolds}-fold CV of the classifier only)" : $" ({o.Protocol.OuterFolds} outer folds)")),
            new("validation fraction", S(EffectiveValidationFraction)),
            new("input normalisation", p.InputNormalization switch { var n when n == ScanNormalization.Default => "ZScore per clip/volume (rank ≥ 2), feature vectors unchanged", { Method: IntensityNormalization.None } => "none", var n => $"{n.Method} per scan (rank ≥ {n.MinimumRank})" }),
            new("encoder", $"{o.Encoder.Architecture}{(o.Encoder.Preset == "small" ? "" : $" ({o.Encoder.Preset})")}, D = {o.Encoder.EmbeddingDimension}, width ×{S(o.Encoder.WidthMultiplier)}"),
            new("budget", $"{p.Epochs} epochs × {p.StepsPerEpoch} steps = {p.TotalSteps} steps, warm-up {p.WarmupSteps}, peak lr {S(p.Optimizer.LearningRate)}{OwnRates(o, v => S(v))}, max grad norm {S(p.MaxGradNorm)}"),
            new("early stopping", p.EarlyStopping is { } es ? $"{es.Metric}, patience {es.Patience}" : "off"),
            new("batch source", b.Kind switch
            {
                Training.BatchSourceKind.InterPatientPairs => $"inter-patient pairs: {b.PairsPerBatch} per step, {S(b.PositiveFraction)} positive ({b.PositiveRule}), negative gap {S(b.NegativeGap)} σ, curriculum {b.CurriculumShape} from {S(b.CurriculumStartGap)} σ over {(b.CurriculumEpochs is { } ce ? S(ce) : "all")} epochs",
                Training.BatchSourceKind.InterPatientTriplets => $"inter-patient triplets: {b.TripletsPerBatch} per step, negative gap {S(b.NegativeGap)} σ",
                _ => $"P×K patient batches: {b.PatientsPerBatch} patients × {b.ScansPerPatient} scans",
            }),
            new("change thresholds", $"{_thresholds.Mode}: improved above +{S(_thresholds.Improvement)}, worsened below −{S(_thresholds.Worsening)}"),
            new("search", o.Search.Trials == 0 ? "none (recipe defaults)" : $"{o.Search.Trials} {o.Search.Strategy} trials per objective and fold, selected by validation {o.Search.Metric}; lr ∈ {{{string.Join(", ", o.Search.LearningRates.Select(x => S(x)))}}}"),
            new("classifier", $"{o.Classifier.Head}, L2 {S(o.Classifier.L2)}, {o.Classifier.Iterations} iterations"),
            new("visit pooling", o.VisitPooling == VisitPooling.Attention ? "attention, fit on the classifier's training patients" : "mean of the visit's scans"),
            new("bootstrap", $"{o.BootstrapResamples} patient resamples, 95 % percentile intervals, stream Rng(seed).Fork(0x{ChangeReport.BootstrapStream:X})"),
        };
        // Listed only when set, so that folders written before it was recorded (none) still resume.
        if (p.Augmentation is { } augmentation) settings.Insert(8, new("augmentation", augmentation.Describe()));
        if (o.TestTimeAugmentation != TestTimeAugmentation.None)
            settings.Insert(settings.FindIndex(kv => kv.Key == "visit pooling"), new("test-time augmentation", o.TestTimeAugmentation switch
            {
                TestTimeAugmentation.Flip => "flip: each scan's embedding averaged with its mirror image's",
                var t => t.ToString(),
            }));
        return settings;
    }

    /// <summary>" (spec: rate, …)" for the objectives whose rate is their own rather than the optimizer's (an
    /// <see cref="ExperimentOptions.ObjectiveLearningRates"/> entry, or a selected rate), or "" when all share it.</summary>
    private string OwnRates(ExperimentOptions o, Func<double, string> format)
    {
        if (o.Search.Trials > 0) return "";
        bool Own(ObjectiveSpec s) => o.ObjectiveLearningRates?.Keys.Any(k => ObjectiveSpec.Parse(k).Equals(s)) == true
            || (o.UseSelectedLearningRates && ObjectiveRecipes.SelectedLearningRate(s) is not null);
        var own = _specs.Where(Own).Select(s => $"{s}: {format(o.LearningRateOf(s))}").ToList();
        return own.Count == 0 ? "" : $" ({string.Join(", ", own)}{(o.UseSelectedLearningRates ? "; the searches' selected rates" : "")})";
    }
}
