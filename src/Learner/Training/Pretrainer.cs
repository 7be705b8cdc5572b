using System.Diagnostics;
using System.Globalization;
using Learner.Data;
using Learner.Encoders;
using Learner.Nn;
using Learner.Nn.Serialization;
using Learner.Objectives;
using Learner.Sampling;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static Learner.Training.PretrainingCheckpoints;

namespace Learner.Training;

/// <summary>
/// Pretrains an encoder through the encoder seam: each step's scans (and sampler pairs or triplets) from an
/// <see cref="IPretrainingBatchSource"/>, embeddings from the encoder, the objective's exact embedding gradient back
/// through the encoder, an optimizer step with a warm-up + cosine learning rate; validation after each epoch with early
/// stopping on a chosen metric. Checkpoints are atomic; a run cancelled or killed between steps resumes from its last
/// checkpoint to the same final weights, bit for bit, as an uninterrupted run with the same seed.
/// </summary>
/// <remarks>
/// <para>The batch of global step s is drawn with <c>new Rng(options.Seed).Fork(s)</c> and augmented from a second stream
/// forked the same way; the source's curriculum is moved with <see cref="IPretrainingBatchSource.BeginEpoch"/> at the
/// first step of every epoch and at the first step of a resumed run. So the sequence of batches does not depend on where
/// a run was interrupted.</para>
/// <para>With <see cref="PretrainingOptions.PrefetchBatches"/> (the default) step s+1's batch is drawn, loaded and augmented
/// on a background thread while step s computes (<c>BatchPrefetcher</c>: one dedicated thread, one slot, the same bits
/// as without it; an error assembling a batch surfaces at the step that would have used it).
/// <see cref="PretrainingResult.DataWaitShare"/> reports the share of the run the training thread spent waiting for data.</para>
/// <para>Batch sources: <see cref="PatientBatchSource"/> (P × K patient batches; pair objectives use every in-batch
/// pair), <see cref="InterPatientPairSource"/> (LEARNER's inter-patient pairs, de-duplicated into a compact batch of a
/// varying number of scans, handed to the objective as <see cref="EmbeddingBatch.Pairs"/> with the sampler's positive
/// flag and score gap; a coarse-to-fine <see cref="CurriculumSchedule"/> shrinks the negatives' gap over the epochs),
/// <see cref="TripletBatchSource"/> (the B anchors, then the B positives, then the B negatives, as
/// <see cref="EmbeddingBatch.Triplets"/>); <see cref="BatchSourceOptions"/> chooses one declaratively. Buffers are sized
/// once to the source's maxima.</para>
/// <para>Inputs each objective needs are supplied by the loop: scores, patient ids and coarse labels from the scans; a
/// second, independently augmented view of every scan for two-view objectives (InfoNCE), both views going through the
/// encoder in one forward pass of 2B scans. The validation loss uses fixed batches drawn once from the same kind of
/// source over the validation set (see <see cref="ValidationSet"/>).</para>
/// <para>Heads an objective owns (the MSE baseline's linear head) train with AdamW on the same schedule; their weights and
/// AdamW state are checkpointed beside the encoder's (<c>head-&lt;step&gt;.safetensors</c>, referenced from the encoder
/// checkpoint's metadata and written before it, so a crash between the two writes never pairs mismatched files).
/// Encoders whose modules hold their own random state (dropout) resume deterministically only if that state is part of
/// their checkpoint.</para>
/// </remarks>
public sealed partial class Pretrainer
{
    private const ulong AugmentStream = 0xA09_0E27;

    private readonly IEncoder _encoder;
    private readonly LongitudinalDataset _dataset;
    private readonly IPretrainingBatchSource _source;
    private readonly IObjective _objective;
    /// <summary>The fields the objective requires of this source's batches (<see cref="IObjective.RequiresGiven"/>).</summary>
    private readonly BatchFields _required;
    private readonly PretrainingOptions _options;
    private readonly ILogger _logger;
    private readonly IEncoderOptimizer _optimizer;
    private readonly Learner.Nn.Optim.AdamW? _headOptimizer;
    private readonly ObjectiveHeadModule? _head;
    private readonly PretrainingCheckpoints _checkpoints;
    private readonly bool _twoViews;
    private LongitudinalDataset? _validationSet;
    private PretrainingValidator? _validator;

