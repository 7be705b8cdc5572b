using System.Diagnostics;
using System.Globalization;
using Learner.Data;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Metrics;
using Learner.Objectives;
using Learner.Sampling;
using Learner.Training;

namespace Learner.Experiments;

public sealed partial class LearnerExperiment
{
    /// <summary>One outer fold of one run: pretraining (every trial of the search) on the fold's pretraining patients,
    /// selection on its validation patients, then one prediction of its held-out patients by the chosen model.</summary>
    private sealed class FoldContext(LearnerExperiment owner, LongitudinalDataset dataset, ObjectiveSpec spec, int seed, FoldPlan plan,
        int run, int runs, int folds, ExperimentStore? store, bool resume, IProgress<ExperimentStep>? steps, ProgressTracker tracker, IReadOnlyList<ConsecutivePair> pairs,
        VisitPairs? visits)
    {
        private readonly ExperimentOptions _o = owner._options;

        /// <summary>A trial's trained encoder and what selection needs of it.</summary>
        private sealed record Trained(IEncoder Encoder, double Score, double Seconds, double[] Losses, string Settings, float[]? TrainingEmbeddings);

        public FoldOutcome Run(CancellationToken ct)
        {
            var (pretrain, validation) = WithLabels(plan.Pretrain, plan.Validation);
            var stats = CohortStatistics.FromDataset(pretrain);
            var trials = HyperparameterSearch.Trials(spec, _o.Search, (ulong)seed * 1_000_003UL + (ulong)plan.Index);
            string foldDir = store?.FoldDirectory(spec.ToString(), seed, plan.Index) ?? "";
            Trained? best = null;
            var records = new List<TrialResult>();
            double seconds = 0;
            int count = Math.Max(1, trials.Count);
            try
            {
                for (int t = 0; t < count; t++)
                {
                    var trial = trials.Count > 0 ? trials[t] : null;
                    var trialSpec = trial is null ? spec : HyperparameterSearch.Apply(spec, trial);
                    double lr = trial?.LearningRate ?? _o.LearningRateOf(spec);
                    string? dir = store is null ? null : ExperimentStore.TrialDirectory(foldDir, trial is null ? -1 : t);
                    Trained trained;
                    try
                    {
                        trained = Train(pretrain, validation, stats, trialSpec, lr, trial is null ? -1 : t, trials.Count, dir, ct);
                    }
                    catch (TrainingDivergedException e) when (trial is not null && t < count - 1 || trial is not null && best is not null)
                    {
                        // A diverged trial is a result of the search (e.g. a learning rate too high), not a failure of the
                        // experiment: recorded with no score, never chosen. Without a search, or when every trial diverges,
                        // the divergence stops the experiment.
                        records.Add(new TrialResult(t, string.Create(CultureInfo.InvariantCulture, $"{trialSpec} @ lr={lr:R} (diverged at step {e.Step}: {e.Term})"), _o.Search.Metric, double.NaN, 0));
                        continue;
                    }
                    seconds += trained.Seconds;
                    if (trial is not null)
                        records.Add(new TrialResult(t, trained.Settings, _o.Search.Metric, trained.Score, trained.Seconds));
                    bool better = best is null || (double.IsFinite(trained.Score) && (!double.IsFinite(best.Score)
                        || (_o.Search.Metric == "loss" ? trained.Score < best.Score : trained.Score > best.Score)));
                    if (better)
                    {
                        (best?.Encoder as IDisposable)?.Dispose();
                        best = trained;
                    }
                    else (trained.Encoder as IDisposable)?.Dispose();
                }
                return Predict(best!, records, seconds, ct);
            }
            finally
            {
                (best?.Encoder as IDisposable)?.Dispose();
            }
        }

        /// <summary>Two untimed steps of pretraining (JIT warm-up); nothing is kept.</summary>
        public void WarmUp()
        {
            var (pretrain, _) = WithLabels(plan.Pretrain, null);
            var stats = CohortStatistics.FromDataset(pretrain);
            var encoder = owner._backend.CreateEncoder(_o.Encoder with { Seed = (ulong)seed });
            IObjective? objective = null;
            try
            {
                objective = owner._recipes.Build(spec, new ObjectiveContext(encoder.EmbeddingDimension, (ulong)seed, stats), owner._backend.Objectives);
                var source = _o.BatchSource.Create(pretrain, stats.HasScores ? stats.ScoreScale : 1.0, _o.Pretraining.Epochs);
                var options = _o.Pretraining with { Seed = (ulong)seed, CheckpointDirectory = null, EarlyStopping = null, Epochs = 1, StepsPerEpoch = 2, WarmupSteps = 0 };
                new Pretrainer(encoder, pretrain, source, objective, options).Run();
            }
            finally
            {
                (objective as IDisposable)?.Dispose();
                (encoder as IDisposable)?.Dispose();
            }
        }

        private Trained Train(LongitudinalDataset pretrain, LongitudinalDataset? validation, CohortStatistics stats, ObjectiveSpec trialSpec, double lr,
            int trial, int trials, string? dir, CancellationToken ct)
        {
            string settings = string.Create(CultureInfo.InvariantCulture, $"{trialSpec} @ lr={lr:R}");
            var encoder = owner._backend.CreateEncoder(_o.Encoder with { Seed = (ulong)seed });
            IObjective? objective = null;
            try
            {
                var record = resume && dir is not null ? ExperimentStore.TryLoadTrial(dir) : null;
                if (record is not null && record.Settings == settings)
                {
                    encoder.Load(Path.Combine(dir!, "last.safetensors"), null, strict: true);
                    tracker.Skip(_o.Pretraining.TotalSteps);
                    var emb = trials > 0 && _o.Search.Metric != "loss" ? Embed(encoder, plan.Pretrain, plan.Validation, ct) : null;
                    return new Trained(encoder, record.Score, record.Seconds, record.Losses, settings, emb);
                }
                objective = owner._recipes.Build(trialSpec, new ObjectiveContext(encoder.EmbeddingDimension, (ulong)seed, stats), owner._backend.Objectives);
                var source = _o.BatchSource.Create(pretrain, stats.HasScores ? stats.ScoreScale : 1.0, _o.Pretraining.Epochs);
                bool validate = validation is not null && (_o.Pretraining.EarlyStopping is not null || (trials > 0 && _o.Search.Metric == "loss"));
                var options = _o.Pretraining with
                {
                    Seed = (ulong)seed,
                    CheckpointDirectory = dir,
                    Optimizer = _o.Pretraining.Optimizer with { LearningRate = lr },
                    Validation = ValidationFor(validate ? validation : null),
                };
                var pretrainer = new Pretrainer(encoder, pretrain, source, objective, options) { ValidationSet = validate ? validation : null };
                var relay = new StepRelay(this, trial, trials);
                var clock = Stopwatch.StartNew();
                string? last = dir is null ? null : Path.Combine(dir, "last.safetensors");
                // No listener, no relay: a pretrainer without one skips the per-step details (device objectives copy
                // their parts back for them); the steps are then counted when it ends.
                var listener = RelaysSteps ? relay : null;
                var result = resume && last is not null && File.Exists(last) ? pretrainer.Resume(last, listener, ct) : pretrainer.Run(listener, ct);
                double seconds = clock.Elapsed.TotalSeconds;
                relay.Finish(_o.Pretraining.TotalSteps);
                float[]? embeddings = null;
                double score = double.NaN;
                if (trials > 0)
                {
                    if (_o.Search.Metric == "loss")
                        score = result.Epochs.LastOrDefault(e => e.Validation is not null)?.Validation!.Loss ?? double.NaN;
                    else
                    {
                        embeddings = Embed(encoder, plan.Pretrain, plan.Validation, ct);
                        score = ValidationScore(embeddings, encoder.EmbeddingDimension);
                    }
                }
                var losses = result.Losses.ToArray();
                if (dir is not null) ExperimentStore.SaveTrial(dir, new TrialRecord(trial, settings, score, seconds, losses));
                return new Trained(encoder, score, seconds, losses, settings, embeddings);
            }
            catch
            {
                (encoder as IDisposable)?.Dispose();
                throw;
            }
            finally
            {
                (objective as IDisposable)?.Dispose();
            }
        }

        /// <summary>The pretrainer's validation settings for this fold: the experiment's change thresholds (unless set
        /// there) and at most as many change folds as the validation set has patients (at least 2).</summary>
        private ValidationOptions ValidationFor(LongitudinalDataset? validation)
        {
            var v = _o.Pretraining.Validation;
            if (validation is null) return v;
            if (validation.PatientCount < 2)
                throw new ArgumentException($"Fold {plan.Index} has {validation.PatientCount} validation patient(s); validation during pretraining needs at least 2. Raise Protocol.ValidationFraction or use more patients.", nameof(validation));
            return v with { ChangeThresholds = v.ChangeThresholds ?? owner._thresholds, ChangeFolds = Math.Min(v.ChangeFolds, validation.PatientCount) };
        }

        /// <summary>Embeds the scans of the given groups into a full-dataset matrix (rows of other patients stay zero).</summary>
        private float[] Embed(IEncoder encoder, LongitudinalDataset first, LongitudinalDataset? second, CancellationToken ct, float[]? into = null)
        {
            int d = encoder.EmbeddingDimension;
            var full = into ?? new float[dataset.ScanCount * d];
            foreach (var part in second is null ? new[] { first } : new[] { first, second })
            {
                if (part.ScanCount == 0) continue;
                var e = Embedder.EmbedAll(encoder, part, _o.TestTimeAugmentation, 64, ct);
                for (int i = 0; i < part.ScanCount; i++)
                    e.AsSpan(i * d, d).CopyTo(full.AsSpan(dataset.GetScan(part.Scans[i].Id).Index * d, d));
            }
            return full;
        }

        private double ValidationScore(float[] embeddings, int d)
        {
            var validation = plan.Validation!;
            var (eval, rows) = ChangeEvaluation.FitAndPredict(dataset, embeddings, d, owner._thresholds,
                plan.Pretrain.Patients.Select(p => p.Id).ToArray(), validation.Patients.Select(p => p.Id).ToArray(), _o.Classifier);
            return _o.Search.Metric switch
            {
                "accuracy" => eval.Accuracy,
                "quadraticKappa" => eval.QuadraticKappa,
                "spearman" => Spearman(embeddings, d, rows),
                _ => eval.MacroF1,
            };
        }

        private double Spearman(float[] embeddings, int d, int[] rows)
        {
            if (rows.Length < 2) return double.NaN;
            return Alignment.Compute(embeddings, d, rows.Select(r => (pairs[r].Before, pairs[r].After)).ToArray(), rows.Select(r => Math.Abs((double)pairs[r].HealthChange)).ToArray()).Spearman;
        }

        private FoldOutcome Predict(Trained chosen, List<TrialResult> trials, double seconds, CancellationToken ct)
        {
            var encoder = chosen.Encoder;
            int d = encoder.EmbeddingDimension;
            double finalLoss = chosen.Losses.Skip(Math.Max(0, chosen.Losses.Length - 10)).DefaultIfEmpty(double.NaN).Average();
            int? chosenIndex = trials.Count > 0 ? trials.First(t => t.Settings == chosen.Settings).Index : null;
            if (plan.Test is null)
            {
                // Transductive: every patient pretrained; only the classifier is cross-validated.
                var all = Embedder.EmbedAll(encoder, dataset, _o.TestTimeAugmentation, 64, ct);
                var cv = ChangeEvaluation.CrossValidate(dataset, all, d, owner._thresholds, _o.Protocol.OuterFolds, seed, _o.Classifier);
                var align = Alignment.Compute(all, d, pairs.Select(p => (p.Before, p.After)).ToArray(), pairs.Select(p => Math.Abs((double)p.HealthChange)).ToArray());
                var folds = PatientSplits.KFold(dataset, _o.Protocol.OuterFolds, seed);
                return new FoldOutcome
                {
                    Fold = plan.Record(folds.SelectMany(f => f.Test.Patients.Select(p => p.Id)).ToArray()) with { ChosenSettings = chosen.Settings, PretrainingSeconds = seconds, FinalLoss = finalLoss },
                    Truth = cv.Truth, Predicted = cv.Predicted, PairPatients = cv.PatientIndices,
                    Distances = align.Distances.ToArray(), Gaps = pairs.Select(p => Math.Abs((double)p.HealthChange)).ToArray(),
                    AlignmentPatients = pairs.Select(p => dataset.Scans[p.Before].PatientIndex).ToArray(),
                    Losses = chosen.Losses,
                };
            }
            // Held out: the test patients are embedded once, by the chosen model, and predicted by a classifier fit on the
            // training patients' pairs only.
            var embeddings = chosen.TrainingEmbeddings ?? Embed(encoder, plan.Pretrain, plan.Validation, ct);
            Embed(encoder, plan.Test, null, ct, embeddings);
            var (eval, rows) = ChangeEvaluation.FitAndPredict(dataset, embeddings, d, owner._thresholds, plan.ClassifierPatients,
                plan.Test.Patients.Select(p => p.Id).ToArray(), _o.Classifier);
            var gaps = rows.Select(r => Math.Abs((double)pairs[r].HealthChange)).ToArray();
            var distances = Alignment.Compute(embeddings, d, rows.Select(r => (pairs[r].Before, pairs[r].After)).ToArray(), gaps).Distances.ToArray();
            // Visit level: the same held-out patients, each visit the mean of its scans' embeddings (or their attention-
            // weighted mean, the attention fit on the classifier's training patients only).
            int[] vTruth = Array.Empty<int>(), vPred = Array.Empty<int>(), vPatients = Array.Empty<int>();
            double[] vDistances = Array.Empty<double>(), vGaps = Array.Empty<double>();
            var clipProbe = Probe(embeddings, d, dataset.Scans.Select(s => s.ChangeScore ?? double.NaN).ToArray(),
                dataset.Scans.Select(s => s.PatientIndex).ToArray(), dataset.Scans.Select(s => s.PatientId).ToArray());
            ProbeRows visitProbe = ProbeRows.Empty;
            if (visits is { Pairs.Count: > 0 })
            {
                var visitEmbeddings = _o.VisitPooling == VisitPooling.Attention
                    ? AttentionVisitPooling.Fit(visits, embeddings, d, plan.ClassifierPatients).Pool(embeddings)
                    : visits.MeanEmbeddings(embeddings, d);
                var (visitEval, visitRows) = visits.FitAndPredictOnVisits(visitEmbeddings, d, plan.ClassifierPatients, plan.Test.Patients.Select(p => p.Id).ToArray(), _o.Classifier);
                (vTruth, vPred, vPatients) = (visitEval.Truth, visitEval.Predicted, visitEval.PatientIndices);
                vGaps = visitRows.Select(r => Math.Abs((double)visits.Pairs[r].HealthChange)).ToArray();
                vDistances = Alignment.Compute(visitEmbeddings, d, visitRows.Select(r => (visits.Pairs[r].Before, visits.Pairs[r].After)).ToArray(), vGaps).Distances.ToArray();
                visitProbe = Probe(visitEmbeddings, d, visits.Visits.Select(v => v.ChangeScore).ToArray(),
                    visits.Visits.Select(v => v.PatientIndex).ToArray(), visits.Visits.Select(v => v.PatientId).ToArray());
            }
            return new FoldOutcome
            {
                ProbeScores = clipProbe.Scores, ProbePredictions = clipProbe.Predictions, ProbePatients = clipProbe.Patients,
                VisitProbeScores = visitProbe.Scores, VisitProbePredictions = visitProbe.Predictions, VisitProbePatients = visitProbe.Patients,
                VisitTruth = vTruth, VisitPredicted = vPred, VisitPatients = vPatients, VisitDistances = vDistances, VisitGaps = vGaps,
                Fold = plan.Record() with { Trials = trials, ChosenTrial = chosenIndex, ChosenSettings = chosen.Settings, PretrainingSeconds = seconds, FinalLoss = finalLoss },
                Truth = eval.Truth, Predicted = eval.Predicted, PairPatients = eval.PatientIndices, Distances = distances, Gaps = gaps,
                AlignmentPatients = eval.PatientIndices,
                Losses = chosen.Losses,
            };
        }

        /// <summary>The held-out rows of the health-score probe: score, prediction and patient index of each test row.</summary>
        private sealed record ProbeRows(double[] Scores, double[] Predictions, int[] Patients)
        {
            public static readonly ProbeRows Empty = new(Array.Empty<double>(), Array.Empty<double>(), Array.Empty<int>());
        }

        /// <summary>Fits the health-score probe on the rows (scans or visits) of the classifier's training patients with a
        /// finite score and predicts the test patients' such rows once; empty when either side has too few rows.</summary>
        private ProbeRows Probe(float[] embeddings, int d, double[] scores, int[] patientIndex, string[] patientId)
        {
            var train = plan.ClassifierPatients.ToHashSet(StringComparer.Ordinal);
            var test = plan.Test!.Patients.Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
            var trainRows = Enumerable.Range(0, scores.Length).Where(i => double.IsFinite(scores[i]) && train.Contains(patientId[i])).ToArray();
            var testRows = Enumerable.Range(0, scores.Length).Where(i => double.IsFinite(scores[i]) && test.Contains(patientId[i])).ToArray();
            if (trainRows.Length < 2 || testRows.Length == 0) return ProbeRows.Empty;
            var probe = HealthScoreProbe.Fit(embeddings, d, scores, trainRows);
            return new ProbeRows(testRows.Select(i => scores[i]).ToArray(), probe.Predict(embeddings, testRows), testRows.Select(i => patientIndex[i]).ToArray());
        }

        /// <summary>Adds coarse labels from the pretraining patients' score quartiles when the scans have none (the bins
        /// are computed from pretraining patients only and applied to the validation patients).</summary>
        private static (LongitudinalDataset Pretrain, LongitudinalDataset? Validation) WithLabels(LongitudinalDataset pretrain, LongitudinalDataset? validation)
        {
            bool missing = pretrain.Scans.Any(s => s.CoarseLabel is null) || validation is not null && validation.Scans.Any(s => s.CoarseLabel is null);
            if (!missing || !pretrain.Scans.All(s => s.HasScore) || validation is not null && !validation.Scans.All(s => s.HasScore)) return (pretrain, validation);
            var binning = ScoreBinning.FromQuantiles(pretrain.Scans.Select(s => s.Score!.Value), 4, pretrain.HigherIsHealthier);
            return (pretrain.WithCoarseLabels(binning), validation?.WithCoarseLabels(binning));
        }

        private void Report(ExperimentStep step) => steps?.Report(step);

        private bool RelaysSteps => steps is not null;

        private long Advance(long steps) => tracker.Advance(steps);

        private object ReportGate => tracker.Gate;

        private ExperimentStep Step(TrainingProgress value, int trial, int trials, long done) =>
            new(spec.ToString(), seed, run, runs, value)
            {
                Fold = plan.Index, Folds = folds, Trial = trial, Trials = trials,
                CompletedSteps = done, TotalSteps = tracker.Total, Eta = tracker.Eta,
            };

        /// <summary>Adds one pretraining's steps to the experiment's count as they run and relays them to the caller.</summary>
        private sealed class StepRelay(FoldContext fold, int trial, int trials) : IProgress<TrainingProgress>
        {
            private long _counted;

            public void Report(TrainingProgress value)
            {
                // Counted and delivered under one lock: folds side by side report their steps in the order counted.
                lock (fold.ReportGate)
                {
                    long done = fold.Advance(value.Step - _counted);
                    _counted = value.Step;
                    fold.Report(fold.Step(value, trial, trials, done));
                }
            }

            /// <summary>Counts the pretraining as <paramref name="total"/> steps once it has ended (early stopping included).</summary>
            public void Finish(long total)
            {
                fold.Advance(total - _counted);
                _counted = total;
            }
        }
    }

