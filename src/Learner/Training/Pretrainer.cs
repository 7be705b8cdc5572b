using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Learner.Data;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Metrics;
using Learner.Nn;
using Learner.Nn.Modules;
using Learner.Nn.Serialization;
using Learner.Objectives;
using Learner.Sampling;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Learner.Training;

/// <summary>
/// Pretrains an encoder through the encoder seam: batches of scans from a sampler, embeddings from the encoder, the
/// objective's exact embedding gradient back through the encoder, an optimizer step with a warm-up + cosine learning
/// rate; validation after each epoch with early stopping on a chosen metric. Checkpoints are atomic; a run cancelled or
/// killed between steps resumes from its last checkpoint to the same final weights, bit for bit, as an uninterrupted
/// run with the same seed.
/// </summary>
/// <remarks>
/// <para>The batch of global step s is drawn with <c>new Rng(options.Seed).Fork(s)</c> and augmented from a second stream
/// forked the same way, so the sequence of batches does not depend on where a run was interrupted.</para>
/// <para>Inputs each objective needs are supplied by the loop: scores, patient ids and coarse labels from the scans;
/// a second, independently augmented view of every scan for two-view objectives (InfoNCE), both views going through the
/// encoder in one forward pass of 2B scans; triplets from an <see cref="ITripletSampler"/> (the constructor that takes a
/// triplet-sampler factory), the batch being the B anchors, then the B positives, then the B negatives. Pair objectives
/// use every in-batch pair.</para>
/// <para>Heads an objective owns (the MSE baseline's linear head) train with AdamW on the same schedule; their weights and
/// AdamW state are checkpointed beside the encoder's (<c>head-&lt;step&gt;.safetensors</c>, referenced from the encoder
/// checkpoint's metadata and written before it, so a crash between the two writes never pairs mismatched files).
/// Encoders whose modules hold their own random state (dropout) resume deterministically only if that state is part of
/// their checkpoint.</para>
/// </remarks>
public sealed class Pretrainer
{
    private const string StepKey = "pretrain.step";
    private const string SeedKey = "pretrain.seed";
    private const string HeadKey = "pretrain.head";
    private const string BestHeadKey = "pretrain.best_head";
    private const string StateKey = "pretrain.state";
    private const ulong AugmentStream = 0xA09_0E27;
    private const ulong ValidationStream = 0x7A11_D000;

    private readonly IEncoder _encoder;
    private readonly LongitudinalDataset _dataset;
    private readonly IBatchSource _source;
    private readonly Func<LongitudinalDataset, ITripletSampler>? _tripletSamplerFactory;
    private readonly IObjective _objective;
    private readonly PretrainingOptions _options;
    private readonly ILogger _logger;
    private readonly IEncoderOptimizer _optimizer;
    private readonly Learner.Nn.Optim.AdamW? _headOptimizer;
    private readonly HeadModule? _head;
    private readonly bool _twoViews;
    private LongitudinalDataset? _validationSet;

    /// <summary>Prepares a run whose batches come from a batch sampler.</summary>
    /// <param name="encoder">The encoder to train.</param>
    /// <param name="dataset">The scans the sampler indexes.</param>
    /// <param name="sampler">Draws the scan indices of each batch.</param>
    /// <param name="objective">The objective (any <see cref="IObjective"/>, including a composite).</param>
    /// <param name="options">Settings (validated).</param>
    /// <param name="logger">Optional logger.</param>
    /// <exception cref="ArgumentException">An option is invalid, or the objective needs inputs the dataset lacks, or
    /// triplets (use the constructor that takes a triplet sampler).</exception>
    public Pretrainer(IEncoder encoder, LongitudinalDataset dataset, IBatchSampler sampler, IObjective objective, PretrainingOptions options, ILogger<Pretrainer>? logger = null)
        : this(encoder, dataset, new SamplerSource(sampler ?? throw new ArgumentNullException(nameof(sampler))), null, objective, options, logger)
    {
        if (objective.Requires.HasFlag(BatchFields.Triplets))
            throw new ArgumentException($"Objective '{objective.Name}' needs Triplets; create the pretrainer with a triplet sampler (the constructor taking Func<LongitudinalDataset, ITripletSampler>).", nameof(objective));
    }