    /// <summary>Prepares a run whose batches come from a batch sampler (a <see cref="PatientBatchSource"/>).</summary>
    /// <param name="encoder">The encoder to train.</param>
    /// <param name="dataset">The scans the sampler indexes.</param>
    /// <param name="sampler">Draws the scan indices of each batch.</param>
    /// <param name="objective">The objective (any <see cref="IObjective"/>, including a composite).</param>
    /// <param name="options">Settings (validated).</param>
    /// <param name="logger">Optional logger.</param>
    /// <exception cref="ArgumentException">An option is invalid, or the objective needs triplets (use a
    /// <see cref="TripletBatchSource"/>).</exception>
    /// <exception cref="MissingScoreException">The objective needs scores and a scan has none.</exception>
    /// <exception cref="MissingLabelException">The objective needs coarse labels and a scan has none.</exception>
    public Pretrainer(IEncoder encoder, LongitudinalDataset dataset, IBatchSampler sampler, IObjective objective, PretrainingOptions options, ILogger<Pretrainer>? logger = null)
        : this(encoder, dataset, new PatientBatchSource(sampler ?? throw new ArgumentNullException(nameof(sampler))), objective, options, logger)
    {
    }

    /// <summary>Prepares a run whose batches are triplets (anchor, positive, negative) from a triplet sampler (a
    /// <see cref="TripletBatchSource"/>); the objective receives them as <see cref="EmbeddingBatch.Triplets"/>.</summary>
    /// <param name="encoder">The encoder to train.</param>
    /// <param name="dataset">The training scans.</param>
    /// <param name="tripletSampler">Creates a triplet sampler over a dataset: called once for the training set and once for
    /// the validation set (whose objective value uses triplets drawn the same way).</param>
    /// <param name="tripletsPerBatch">Triplets per step (≥ 1); a step forwards 3 × this many scans.</param>
    /// <param name="objective">The objective.</param>
    /// <param name="options">Settings (validated).</param>
    /// <param name="logger">Optional logger.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="MissingScoreException">The objective needs scores and a scan has none.</exception>
    /// <exception cref="MissingLabelException">The objective needs coarse labels and a scan has none.</exception>
    public Pretrainer(IEncoder encoder, LongitudinalDataset dataset, Func<LongitudinalDataset, ITripletSampler> tripletSampler, int tripletsPerBatch, IObjective objective, PretrainingOptions options, ILogger<Pretrainer>? logger = null)
        : this(encoder, dataset, new TripletBatchSource(dataset, tripletSampler, tripletsPerBatch), objective, options, logger)
    {
    }

    /// <summary>Prepares a run whose steps come from <paramref name="source"/>.</summary>
    /// <param name="encoder">The encoder to train.</param>
    /// <param name="dataset">The training scans the source indexes.</param>
    /// <param name="source">What each step's scans, pairs and triplets are.</param>
    /// <param name="objective">The objective.</param>
    /// <param name="options">Settings (validated).</param>
    /// <param name="logger">Optional logger.</param>
    /// <exception cref="ArgumentException">An option is invalid, or the objective needs triplets the source does not draw.</exception>
    /// <exception cref="MissingScoreException">The objective needs scores and a scan has none (the message names the
    /// scan, its patient and the objective).</exception>
    /// <exception cref="MissingLabelException">The objective needs coarse labels and a scan has none.</exception>
    /// <exception cref="ShapeMismatchException">The augmentation crops or shifts, and the scans are of rank 1 or smaller
    /// than the crop (the message names the first scan and its shape).</exception>
    public Pretrainer(IEncoder encoder, LongitudinalDataset dataset, IPretrainingBatchSource source, IObjective objective, PretrainingOptions options, ILogger<Pretrainer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (objective.Requires.HasFlag(BatchFields.Triplets) && source.MaxTriplets == 0)
            throw new ArgumentException($"Objective '{objective.Name}' needs Triplets, but the batch source {source.GetType().Name} draws none; use a triplet sampler (TripletBatchSource, or the constructor taking Func<LongitudinalDataset, ITripletSampler>).", nameof(objective));
        _required = objective.RequiresGiven(source.Provides);
        CheckDataset(objective, _required, dataset, "training set");
        _encoder = encoder;
        // The payloads as the encoder sees them: the caller's normalisation when the dataset records one, else the option's.
        _dataset = dataset.Normalization is null ? options.InputNormalization.Apply(dataset) : dataset;
        InputNormalization = _dataset.Normalization!;
        if (InputNormalization != options.InputNormalization)
            logger?.LogInformation("The training set is already normalised ({Normalization}); PretrainingOptions.InputNormalization ({Option}) is not applied on top.", InputNormalization, options.InputNormalization);
        _source = source;
        _objective = objective;
        _options = options;
        _twoViews = objective.Requires.HasFlag(BatchFields.SecondView);
        // A crop or shift that the scans cannot take is refused here, not at the first step.
        if ((options.Augmentation ?? (_twoViews ? new AugmentationOptions() : null)) is { IsSpatial: true } spatial && _dataset.Scans.Count > 0)
        {
            using var scope = TensorScope.Begin();
            var first = _dataset.Scans[0];
            _dataset.PayloadCache.ValuesOf(first, out var shape);
            spatial.Validate(shape, first.Id);
        }
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _optimizer = encoder.CreateOptimizer(options.Optimizer);
        // Heads the objective owns (the MSE baseline's linear head) train with AdamW at the same schedule.
        if (objective.Parameters.Count > 0)
        {
            _head = new ObjectiveHeadModule(objective.Parameters);
            _headOptimizer = new Learner.Nn.Optim.AdamW(_head.Parameters(), options.Optimizer.LearningRate, weightDecay: 0);
        }
        _checkpoints = new PretrainingCheckpoints(encoder, _optimizer, objective, _head, _headOptimizer, options.Seed, InputNormalization);
    }