    /// <summary>Steps done of the whole experiment and the training speed, for the ETA.</summary>
    private sealed class ProgressTracker(long total)
    {
        private readonly Stopwatch _clock = new();
        private readonly object _gate = new();
        private long _completed, _skipped;

        public long Total { get; } = total;

        /// <summary>The lock of the counts, which also serialises the reports of folds side by side.</summary>
        public object Gate => _gate;

        /// <summary>Steps that ran earlier (resumed), counted as done but not timed.</summary>
        public void Skip(long steps)
        {
            lock (_gate)
            {
                _completed += steps;
                _skipped += steps;
            }
        }

        /// <summary>Steps that ran now (folds side by side each add theirs); starts the clock at the first.</summary>
        /// <returns>The steps done in all.</returns>
        public long Advance(long steps)
        {
            lock (_gate)
            {
                if (!_clock.IsRunning) _clock.Start();
                return _completed += steps;
            }
        }

        public TimeSpan Eta
        {
            get
            {
                lock (_gate)
                {
                    double rate = (_completed - _skipped) / Math.Max(1e-9, _clock.Elapsed.TotalSeconds);
                    return rate > 0 ? TimeSpan.FromSeconds(Math.Min((Total - _completed) / rate, TimeSpan.MaxValue.TotalSeconds / 2)) : TimeSpan.Zero;
                }
            }
        }
    }
}