    /// <summary>Prepares a run whose batches are triplets (anchor, positive, negative) from a triplet sampler; the
    /// objective receives them as <see cref="EmbeddingBatch.Triplets"/>.</summary>
    /// <param name="encoder">The encoder to train.</param>
    /// <param name="dataset">The training scans.</param>
    /// <param name="tripletSampler">Creates a triplet sampler over a dataset: called once for the training set and once for
    /// the validation set (whose objective value uses triplets drawn the same way).</param>
    /// <param name="tripletsPerBatch">Triplets per step (≥ 1); a step forwards 3 × this many scans.</param>
    /// <param name="objective">The objective.</param>
    /// <param name="options">Settings (validated).</param>
    /// <param name="logger">Optional logger.</param>
    /// <exception cref="ArgumentException">An option is invalid, or the objective needs inputs the dataset lacks.</exception>
    public Pretrainer(IEncoder encoder, LongitudinalDataset dataset, Func<LongitudinalDataset, ITripletSampler> tripletSampler, int tripletsPerBatch, IObjective objective, PretrainingOptions options, ILogger<Pretrainer>? logger = null)
        : this(encoder, dataset, CreateTripletSource(dataset, tripletSampler, tripletsPerBatch), tripletSampler, objective, options, logger)
    {
    }

