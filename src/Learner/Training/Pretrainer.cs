using System.Diagnostics;
using System.Globalization;
using Learner.Data;
using Learner.Encoders;
using Learner.Nn;
using Learner.Objectives;
using Learner.Sampling;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Learner.Training;

/// <summary>
/// Pretrains an encoder through the encoder seam: batches of scans from a batch sampler, embeddings from the encoder,
/// the objective's exact embedding gradient back through the encoder, an optimizer step with a warm-up + cosine
/// learning rate. Checkpoints are atomic; a run cancelled or killed between steps resumes from its last checkpoint to
/// the same final weights, bit for bit, as an uninterrupted run with the same seed.
/// </summary>
/// <remarks>
/// The batch of global step s is drawn with <c>new Rng(options.Seed).Fork(s)</c>, so the sequence of batches does not
/// depend on where a run was interrupted. Encoders whose modules hold their own random state (dropout) resume
/// deterministically only if that state is part of their checkpoint; likewise the head an objective owns (the MSE
/// baseline's) trains with its own AdamW whose state is not in the checkpoint yet. The loop supplies scores, patient ids and coarse labels;
/// pair objectives then use every in-batch pair. Objectives that need a second view (InfoNCE) or provided triplets are
/// not driven by this loop yet.
/// </remarks>
public sealed class Pretrainer
{
    private const string StepKey = "pretrain.step";
    private const string SeedKey = "pretrain.seed";
    private readonly IEncoder _encoder;
    private readonly LongitudinalDataset _dataset;
    private readonly IBatchSampler _sampler;
    private readonly IObjective _objective;
    private readonly PretrainingOptions _options;
    private readonly ILogger _logger;
    private readonly IEncoderOptimizer _optimizer;
    private readonly Learner.Nn.Optim.AdamW? _headOptimizer;

    /// <summary>Prepares a run.</summary>
    /// <param name="encoder">The encoder to train.</param>
    /// <param name="dataset">The scans the sampler indexes.</param>
    /// <param name="sampler">Draws the scan indices of each batch.</param>
    /// <param name="objective">The objective (any <see cref="IObjective"/>, including a composite).</param>
    /// <param name="options">Settings (validated).</param>
    /// <param name="logger">Optional logger.</param>
    /// <exception cref="ArgumentException">An option is invalid, or the objective needs inputs this loop does not supply.</exception>
    public Pretrainer(IEncoder encoder, LongitudinalDataset dataset, IBatchSampler sampler, IObjective objective, PretrainingOptions options, ILogger<Pretrainer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var unsupported = objective.Requires & (BatchFields.SecondView | BatchFields.Triplets);
        if (unsupported != 0)
            throw new ArgumentException($"Objective '{objective.Name}' needs {unsupported}, which the pretraining loop does not supply yet; use an objective over scores, patient ids or coarse labels.", nameof(objective));
        if (objective.Requires.HasFlag(BatchFields.Scores) && dataset.Scans.Any(s => s.Score is null || !double.IsFinite(s.Score.Value)))
        {
            var bad = dataset.Scans.First(s => s.Score is null || !double.IsFinite(s.Score.Value));
            throw new ArgumentException($"Objective '{objective.Name}' needs health scores, but scan '{bad.Id}' of patient '{bad.PatientId}' has {(bad.Score is null ? "none" : bad.Score.Value.ToString(CultureInfo.InvariantCulture))}.", nameof(dataset));
        }
        if (objective.Requires.HasFlag(BatchFields.Labels) && dataset.Scans.Any(s => s.CoarseLabel is null))
        {
            var bad = dataset.Scans.First(s => s.CoarseLabel is null);
            throw new ArgumentException($"Objective '{objective.Name}' needs coarse labels, but scan '{bad.Id}' has none; bin the scores first (LongitudinalDataset.WithCoarseLabels).", nameof(dataset));
        }
        _encoder = encoder;
        _dataset = dataset;
        _sampler = sampler;
        _objective = objective;
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _optimizer = encoder.CreateOptimizer(options.Optimizer);
        // Heads the objective owns (the MSE baseline's linear head) train with AdamW at the same schedule.
        if (objective.Parameters.Count > 0)
            _headOptimizer = new Learner.Nn.Optim.AdamW(objective.Parameters.Select(p => p.Value.RequireGrad()), options.Optimizer.LearningRate, weightDecay: 0);
    }

    /// <summary>The optimizer this run updates the encoder with.</summary>
    public IEncoderOptimizer Optimizer => _optimizer;

    /// <summary>Runs from step 0.</summary>
    /// <param name="progress">Receives progress after every step.</param>
    /// <param name="cancellationToken">Checked between steps; on cancellation a checkpoint is written (when a checkpoint
    /// folder is set) and <see cref="OperationCanceledException"/> is thrown.</param>
    /// <returns>The result.</returns>
    public PretrainingResult Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        => Train(0, progress, cancellationToken);

