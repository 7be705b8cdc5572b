using System.Diagnostics;
using System.Globalization;
using Learner.Data;
using Learner.Nn;
using Learner.Nn.Serialization;
using Learner.Objectives;
using Microsoft.Extensions.Logging;

namespace Learner.Training;

// The step loop of the pretrainer: the epochs and steps, divergence detection and the rewind to the last good
// checkpoint, the objective head's steps, validation and early stopping, and the checkpoints written along the way.
// The public API, construction and resuming are in Pretrainer.cs.
public sealed partial class Pretrainer
{
    private PretrainingResult Train(PretrainingRunState state, RestorePoint? restore, IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        if (_options.EarlyStopping is not null && _validationSet is null)
            throw new InvalidOperationException("EarlyStopping is configured but the pretrainer has no ValidationSet.");
        string? tempBestDir = null;
        string? tempRestoreDir = null;
        _encoder.SetTraining(true);
        // Parts and mining counts are reported only to a progress sink (a device objective copies them per step); the
        // caller's setting is restored when the run ends, however it ends.
        var details = _objective as IDetailReporting;
        bool reportedDetails = details?.ReportsDetails ?? false;
        if (details is not null) details.ReportsDetails = progress is not null;
        try
        {
            // What a diverged run is restored to: the checkpoint resumed from, else a snapshot of the start; then every
            // checkpoint this call writes (each was checked finite).
            if (restore is null)
            {
                tempRestoreDir = Path.Combine(Path.GetTempPath(), $"learner-restore-{Guid.NewGuid():N}");
                Directory.CreateDirectory(tempRestoreDir);
                string encoderFile = Path.Combine(tempRestoreDir, "start.safetensors");
                _encoder.Save(encoderFile, _optimizer);
                string? headFile = null;
                if (_head is not null)
                {
                    headFile = Path.Combine(tempRestoreDir, "head-start.safetensors");
                    Checkpoint.Save(headFile, _head, _headOptimizer);
                }
                restore = new RestorePoint(encoderFile, headFile, state.StartStep);
            }
            try
            {
                return TrainSteps(state, progress, ct, ref restore, ref tempBestDir);
            }
            catch (TrainingDivergedException e) when (e.RestoredStep is null)
            {
                throw Restored(e, restore);
            }
        }
        finally
        {
            if (details is not null) details.ReportsDetails = reportedDetails;
            foreach (var temp in new[] { tempBestDir, tempRestoreDir })
                if (temp is not null && Directory.Exists(temp))
                    try { Directory.Delete(temp, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Restores the encoder, its optimizer and the head from <paramref name="point"/>; returns the exception to throw.</summary>
    private TrainingDivergedException Restored(TrainingDivergedException e, RestorePoint point)
    {
        try
        {
            _encoder.Load(point.Encoder, _optimizer, strict: true);
            if (_head is not null && point.Head is not null) Checkpoint.Load(point.Head, _head, _headOptimizer, null, strict: true);
            _logger.LogError("Pretraining diverged at step {Step} ({Term}, {Tensor}); restored the state after step {Restored}.", e.Step, e.Term, e.Tensor ?? "loss", point.Step);
            return new TrainingDivergedException(e.Step, e.Term, e.Tensor,
                string.Create(CultureInfo.InvariantCulture, $"{e.Message} The encoder, its optimizer and the objective head were restored to the state after step {point.Step}."), e.InnerException)
            { RestoredStep = point.Step };
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or Learner.Nn.Serialization.CheckpointException)
        {
            return new TrainingDivergedException(e.Step, e.Term, e.Tensor, $"{e.Message} Restoring the state after step {point.Step} from '{point.Encoder}' failed: {ex.Message}", ex);
        }
    }

    private PretrainingResult TrainSteps(PretrainingRunState state, IProgress<TrainingProgress>? progress, CancellationToken ct, ref RestorePoint restore, ref string? tempBestDir)
    {
        var early = _options.EarlyStopping;
        var buffers = new PretrainingBatchBuffers(_source, _encoder.EmbeddingDimension, _twoViews, _objective.Reads);
        var baseRng = new Rng(_options.Seed);
        var augmentRng = new Rng(_options.Seed).Fork(AugmentStream);
        var augmentation = _options.Augmentation ?? (_twoViews ? new AugmentationOptions() : null);
        var losses = new List<double>();
        string? lastCheckpoint = null;
        long total = _options.TotalSteps;
        var clock = Stopwatch.StartNew();
        var validator = _validator;
        bool stoppedEarly = early is not null && state.BadEpochs >= early.Patience;
        using var prefetcher = _options.PrefetchBatches && !stoppedEarly && state.StartStep < total
            ? new BatchPrefetcher(_source, _dataset, _twoViews ? 2 : 1, augmentation, baseRng, augmentRng, _options.StepsPerEpoch, state.StartStep, total)
            : null;
        long loadTicks = 0;
        {
            for (long step = state.StartStep; step < total && !stoppedEarly; step++)
            {
                if (ct.IsCancellationRequested)
                {
                    lastCheckpoint = SaveCheckpoint("last", step, state) ?? lastCheckpoint;
                    _logger.LogInformation("Pretraining cancelled before step {Step}; checkpoint {Path}", step, lastCheckpoint);
                    ct.ThrowIfCancellationRequested();
                }
                int epoch = (int)(step / _options.StepsPerEpoch);
                if (prefetcher is null)
                {
                    if (step % _options.StepsPerEpoch == 0 || step == state.StartStep) _source.BeginEpoch(epoch);
                    buffers.Draw(_source, _dataset, baseRng.Fork((ulong)step));
                }
                double lr = _options.LearningRateAt(step);
                _optimizer.LearningRate = lr;
                _optimizer.ZeroGrad();
                ObjectiveResult result;
                using (var scope = TensorScope.Begin())
                {
                    long loadStarted = Stopwatch.GetTimestamp();
                    var input = prefetcher?.Take(step, buffers) ?? buffers.LoadInput(_dataset, augmentation, augmentRng.Fork((ulong)step));
                    loadTicks += Stopwatch.GetTimestamp() - loadStarted;
                    _encoder.Forward(input, buffers.AllEmbeddings, requiresGrad: true);
                    try
                    {
                        result = _objective.Compute(buffers.Batch(), buffers.FirstGradient, buffers.SecondGradient);
                    }
                    catch (NonFiniteEmbeddingException e)
                    {
                        // Finite weights can still overflow in the forward: the encoder's output is the diverged tensor.
                        _encoder.DiscardGraph();
                        throw new TrainingDivergedException(step, "embeddings", "embeddings", $"Step {step}: the encoder's forward overflowed: {e.Message} The run has diverged; training stopped before the update, no checkpoint holds a non-finite tensor; lower the learning rate.", e);
                    }
                    catch
                    {
                        _encoder.DiscardGraph();
                        throw;
                    }
                    if (!double.IsFinite(result.Loss))
                    {
                        _encoder.DiscardGraph();
                        string term = NonFiniteTerm(result);
                        throw new TrainingDivergedException(step, term, $"Step {step}: the loss of '{_objective.Name}' is {result.Loss.ToString(CultureInfo.InvariantCulture)} (term '{term}'); training stopped before the update, the last checkpoint is intact.");
                    }
                    if (Exploded(result, state) is { } explosion)
                    {
                        _encoder.DiscardGraph();
                        throw new TrainingDivergedException(step, explosion.Term, string.Create(CultureInfo.InvariantCulture,
                            $"Step {step}: the loss of '{_objective.Name}' is {result.Loss:G4} (largest term '{explosion.Term}'), more than DivergenceFactor {_options.DivergenceFactor:G4} × {explosion.Reference:G4} (the larger of 1 and the median |loss| of the run's first {state.ReferenceLosses.Count} steps); the run is diverging. Training stopped before the update, no checkpoint holds a non-finite tensor; lower the learning rate, or raise PretrainingOptions.DivergenceFactor (0 turns this guard off)."));
                    }
                    _encoder.Backward(buffers.AllGradients);
                }
                try
                {
                    _optimizer.CheckGradientsFinite();
                    CheckHeadGradientsFinite();
                    if (_options.MaxGradNorm > 0) _optimizer.ClipGradNorm(_options.MaxGradNorm);
                }
                catch (NonFiniteValueException e)
                {
                    throw new TrainingDivergedException(step, "gradient", GradientTensor(e), $"Step {step}: {e.Message} Training stopped before the update; the last checkpoint is intact.", e);
                }
                _optimizer.Step();
                if (_headOptimizer is not null) StepHead(lr);
                // The update (and the training-mode forward's running statistics) must leave every tensor finite.
                if (_checkpoints.FindNonFinite() is { } bad)
                    throw new TrainingDivergedException(step, "state", bad.Name, $"Step {step}: after the update (loss {result.Loss.ToString("G4", CultureInfo.InvariantCulture)}), {bad}; the run has diverged. No checkpoint holds a non-finite tensor; lower the learning rate.");
                if (state.ReferenceLosses.Count < _options.DivergenceWindow) state.ReferenceLosses.Add(Math.Abs(result.Loss));
                losses.Add(result.Loss);
                state.EpochLossSum += result.Loss;
                state.EpochLossCount++;

                long done = step + 1;
                ValidationReport? report = null;
                if (done % _options.StepsPerEpoch == 0)
                {
                    int finished = (int)(done / _options.StepsPerEpoch);
                    if (validator is not null)
                    {
                        report = validator.Measure(finished, done, ct);
                        _logger.LogInformation("Epoch {Epoch} validation: loss {Loss:G4}, Spearman {Spearman:F3}, macro-F1 {F1:F3}, P@1 {P1:F3}",
                            finished, report.Loss, report.Spearman, report.MacroF1, report.PrecisionAt1);
                    }
                    state.Epochs.Add(new EpochSummary(finished, done, state.EpochLossCount > 0 ? state.EpochLossSum / state.EpochLossCount : double.NaN, lr, report));
                    state.EpochLossSum = 0;
                    state.EpochLossCount = 0;
                    if (early is not null && report is not null)
                    {
                        double value = report.Get(early.Metric);
                        bool better = double.IsFinite(value) && (state.BestValue is not { } best
                            || (early.LowerIsBetter ? value < best - early.MinDelta : value > best + early.MinDelta));
                        if (better)
                        {
                            state.BestValue = value;
                            state.BestEpoch = finished;
                            state.BadEpochs = 0;
                            string bestDir = _options.CheckpointDirectory ?? (tempBestDir ??= Path.Combine(Path.GetTempPath(), $"learner-best-{Guid.NewGuid():N}"));
                            state.BestCheckpoint = _checkpoints.SaveTo(bestDir, "best", done, state);
                            restore = new RestorePoint(state.BestCheckpoint, _head is null ? null : Path.Combine(bestDir, state.BestHead!), done);
                        }
                        else
                        {
                            state.BadEpochs++;
                            if (!double.IsFinite(value))
                                _logger.LogWarning("Epoch {Epoch}: the early-stopping metric {Metric} is {Value}; counted as no improvement.", finished, early.Metric, value);
                        }
                        if (state.BadEpochs >= early.Patience && done < total)
                        {
                            stoppedEarly = true;
                            _logger.LogInformation("Early stopping after epoch {Epoch}: {Metric} has not improved for {Patience} epochs (best {Best:G4} at epoch {BestEpoch}).",
                                finished, early.Metric, early.Patience, state.BestValue, state.BestEpoch);
                        }
                    }
                    _logger.LogInformation("Epoch {Epoch}/{Epochs} done: loss {Loss:G4}, lr {Lr:G3}", finished, _options.Epochs, result.Loss, lr);
                }
                if (_options.CheckpointDirectory is not null && (done % _options.CheckpointEverySteps == 0 || done == total || stoppedEarly))
                {
                    lastCheckpoint = SaveCheckpoint("last", done, state);
                    if (lastCheckpoint is not null) restore = new RestorePoint(lastCheckpoint, _head is null ? null : Path.Combine(_options.CheckpointDirectory, state.LastHead!), done);
                }
                if (progress is not null)
                {
                    double rate = (done - state.StartStep) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
                    var terms = new List<KeyValuePair<string, double>>();
                    foreach (var t in result.Terms) terms.Add(new(t.Name, t.Value));
                    var parts = new List<KeyValuePair<string, double>>(result.Parts.Count);
                    foreach (var t in result.Parts) parts.Add(new(t.Name, t.Value));
                    progress.Report(new TrainingProgress(epoch + 1, done, total, result.Loss, terms, lr, rate,
                        TimeSpan.FromSeconds((total - done) / Math.Max(rate, 1e-9))) { Validation = report, Parts = parts, Mining = result.Mining });
                }
            }
            string? bestPath = state.BestCheckpoint is not null && tempBestDir is null ? state.BestCheckpoint : null;
            if (early is { RestoreBestWeights: true } && state.BestCheckpoint is not null && File.Exists(state.BestCheckpoint))
            {
                _encoder.Load(state.BestCheckpoint, null, strict: true);
                if (_head is not null && state.BestHead is not null)
                    Checkpoint.Load(Path.Combine(Path.GetDirectoryName(state.BestCheckpoint)!, state.BestHead), _head, null, null, strict: true);
                _logger.LogInformation("Restored the weights of the best validation epoch {Epoch}.", state.BestEpoch);
            }
            return new PretrainingResult(state.StartStep + losses.Count, losses, lastCheckpoint)
            {
                Epochs = state.Epochs.ToArray(),
                BestEpoch = state.BestEpoch,
                BestValue = state.BestValue,
                BestCheckpoint = bestPath,
                StoppedEarly = stoppedEarly,
                DataWait = Stopwatch.GetElapsedTime(0, loadTicks),
                DataWaitShare = losses.Count == 0 ? 0 : Math.Min(1, Stopwatch.GetElapsedTime(0, loadTicks) / clock.Elapsed),
            };
        }
    }

    /// <summary>The explosion guard (<see cref="PretrainingOptions.DivergenceFactor"/>): the largest term and the reference
    /// when this step's loss exceeds the factor times the reference, else null.</summary>
    private (string Term, double Reference)? Exploded(ObjectiveResult result, PretrainingRunState state)
    {
        if (_options.DivergenceFactor == 0 || state.ReferenceLosses.Count == 0) return null;
        var sorted = state.ReferenceLosses.ToArray();
        Array.Sort(sorted);
        int n = sorted.Length;
        double median = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
        double reference = Math.Max(1, median);
        if (!(Math.Abs(result.Loss) > _options.DivergenceFactor * reference)) return null;
        string term = "loss";
        double largest = double.NegativeInfinity;
        foreach (var t in result.Terms)
            if (Math.Abs(t.Value) > largest) (largest, term) = (Math.Abs(t.Value), t.Name);
        return (term, reference);
    }

    /// <summary>The parameter a gradient check named ("gradient of parameter 'x'"), or null.</summary>
    private static string? GradientTensor(NonFiniteValueException e)
    {
        int start = e.Message.IndexOf('\'');
        int end = start < 0 ? -1 : e.Message.IndexOf('\'', start + 1);
        return end > start ? e.Message[(start + 1)..end] : null;
    }

    private void CheckHeadGradientsFinite()
    {
        if (_head is null) return;
        foreach (var p in _objective.Parameters)
        {
            var g = p.Gradient.Data;
            for (int i = 0; i < g.Length; i++)
                if (!float.IsFinite(g[i])) throw new NonFiniteValueException($"The gradient of the objective head parameter '{p.Name}' is not finite at element {i}.", i);
        }
    }

    private void StepHead(double lr)
    {
        _headOptimizer!.ZeroGrad();
        foreach (var g in _headOptimizer.ParamGroups) g.LearningRate = lr;
        using (var scope = TensorScope.Begin())
        {
            // d/dθ Σ θ ⊙ G = G: accumulates the objective's exact head gradient into θ.Grad.
            foreach (var p in _objective.Parameters) Ops.Sum(Ops.Mul(p.Value, p.Gradient)).Backward();
        }
        _headOptimizer.Step();
    }

    private static string NonFiniteTerm(ObjectiveResult result)
    {
        foreach (var t in result.Terms) if (!double.IsFinite(t.Value)) return t.Name;
        return "loss";
    }

    private string? SaveCheckpoint(string kind, long completedSteps, PretrainingRunState state)
        => _options.CheckpointDirectory is null ? null : _checkpoints.SaveTo(_options.CheckpointDirectory, kind, completedSteps, state);
}