    private Pretrainer(IEncoder encoder, LongitudinalDataset dataset, IBatchSource source, Func<LongitudinalDataset, ITripletSampler>? tripletFactory, IObjective objective, PretrainingOptions options, ILogger<Pretrainer>? logger)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        CheckDataset(objective, dataset, nameof(dataset));
        _encoder = encoder;
        _dataset = dataset;
        _source = source;
        _tripletSamplerFactory = tripletFactory;
        _objective = objective;
        _options = options;
        _twoViews = objective.Requires.HasFlag(BatchFields.SecondView);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _optimizer = encoder.CreateOptimizer(options.Optimizer);
        // Heads the objective owns (the MSE baseline's linear head) train with AdamW at the same schedule.
        if (objective.Parameters.Count > 0)
        {
            _head = new HeadModule(objective.Parameters);
            _headOptimizer = new Learner.Nn.Optim.AdamW(_head.Parameters(), options.Optimizer.LearningRate, weightDecay: 0);
        }
    }

    /// <summary>The optimizer this run updates the encoder with.</summary>
    public IEncoderOptimizer Optimizer => _optimizer;

    /// <summary>Scans measured after each epoch (objective value, alignment, retrieval and, when
    /// <see cref="ValidationOptions.ChangeThresholds"/> is set, change classification), or null for none. Use patients
    /// disjoint from the training set (<see cref="PatientSplits"/>). Required by early stopping.</summary>
    /// <exception cref="ArgumentException">The set lacks what the objective or the configured metrics need, or shares a
    /// patient with the training set.</exception>
    public LongitudinalDataset? ValidationSet
    {
        get => _validationSet;
        init
        {
            if (value is not null)
            {
                CheckDataset(_objective, value, nameof(ValidationSet));
                var train = new HashSet<string>(_dataset.Scans.Select(s => s.PatientId), StringComparer.Ordinal);
                var shared = value.Scans.FirstOrDefault(s => train.Contains(s.PatientId));
                if (shared is not null)
                    throw new PatientLeakageException(shared.PatientId, "training set", "validation set");
                if (_options.Validation.ChangeThresholds is not null && value.PatientCount < _options.Validation.ChangeFolds)
                    throw new ArgumentException($"The validation set has {value.PatientCount} patients, fewer than Validation.ChangeFolds = {_options.Validation.ChangeFolds}.", nameof(ValidationSet));
            }
            _validationSet = value;
        }
    }

    /// <summary>Runs from step 0.</summary>
    /// <param name="progress">Receives progress after every step.</param>
    /// <param name="cancellationToken">Checked between steps; on cancellation a checkpoint is written (when a checkpoint
    /// folder is set) and <see cref="OperationCanceledException"/> is thrown.</param>
    /// <returns>The result.</returns>
    /// <exception cref="InvalidOperationException">Early stopping is configured but no <see cref="ValidationSet"/> is.</exception>
    public PretrainingResult Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        => Train(new RunState(), progress, cancellationToken);

    /// <summary>Continues a run from a checkpoint written by this pretrainer (same options and seed).</summary>
    /// <param name="checkpointPath">The checkpoint (normally <c>last.safetensors</c>).</param>
    /// <param name="progress">Receives progress after every step.</param>
    /// <param name="cancellationToken">Checked between steps.</param>
    /// <returns>The result.</returns>
    /// <exception cref="InvalidDataException">The checkpoint was not written by a pretrainer, or with another seed, or its
    /// head file is missing.</exception>
    public PretrainingResult Resume(string checkpointPath, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpointPath);
        if (!File.Exists(checkpointPath)) throw new FileNotFoundException($"The checkpoint '{checkpointPath}' does not exist.", checkpointPath);
        var fileMeta = Safetensors.ReadHeader(checkpointPath).Metadata;
        if (!fileMeta.TryGetValue(StepKey, out var stepText) || !long.TryParse(stepText, NumberStyles.None, CultureInfo.InvariantCulture, out long step))
            throw new InvalidDataException($"'{checkpointPath}' is not a pretraining checkpoint: its metadata has no '{StepKey}'.");
        if (!fileMeta.TryGetValue(SeedKey, out var seedText) || seedText != _options.Seed.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"'{checkpointPath}' was written with seed {seedText ?? "(none)"}, but this run's seed is {_options.Seed}; resuming would not reproduce the run.");
        if (step > _options.TotalSteps)
            throw new InvalidDataException($"'{checkpointPath}' is at step {step}, beyond this run's {_options.TotalSteps} steps.");
        string dir = Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!;
        string? headPath = null;
        if (_head is not null)
        {
            if (!fileMeta.TryGetValue(HeadKey, out var headName))
                throw new InvalidDataException($"'{checkpointPath}' holds no '{HeadKey}' entry, but objective '{_objective.Name}' owns a head whose state must be restored.");
            headPath = Path.Combine(dir, headName);
            if (!File.Exists(headPath)) throw new InvalidDataException($"The head checkpoint '{headPath}' named by '{checkpointPath}' does not exist.");
        }
        var state = fileMeta.TryGetValue(StateKey, out var json) ? RunState.FromJson(json, checkpointPath) : new RunState();
        // Validate everything before changing anything: encoder first (it checks its own file), then the head.
        _encoder.Load(checkpointPath, _optimizer, strict: true);
        if (headPath is not null) Checkpoint.Load(headPath, _head!, _headOptimizer, null, strict: true);
        state.StartStep = step;
        state.LastHead = _head is not null ? Path.GetFileName(headPath) : null;
        state.BestHead = fileMeta.TryGetValue(BestHeadKey, out var bh) ? bh : null;
        state.PreviousBestHead = state.BestHead;
        _logger.LogInformation("Resuming pretraining of {Encoder} from step {Step} ({Path})", _encoder.Name, step, checkpointPath);
        return Train(state, progress, cancellationToken);
    }

    private PretrainingResult Train(RunState state, IProgress<TrainingProgress>? progress, CancellationToken ct)
    {
        var early = _options.EarlyStopping;
        if (early is not null && _validationSet is null)
            throw new InvalidOperationException("EarlyStopping is configured but the pretrainer has no ValidationSet.");
        int b = _source.BatchScans, d = _encoder.EmbeddingDimension;
        int views = _twoViews ? 2 : 1;
        var indices = new int[b];
        var embeddings = new float[views * b * d];
        var gradient = new float[views * b * d];
        var scores = new float[b];
        var patients = new int[b];
        var labels = new int[b];
        var triplets = new IndexTriplet[_source.Triplets];
        var metadata = MakeMetadata(scores, patients, labels, triplets);
        var baseRng = new Rng(_options.Seed);
        var augmentRng = new Rng(_options.Seed).Fork(AugmentStream);
        var augmentation = _options.Augmentation ?? (_twoViews ? new AugmentationOptions() : null);
        var losses = new List<double>();
        string? lastCheckpoint = null;
        long total = _options.TotalSteps;
        var clock = Stopwatch.StartNew();
        var validator = _validationSet is null ? null : new Validator(this, _validationSet);
        string? tempBestDir = null;
        bool stoppedEarly = early is not null && state.BadEpochs >= early.Patience;
        _encoder.SetTraining(true);
        try
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
                if (step % _options.StepsPerEpoch == 0 || step == state.StartStep) _source.BeginEpoch(epoch);
                _source.Draw(indices, triplets, baseRng.Fork((ulong)step));
                FillMetadata(_dataset, indices, scores, patients, labels);
                double lr = _options.LearningRateAt(step);
                _optimizer.LearningRate = lr;
                _optimizer.ZeroGrad();
                ObjectiveResult result;
                using (var scope = TensorScope.Begin())
                {
                    var input = LoadInput(_dataset, indices, views, augmentation, augmentRng.Fork((ulong)step));
                    _encoder.Forward(input, embeddings, requiresGrad: true);
                    try
                    {
                        var batch = metadata.ToBatch(embeddings.AsSpan(0, b * d), b, d, _twoViews ? embeddings.AsSpan(b * d, b * d) : default);
                        result = _objective.Compute(batch, gradient.AsSpan(0, b * d), _twoViews ? gradient.AsSpan(b * d, b * d) : default);
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
                    CheckHeadGradientsFinite();
                    if (_options.MaxGradNorm > 0) _optimizer.ClipGradNorm(_options.MaxGradNorm);
                }
                catch (NonFiniteValueException e)
                {
                    throw new TrainingDivergedException(step, "gradient", $"Step {step}: {e.Message} Training stopped before the update; the last checkpoint is intact.", e);
                }
                _optimizer.Step();
                if (_headOptimizer is not null) StepHead(lr);
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
                            state.BestCheckpoint = SaveCheckpointTo(bestDir, "best", done, state);
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
                    lastCheckpoint = SaveCheckpoint("last", done, state);
                if (progress is not null)
                {
                    double rate = (done - state.StartStep) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
                    var terms = new List<KeyValuePair<string, double>>();
                    foreach (var t in result.Terms.Span) terms.Add(new(t.Name, t.Value));
                    progress.Report(new TrainingProgress(epoch + 1, done, total, result.Loss, terms, lr, rate,
                        TimeSpan.FromSeconds((total - done) / Math.Max(rate, 1e-9))) { Validation = report });
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
            };
        }
        finally
        {
            if (tempBestDir is not null && Directory.Exists(tempBestDir))
                try { Directory.Delete(tempBestDir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private BatchMetadata MakeMetadata(float[] scores, int[] patients, int[] labels, IndexTriplet[] triplets)
    {
        var metadata = new BatchMetadata();
        var requires = _objective.Requires;
        if (requires.HasFlag(BatchFields.Scores)) metadata.Scores = scores;
        if (requires.HasFlag(BatchFields.PatientIds)) metadata.PatientIds = patients;
        if (requires.HasFlag(BatchFields.Labels)) metadata.Labels = labels;
        if (triplets.Length > 0) metadata.Triplets = triplets;
        return metadata;
    }

    private static void FillMetadata(LongitudinalDataset dataset, ReadOnlySpan<int> indices, float[] scores, int[] patients, int[] labels)
    {
        for (int i = 0; i < indices.Length; i++)
        {
            var scan = dataset.Scans[indices[i]];
            scores[i] = (float)(scan.Score ?? double.NaN);
            patients[i] = scan.PatientIndex;
            labels[i] = scan.CoarseLabel ?? -1;
        }
    }

    /// <summary>The batch tensor: the scans as stored, or (views × B) augmented copies, view-major.</summary>
    private static Tensor LoadInput(LongitudinalDataset dataset, int[] indices, int views, AugmentationOptions? augmentation, Rng rng)
        => augmentation is null ? dataset.LoadBatch(indices)
            : dataset.LoadBatch(indices, views, (x, copy) => Augment.Apply(x, rng.Fork((ulong)copy), augmentation));

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
        foreach (var t in result.Terms.Span) if (!double.IsFinite(t.Value)) return t.Name;
        return "loss";
    }

    private string? SaveCheckpoint(string kind, long completedSteps, RunState state)
        => _options.CheckpointDirectory is null ? null : SaveCheckpointTo(_options.CheckpointDirectory, kind, completedSteps, state);

    private string SaveCheckpointTo(string directory, string kind, long completedSteps, RunState state)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, kind + ".safetensors");
        var meta = new Dictionary<string, string>
        {
            [StepKey] = completedSteps.ToString(CultureInfo.InvariantCulture),
            [SeedKey] = _options.Seed.ToString(CultureInfo.InvariantCulture),
            [StateKey] = state.ToJson(),
            ["pretrain.objective"] = _objective.Name,
            ["pretrain.encoder"] = _encoder.Name,
        };
        string? headName = null;
        if (_head is not null)
        {
            // The head file is written first under a name unique to its step, so that the pair (encoder file, head file)
            // referenced by the encoder file's metadata is always consistent, whenever a crash happens.
            headName = $"head-{kind}-{completedSteps.ToString("D9", CultureInfo.InvariantCulture)}.safetensors";
            Checkpoint.Save(Path.Combine(directory, headName), _head, _headOptimizer, null, new Dictionary<string, string> { [StepKey] = meta[StepKey] });
            meta[HeadKey] = headName;
            if (kind == "best") state.BestHead = headName;
            if (state.BestHead is not null) meta[BestHeadKey] = state.BestHead;
        }
        _encoder.Save(path, _optimizer, meta);
        if (_head is not null)
        {
            string? previous = kind == "best" ? state.PreviousBestHead : state.LastHead;
            if (kind == "best") state.PreviousBestHead = headName; else state.LastHead = headName;
            if (previous is not null && previous != headName && previous != state.BestHead && previous != state.LastHead)
                TryDelete(Path.Combine(directory, previous));
        }
        return path;
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static void CheckDataset(IObjective objective, LongitudinalDataset dataset, string parameter)
    {
        if (objective.Requires.HasFlag(BatchFields.Scores) && dataset.Scans.Any(s => s.Score is null || !double.IsFinite(s.Score.Value)))
        {
            var bad = dataset.Scans.First(s => s.Score is null || !double.IsFinite(s.Score.Value));
            throw new ArgumentException($"Objective '{objective.Name}' needs health scores, but scan '{bad.Id}' of patient '{bad.PatientId}' has {(bad.Score is null ? "none" : bad.Score.Value.ToString(CultureInfo.InvariantCulture))}.", parameter);
        }
        if (objective.Requires.HasFlag(BatchFields.Labels) && dataset.Scans.Any(s => s.CoarseLabel is null))
        {
            var bad = dataset.Scans.First(s => s.CoarseLabel is null);
            throw new ArgumentException($"Objective '{objective.Name}' needs coarse labels, but scan '{bad.Id}' has none; bin the scores first (LongitudinalDataset.WithCoarseLabels).", parameter);
        }
    }

    private static IBatchSource CreateTripletSource(LongitudinalDataset dataset, Func<LongitudinalDataset, ITripletSampler> factory, int tripletsPerBatch)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(factory);
        if (tripletsPerBatch < 1) throw new ArgumentOutOfRangeException(nameof(tripletsPerBatch), tripletsPerBatch, "tripletsPerBatch must be ≥ 1.");
        var sampler = factory(dataset) ?? throw new ArgumentException("The triplet sampler factory returned null.", nameof(factory));
        return new TripletSource(sampler, tripletsPerBatch);
    }

    /// <summary>Where the scans (and triplets) of each step come from.</summary>
    private interface IBatchSource
    {
        int BatchScans { get; }

        int Triplets { get; }

        void BeginEpoch(int epoch);

        void Draw(Span<int> indices, Span<IndexTriplet> triplets, Rng rng);
    }

    private sealed class SamplerSource(IBatchSampler sampler) : IBatchSource
    {
        public int BatchScans => sampler.BatchSize;

        public int Triplets => 0;

        public void BeginEpoch(int epoch) => (sampler as ICurriculumSampler)?.BeginEpoch(epoch);

        public void Draw(Span<int> indices, Span<IndexTriplet> triplets, Rng rng) => sampler.SampleBatch(indices, rng);
    }

    private sealed class TripletSource(ITripletSampler sampler, int count) : IBatchSource
    {
        private readonly ScanTriplet[] _buffer = new ScanTriplet[count];

        public int BatchScans => 3 * count;

        public int Triplets => count;

        public void BeginEpoch(int epoch) => (sampler as ICurriculumSampler)?.BeginEpoch(epoch);

        public void Draw(Span<int> indices, Span<IndexTriplet> triplets, Rng rng)
        {
            sampler.SampleBatch(_buffer, rng);
            for (int t = 0; t < count; t++)
            {
                indices[t] = _buffer[t].Anchor;
                indices[count + t] = _buffer[t].Positive;
                indices[2 * count + t] = _buffer[t].Negative;
                triplets[t] = new IndexTriplet(t, count + t, 2 * count + t);
            }
        }
    }

    /// <summary>Measures the validation set: fixed loss batches drawn once, then embeddings of every scan.</summary>
    private sealed class Validator
    {
        private readonly Pretrainer _owner;
        private readonly LongitudinalDataset _set;
        private readonly int[][] _batches;
        private readonly IndexTriplet[][] _triplets;
        private readonly (int First, int Second)[] _pairs;
        private readonly double[] _gaps;
        private readonly int[]? _labels;

        public Validator(Pretrainer owner, LongitudinalDataset set)
        {
            _owner = owner;
            _set = set;
            var options = owner._options.Validation;
            var rng = new Rng(owner._options.Seed).Fork(ValidationStream);
            int b = owner._source.BatchScans;
            _batches = new int[options.LossBatches][];
            _triplets = new IndexTriplet[options.LossBatches][];
            if (owner._tripletSamplerFactory is not null)
            {
                // Triplet runs: triplets drawn from the validation set by a sampler made the same way as the training one.
                var source = CreateTripletSource(set, owner._tripletSamplerFactory, owner._source.Triplets);
                for (int k = 0; k < _batches.Length; k++)
                {
                    _batches[k] = new int[b];
                    _triplets[k] = new IndexTriplet[owner._source.Triplets];
                    source.Draw(_batches[k], _triplets[k], rng.Fork((ulong)k));
                }
            }
            else
            {
                // Batch runs: patients in a seeded order, their scans laid out consecutively and cut into batches of B
                // (wrapping around), so a batch holds several patients with several visits each, as training batches do.
                var order = new int[set.PatientCount];
                for (int i = 0; i < order.Length; i++) order[i] = i;
                rng.Shuffle(order.AsSpan());
                var flat = order.SelectMany(p => Enumerable.Range(set.Patients[p].FirstScanIndex, set.Patients[p].ScanCount)).ToArray();
                for (int k = 0; k < _batches.Length; k++)
                {
                    _batches[k] = new int[b];
                    for (int i = 0; i < b; i++) _batches[k][i] = flat[(k * b + i) % flat.Length];
                    _triplets[k] = Array.Empty<IndexTriplet>();
                }
            }
            var consecutive = new IntraPatientPairSampler(set, options.ChangeThresholds ?? ChangeThresholds.Absolute(1)).Pairs;
            bool scores = set.Scans.All(s => s.Score is { } v && double.IsFinite(v));
            _pairs = scores ? consecutive.Select(p => (p.Before, p.After)).ToArray() : Array.Empty<(int, int)>();
            _gaps = scores ? consecutive.Select(p => Math.Abs((double)p.HealthChange)).ToArray() : Array.Empty<double>();
            _labels = set.Scans.All(s => s.CoarseLabel is not null) ? set.Scans.Select(s => s.CoarseLabel!.Value).ToArray() : null;
        }

        public ValidationReport Measure(int epoch, long step, CancellationToken ct)
        {
            var o = _owner;
            var encoder = o._encoder;
            int b = o._source.BatchScans, d = encoder.EmbeddingDimension, views = o._twoViews ? 2 : 1;
            var options = o._options.Validation;
            var embeddings = new float[views * b * d];
            var gradient = new float[views * b * d];
            var scores = new float[b];
            var patients = new int[b];
            var labels = new int[b];
            double lossSum = 0;
            var termSums = new List<KeyValuePair<string, double>>();
            encoder.SetTraining(false);
            try
            {
                var augmentation = o._options.Augmentation ?? (o._twoViews ? new AugmentationOptions() : null);
                var augmentRng = new Rng(o._options.Seed).Fork(ValidationStream + 1);
                for (int k = 0; k < _batches.Length; k++)
                {
                    ct.ThrowIfCancellationRequested();
                    var triplets = _triplets[k];
                    var metadata = o.MakeMetadata(scores, patients, labels, triplets);
                    FillMetadata(_set, _batches[k], scores, patients, labels);
                    using var scope = TensorScope.Begin();
                    var input = LoadInput(_set, _batches[k], views, augmentation, augmentRng.Fork((ulong)k));
                    encoder.Forward(input, embeddings, requiresGrad: false);
                    var batch = metadata.ToBatch(embeddings.AsSpan(0, b * d), b, d, o._twoViews ? embeddings.AsSpan(b * d, b * d) : default);
                    var r = o._objective.Compute(batch, gradient.AsSpan(0, b * d), o._twoViews ? gradient.AsSpan(b * d, b * d) : default);
                    lossSum += r.Loss;
                    var terms = r.Terms.Span;
                    for (int t = 0; t < terms.Length; t++)
                    {
                        if (termSums.Count <= t) termSums.Add(new(terms[t].Name, 0));
                        termSums[t] = new(terms[t].Name, termSums[t].Value + terms[t].Value);
                    }
                }
            }
            finally
            {
                encoder.SetTraining(true);
            }
            int n = _batches.Length;
            var all = Embedder.EmbedAll(encoder, _set, options.EmbeddingBatchSize, ct);
            encoder.SetTraining(true);
            double spearman = _pairs.Length >= 2 ? Alignment.Compute(all, d, _pairs, _gaps).Spearman : double.NaN;
            double p1 = double.NaN, mapr = double.NaN;
            if (_labels is not null)
            {
                var retrieval = Retrieval.Evaluate(all, d, _labels);
                p1 = retrieval.PrecisionAt1;
                mapr = retrieval.MapAtR;
            }
            double accuracy = double.NaN, macroF1 = double.NaN, kappa = double.NaN;
            if (options.ChangeThresholds is not null)
            {
                var eval = ChangeEvaluation.CrossValidate(_set, all, d, options.ChangeThresholds, options.ChangeFolds, (int)(o._options.Seed % int.MaxValue), options.Classifier);
                accuracy = eval.Accuracy;
                macroF1 = eval.MacroF1;
                kappa = eval.QuadraticKappa;
            }
            return new ValidationReport(epoch, step, lossSum / n, termSums.Select(t => new KeyValuePair<string, double>(t.Key, t.Value / n)).ToArray(),
                spearman, p1, mapr, accuracy, macroF1, kappa);
        }
    }

    /// <summary>The objective's head parameters as a module, so they checkpoint like any model.</summary>
    private sealed class HeadModule : Module
    {
        public HeadModule(IReadOnlyList<ObjectiveParameter> parameters)
        {
            foreach (var p in parameters) RegisterParameter(p.Name.Replace('.', '_'), p.Value);
        }

        public override Tensor Forward(Tensor input) => throw new NotSupportedException("An objective head is not run as a module.");
    }

    /// <summary>Progress of early stopping and the epoch history; saved in checkpoint metadata so a resumed run continues it.</summary>
    private sealed class RunState
    {
        public long StartStep { get; set; }

        public List<EpochSummary> Epochs { get; } = new();

        public double? BestValue { get; set; }

        public int? BestEpoch { get; set; }

        public int BadEpochs { get; set; }

        /// <summary>Sum and count of the training losses of the epoch in progress (checkpointed, so that an epoch
        /// interrupted and resumed reports the same mean as an uninterrupted one).</summary>
        public double EpochLossSum { get; set; }

        public int EpochLossCount { get; set; }

        public string? BestCheckpoint { get; set; }

        public string? BestHead { get; set; }

        public string? PreviousBestHead { get; set; }

        public string? LastHead { get; set; }

        public string ToJson() => JsonSerializer.Serialize(new Dto
        {
            BestValue = BestValue,
            BestEpoch = BestEpoch,
            BadEpochs = BadEpochs,
            EpochLossSum = EpochLossSum,
            EpochLossCount = EpochLossCount,
            BestCheckpoint = BestCheckpoint,
            Epochs = Epochs.Select(e => new EpochDto
            {
                Epoch = e.Epoch, Step = e.Step, TrainLoss = Finite(e.TrainLoss), LearningRate = e.LearningRate,
                Validation = e.Validation is { } v ? new[]
                {
                    Finite(v.Loss), Finite(v.Spearman), Finite(v.PrecisionAt1), Finite(v.MapAtR), Finite(v.Accuracy), Finite(v.MacroF1), Finite(v.QuadraticKappa),
                } : null,
                Terms = e.Validation?.Terms.ToDictionary(t => t.Key, t => Finite(t.Value)),
            }).ToList(),
        });

        public static RunState FromJson(string json, string path)
        {
            Dto dto;
            try { dto = JsonSerializer.Deserialize<Dto>(json) ?? throw new JsonException("null"); }
            catch (JsonException e) { throw new InvalidDataException($"'{path}': the pretraining state in its metadata is not valid JSON ({e.Message}).", e); }
            var state = new RunState
            {
                BestValue = dto.BestValue, BestEpoch = dto.BestEpoch, BadEpochs = dto.BadEpochs, BestCheckpoint = dto.BestCheckpoint,
                EpochLossSum = dto.EpochLossSum, EpochLossCount = dto.EpochLossCount,
            };
            foreach (var e in dto.Epochs ?? new List<EpochDto>())
            {
                ValidationReport? v = null;
                if (e.Validation is { Length: 7 } a)
                    v = new ValidationReport(e.Epoch, e.Step, N(a[0]), (e.Terms ?? new()).Select(t => new KeyValuePair<string, double>(t.Key, N(t.Value))).ToArray(),
                        N(a[1]), N(a[2]), N(a[3]), N(a[4]), N(a[5]), N(a[6]));
                state.Epochs.Add(new EpochSummary(e.Epoch, e.Step, N(e.TrainLoss), e.LearningRate, v));
            }
            if (state.BestCheckpoint is not null && !File.Exists(state.BestCheckpoint)) state.BestCheckpoint = null;
            return state;
        }

        private static double? Finite(double v) => double.IsFinite(v) ? v : null;

        private static double N(double? v) => v ?? double.NaN;

        private sealed class Dto
        {
            public double? BestValue { get; set; }

            public int? BestEpoch { get; set; }

            public int BadEpochs { get; set; }

            public double EpochLossSum { get; set; }

            public int EpochLossCount { get; set; }

            public string? BestCheckpoint { get; set; }

            public List<EpochDto>? Epochs { get; set; }
        }

        private sealed class EpochDto
        {
            public int Epoch { get; set; }

            public long Step { get; set; }

            public double? TrainLoss { get; set; }

            public double LearningRate { get; set; }

            public double?[]? Validation { get; set; }

            public Dictionary<string, double?>? Terms { get; set; }
        }
    }
}