    /// <summary>Continues a run from a checkpoint written by this pretrainer (same options and seed).</summary>
    /// <param name="checkpointPath">The checkpoint.</param>
    /// <param name="progress">Receives progress after every step.</param>
    /// <param name="cancellationToken">Checked between steps.</param>
    /// <returns>The result.</returns>
    /// <exception cref="InvalidDataException">The checkpoint was not written by a pretrainer, or with another seed.</exception>
    public PretrainingResult Resume(string checkpointPath, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var meta = _encoder.Load(checkpointPath, _optimizer, strict: true);
        if (!meta.TryGetValue(StepKey, out var stepText) || !long.TryParse(stepText, NumberStyles.None, CultureInfo.InvariantCulture, out long step))
            throw new InvalidDataException($"'{checkpointPath}' is not a pretraining checkpoint: its metadata has no '{StepKey}'.");
        if (!meta.TryGetValue(SeedKey, out var seedText) || seedText != _options.Seed.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"'{checkpointPath}' was written with seed {seedText ?? "(none)"}, but this run's seed is {_options.Seed}; resuming would not reproduce the run.");
        if (step > _options.TotalSteps)
            throw new InvalidDataException($"'{checkpointPath}' is at step {step}, beyond this run's {_options.TotalSteps} steps.");
        _logger.LogInformation("Resuming pretraining of {Encoder} from step {Step} ({Path})", _encoder.Name, step, checkpointPath);
        return Train(step, progress, cancellationToken);
    }

    private PretrainingResult Train(long startStep, IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        int b = _sampler.BatchSize, d = _encoder.EmbeddingDimension;
        var indices = new int[b];
        var embeddings = new float[b * d];
        var gradient = new float[b * d];
        var scores = new float[b];
        var patients = new int[b];
        var labels = new int[b];
        var metadata = new BatchMetadata();
        var requires = _objective.Requires;
        if (requires.HasFlag(BatchFields.Scores)) metadata.Scores = scores;
        if (requires.HasFlag(BatchFields.PatientIds)) metadata.PatientIds = patients;
        if (requires.HasFlag(BatchFields.Labels)) metadata.Labels = labels;
        var baseRng = new Rng(_options.Seed);
        var losses = new List<double>();
        string? lastCheckpoint = null;
        long total = _options.TotalSteps;
        var clock = Stopwatch.StartNew();
        _encoder.SetTraining(true);

        for (long step = startStep; step < total; step++)
        {
            if (ct.IsCancellationRequested)
            {
                lastCheckpoint = SaveCheckpoint(step) ?? lastCheckpoint;
                _logger.LogInformation("Pretraining cancelled before step {Step}; checkpoint {Path}", step, lastCheckpoint);
                ct.ThrowIfCancellationRequested();
            }
            _sampler.SampleBatch(indices, baseRng.Fork((ulong)step));
            for (int i = 0; i < b; i++)
            {
                var scan = _dataset.Scans[indices[i]];
                scores[i] = (float)(scan.Score ?? double.NaN);
                patients[i] = scan.PatientIndex;
                labels[i] = scan.CoarseLabel ?? -1;
            }
            double lr = _options.LearningRateAt(step);
            _optimizer.LearningRate = lr;
            _optimizer.ZeroGrad();
            ObjectiveResult result;
            using (var scope = TensorScope.Begin())
            {
                var input = _dataset.LoadBatch(indices);
                _encoder.Forward(input, embeddings, requiresGrad: true);
                try
                {
                    var batch = metadata.ToBatch(embeddings, b, d, default);
                    result = _objective.Compute(batch, gradient);
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
                _encoder.Backward(gradient);
            }
            try
            {
                _optimizer.CheckGradientsFinite();
                if (_options.MaxGradNorm > 0) _optimizer.ClipGradNorm(_options.MaxGradNorm);
            }
            catch (NonFiniteValueException e)
            {
                throw new TrainingDivergedException(step, "gradient", $"Step {step}: {e.Message} Training stopped before the update; the last checkpoint is intact.", e);
            }
            _optimizer.Step();
            if (_headOptimizer is not null) StepHead(lr);
            losses.Add(result.Loss);

            long done = step + 1;
            if (_options.CheckpointDirectory is not null && (done % _options.CheckpointEverySteps == 0 || done == total))
                lastCheckpoint = SaveCheckpoint(done);
            if (progress is not null)
            {
                double rate = (done - startStep) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
                var terms = new List<KeyValuePair<string, double>>();
                foreach (var t in result.Terms.Span) terms.Add(new(t.Name, t.Value));
                progress.Report(new TrainingProgress((int)(step / _options.StepsPerEpoch) + 1, done, total, result.Loss, terms, lr, rate,
                    TimeSpan.FromSeconds((total - done) / Math.Max(rate, 1e-9))));
            }
            if (done % _options.StepsPerEpoch == 0)
                _logger.LogInformation("Epoch {Epoch}/{Epochs} done: loss {Loss:G4}, lr {Lr:G3}", done / _options.StepsPerEpoch, _options.Epochs, result.Loss, lr);
        }
        return new PretrainingResult(total, losses, lastCheckpoint);
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
        foreach (var t in result.Terms.Span) if (!double.IsFinite(t.Value)) return t.Name;
        return "loss";
    }

    private string? SaveCheckpoint(long completedSteps)
    {
        if (_options.CheckpointDirectory is null) return null;
        Directory.CreateDirectory(_options.CheckpointDirectory);
        string path = Path.Combine(_options.CheckpointDirectory, "last.safetensors");
        _encoder.Save(path, _optimizer, new Dictionary<string, string>
        {
            [StepKey] = completedSteps.ToString(CultureInfo.InvariantCulture),
            [SeedKey] = _options.Seed.ToString(CultureInfo.InvariantCulture),
            ["pretrain.objective"] = _objective.Name,
            ["pretrain.encoder"] = _encoder.Name,
        });
        return path;
    }
}