    /// <summary>The per-scan normalisation of the payloads this run trains (and validates) on, recorded in its checkpoints:
    /// the training set's own (<see cref="LongitudinalDataset.Normalization"/>), else
    /// <see cref="PretrainingOptions.InputNormalization"/>.</summary>
    public ScanNormalization InputNormalization { get; }

    /// <summary>The optimizer this run updates the encoder with.</summary>
    public IEncoderOptimizer Optimizer => _optimizer;

    /// <summary>Where each step's scans, pairs and triplets come from.</summary>
    public IPretrainingBatchSource Source => _source;

    /// <summary>Scans measured after each epoch (objective value, alignment, retrieval and, when
    /// <see cref="ValidationOptions.ChangeThresholds"/> is set, change classification), or null for none. Use patients
    /// disjoint from the training set (<see cref="PatientSplits"/>). Required by early stopping. The objective value is
    /// the mean over <see cref="ValidationOptions.LossBatches"/> fixed batches drawn once here, seeded: from the batch
    /// source rebuilt over this set (<see cref="IPretrainingBatchSource.ForDataset"/>, at its epoch-0 curriculum state),
    /// or, for a <see cref="PatientBatchSource"/>, the set's patients in a seeded order cut into batches.</summary>
    /// <exception cref="MissingScoreException">The objective needs scores the set lacks.</exception>
    /// <exception cref="MissingLabelException">The objective needs coarse labels the set lacks.</exception>
    /// <exception cref="PatientLeakageException">The set shares a patient with the training set.</exception>
    /// <exception cref="ArgumentException">The set has fewer patients than the change-classification folds.</exception>
    public LongitudinalDataset? ValidationSet
    {
        get => _validationSet;
        init
        {
            _validator = null;
            if (value is not null)
            {
                CheckDataset(_objective, _required, value, "validation set");
                var train = new HashSet<string>(_dataset.Scans.Select(s => s.PatientId), StringComparer.Ordinal);
                var shared = value.Scans.FirstOrDefault(s => train.Contains(s.PatientId));
                if (shared is not null)
                    throw new PatientLeakageException(shared.PatientId, "training set", "validation set");
                if (_options.Validation.ChangeThresholds is not null && value.PatientCount < _options.Validation.ChangeFolds)
                    throw new ArgumentException($"The validation set has {value.PatientCount} patients, fewer than Validation.ChangeFolds = {_options.Validation.ChangeFolds}.", nameof(ValidationSet));
                var normalized = value.Normalization is null ? InputNormalization.Apply(value) : value;
                if (normalized.Normalization != InputNormalization)
                    throw new ArgumentException($"The validation set is normalised {normalized.Normalization}, the training set {InputNormalization}; the encoder must see both the same way.", nameof(ValidationSet));
                _validator = new PretrainingValidator(_encoder, _objective, _options, _source, _twoViews, normalized);
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
        => Train(new PretrainingRunState(), null, progress, cancellationToken);

    /// <summary>Runs from step 0 on a thread-pool thread (see <see cref="Run"/>), so that a UI or host stays responsive.</summary>
    /// <param name="progress">Receives progress after every step (on the training thread).</param>
    /// <param name="cancellationToken">Checked between steps; on cancellation a checkpoint is written (when a checkpoint
    /// folder is set) and the task ends in <see cref="OperationCanceledException"/>.</param>
    /// <returns>The result.</returns>
    public Task<PretrainingResult> RunAsync(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        => Task.Run(() => Run(progress, cancellationToken), CancellationToken.None);

    /// <summary>Continues a run from a checkpoint on a thread-pool thread (see <see cref="Resume"/>).</summary>
    /// <param name="checkpointPath">The checkpoint (normally <c>last.safetensors</c>).</param>
    /// <param name="progress">Receives progress after every step.</param>
    /// <param name="cancellationToken">Checked between steps.</param>
    /// <returns>The result.</returns>
    public Task<PretrainingResult> ResumeAsync(string checkpointPath, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        => Task.Run(() => Resume(checkpointPath, progress, cancellationToken), CancellationToken.None);

    /// <summary>The completed steps recorded in a checkpoint written by a pretrainer.</summary>
    /// <param name="checkpointPath">The checkpoint (for example a run's <c>last.safetensors</c>).</param>
    /// <returns>Its completed global steps.</returns>
    /// <exception cref="InvalidDataException">The file is not a pretraining checkpoint.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static long ReadCheckpointStep(string checkpointPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpointPath);
        if (!File.Exists(checkpointPath)) throw new FileNotFoundException($"The checkpoint '{checkpointPath}' does not exist.", checkpointPath);
        var meta = Safetensors.ReadHeader(checkpointPath).Metadata;
        if (!meta.TryGetValue(StepKey, out var text) || !long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long step))
            throw new InvalidDataException($"'{checkpointPath}' is not a pretraining checkpoint: its metadata has no '{StepKey}'.");
        return step;
    }

    /// <summary>The per-scan normalisation recorded in a checkpoint written by a pretrainer: what the encoder was trained
    /// on, and so what every scan it embeds must get (<see cref="ScanNormalization.Apply"/>).</summary>
    /// <param name="checkpointPath">The checkpoint.</param>
    /// <returns>The normalisation, or null for a checkpoint written before it was recorded (those runs trained on payloads
    /// as stored, unless the caller normalised them itself).</returns>
    /// <exception cref="InvalidDataException">The recorded value cannot be read.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static ScanNormalization? ReadCheckpointNormalization(string checkpointPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpointPath);
        if (!File.Exists(checkpointPath)) throw new FileNotFoundException($"The checkpoint '{checkpointPath}' does not exist.", checkpointPath);
        if (!Safetensors.ReadHeader(checkpointPath).Metadata.TryGetValue(ScanNormalization.MetadataKey, out var text)) return null;
        try { return ScanNormalization.Parse(text); }
        catch (FormatException e) { throw new InvalidDataException($"'{checkpointPath}': the metadata entry '{ScanNormalization.MetadataKey}' is unreadable: {e.Message}", e); }
    }

    /// <summary>Deletes what an interrupted atomic checkpoint write leaves behind in <paramref name="directory"/>: the
    /// temporary files (<c>.&lt;name&gt;.safetensors.&lt;id&gt;.tmp</c>) that a killed process never renamed.</summary>
    /// <param name="directory">A run folder.</param>
    /// <returns>The files deleted.</returns>
    public static IReadOnlyList<string> RemoveStaleTemporaryFiles(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var removed = new List<string>();
        if (!Directory.Exists(directory)) return removed;
        foreach (var file in Directory.EnumerateFiles(directory, ".*.safetensors.*.tmp"))
        {
            try { File.Delete(file); removed.Add(file); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return removed;
    }

    /// <summary>A state of the encoder, its optimizer and the objective head on disk, restored when a run diverges.</summary>
    private sealed record RestorePoint(string Encoder, string? Head, long Step);

    /// <summary>Continues a run from a checkpoint written by this pretrainer (same options and seed).</summary>
    /// <param name="checkpointPath">The checkpoint (normally <c>last.safetensors</c>).</param>
    /// <param name="progress">Receives progress after every step.</param>
    /// <param name="cancellationToken">Checked between steps.</param>
    /// <returns>The result.</returns>
    /// <exception cref="InvalidDataException">The checkpoint was not written by a pretrainer, or with another seed, or it
    /// records another input normalisation (one written before the record existed resumes, with a logged warning), or its
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
        if (!fileMeta.TryGetValue(ScanNormalization.MetadataKey, out var recorded))
            // Written before the record existed (an experiment's fold checkpoints were z-scored by the experiment then):
            // the normalisation it was trained on is unknown, not "none", so the run continues as configured.
            _logger.LogWarning("'{Path}' predates the input-normalisation record ({Key}): the normalisation it was trained on is unknown; resuming with this run's {Normalization}. Make sure it is the one the run started with.", checkpointPath, ScanNormalization.MetadataKey, InputNormalization);
        else if (recorded != InputNormalization.ToString())
            throw new InvalidDataException($"'{checkpointPath}' was trained on payloads normalised {recorded}, but this run normalises {InputNormalization}; resuming would change the input mid-run.");
        if (step > _options.TotalSteps)
            throw new InvalidDataException($"'{checkpointPath}' is at step {step}, beyond this run's {_options.TotalSteps} steps.");
        string dir = Path.GetDirectoryName(Path.GetFullPath(checkpointPath))!;
        string? headPath = null;
        if (_head is not null)
        {
            if (!fileMeta.TryGetValue(HeadKey, out var headName))
                throw new InvalidDataException($"'{checkpointPath}' holds no '{HeadKey}' entry, but objective '{_objective.Name}' owns a head whose state must be restored.");
            headPath = Path.Combine(dir, CheckFileName(checkpointPath, HeadKey, headName));
            if (!File.Exists(headPath)) throw new InvalidDataException($"The head checkpoint '{headPath}' named by '{checkpointPath}' does not exist.");
        }
        string? bestHead = fileMeta.TryGetValue(BestHeadKey, out var bh) ? CheckFileName(checkpointPath, BestHeadKey, bh) : null;
        var state = fileMeta.TryGetValue(StateKey, out var json) ? PretrainingRunState.FromJson(json, checkpointPath) : new PretrainingRunState();
        // Validate everything before changing anything: encoder first (it checks its own file), then the head.
        _encoder.Load(checkpointPath, _optimizer, strict: true);
        if (headPath is not null) Checkpoint.Load(headPath, _head!, _headOptimizer, null, strict: true);
        state.StartStep = step;
        state.LastHead = _head is not null ? Path.GetFileName(headPath) : null;
        state.BestHead = bestHead;
        state.PreviousBestHead = state.BestHead;
        RemoveStaleTemporaryFiles(dir);
        if (_options.CheckpointDirectory is { } cd && Directory.Exists(cd)) RemoveStaleTemporaryFiles(cd);
        _logger.LogInformation("Resuming pretraining of {Encoder} from step {Step} ({Path})", _encoder.Name, step, checkpointPath);
        return Train(state, new RestorePoint(Path.GetFullPath(checkpointPath), headPath, step), progress, cancellationToken);
    }

    /// <summary>Throws the data layer's typed error when the objective needs scores or coarse labels a scan lacks.</summary>
    private static void CheckDataset(IObjective objective, BatchFields required, LongitudinalDataset dataset, string which)
    {
        if (required.HasFlag(BatchFields.Scores))
        {
            var bad = dataset.Scans.FirstOrDefault(s => s.Score is null || !double.IsFinite(s.Score.Value));
            if (bad is not null)
                throw new MissingScoreException(bad.Id, bad.Score, $"objective '{objective.Name}' (pretraining, {which}, patient '{bad.PatientId}')");
        }
        if (required.HasFlag(BatchFields.Labels))
        {
            var bad = dataset.Scans.FirstOrDefault(s => s.CoarseLabel is null);
            if (bad is not null)
                throw new MissingLabelException(bad.Id, $"objective '{objective.Name}' (pretraining, {which}, patient '{bad.PatientId}')");
        }
    }
}
