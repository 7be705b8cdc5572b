using Learner.Data;
using Learner.Downstream;
using Learner.Encoders;

namespace Learner.Training;

/// <summary>Settings of a <see cref="Pretrainer"/> run. <see cref="Validate"/> names the first invalid option.</summary>
public sealed record PretrainingOptions
{
    // The one home of the pretraining defaults: ExperimentOptions.Pretraining and the learner command line
    // (pretrain, experiment) use these values, not copies of them.

    /// <summary>Number of epochs (≥ 1). Default 2.</summary>
    public int Epochs { get; init; } = 2;

    /// <summary>Optimizer steps per epoch (≥ 1). Default 60.</summary>
    public int StepsPerEpoch { get; init; } = 60;

    /// <summary>Seed of batch sampling: the batch of global step s is drawn from <c>new Rng(Seed).Fork(s)</c>, so it depends
    /// only on the seed and the step — which is what makes a resumed run identical to an uninterrupted one.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Optimizer settings (its learning rate is the schedule's peak).</summary>
    public EncoderOptimizerOptions Optimizer { get; init; } = new();

    /// <summary>Linear warm-up steps from 0 to the peak learning rate (≥ 0). Default 5.</summary>
    public int WarmupSteps { get; init; } = 5;

    /// <summary>Cosine decay after warm-up down to <c>peak × MinLearningRateFactor</c> at the last step (in [0, 1]); 1 keeps the
    /// learning rate constant. Default 0.01.</summary>
    public double MinLearningRateFactor { get; init; } = 0.01;

    /// <summary>Clip the global gradient norm to this value (&gt; 0), or 0 for no clipping. Default 5.</summary>
    public double MaxGradNorm { get; init; } = 5;

    /// <summary>Folder for checkpoints (created if missing), or null for none.</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>Save a checkpoint every this many steps (≥ 1) when <see cref="CheckpointDirectory"/> is set; one is always saved
    /// at the end and on cancellation. Default 100.</summary>
    public int CheckpointEverySteps { get; init; } = 100;

    /// <summary>Augmentation applied to every training scan (seeded by the step, so runs stay reproducible), or null for
    /// none. Objectives that need a second view (InfoNCE) always get two independently augmented views of each scan; when
    /// this is null they use <c>new AugmentationOptions()</c>.</summary>
    public AugmentationOptions? Augmentation { get; init; }

    /// <summary>What to measure on the validation set after each epoch (used when the pretrainer has a
    /// <see cref="Pretrainer.ValidationSet"/>).</summary>
    public ValidationOptions Validation { get; init; } = new();

    /// <summary>Early stopping on a validation metric, or null to always run every epoch. Needs a validation set.</summary>
    public EarlyStoppingOptions? EarlyStopping { get; init; }

    /// <summary>Explosion guard: a step whose loss magnitude exceeds <c>DivergenceFactor × max(1, m)</c>, where m is the
    /// median |loss| of the run's first <see cref="DivergenceWindow"/> steps (of those seen so far while fewer), stops the run
    /// with <see cref="TrainingDivergedException"/> before its update — long before the weights overflow to infinity. The
    /// reference is the run's start, not a recent window, so a loss that converges towards 0 and then fluctuates is not
    /// flagged; the floor of 1 keeps objectives whose loss starts near 0 from being flagged for harmless growth. The
    /// reference losses are checkpointed, so a resumed run applies the same rule. 0 turns the guard off (non-finite losses,
    /// gradients and weights are always fatal); otherwise it must be finite and &gt; 1. Default 1e4.</summary>
    public double DivergenceFactor { get; init; } = 1e4;

    /// <summary>How many of the run's first steps make the explosion guard's reference (≥ 1); see
    /// <see cref="DivergenceFactor"/>. Default 10.</summary>
    public int DivergenceWindow { get; init; } = 10;

    /// <summary>The per-scan intensity normalisation of the training and validation payloads, applied by the pretrainer to
    /// a dataset whose <see cref="LongitudinalDataset.Normalization"/> is null (payloads as stored) and recorded in every
    /// checkpoint, so that embedding applies the same (a dataset normalised by the caller keeps, and records, its own).
    /// Default <see cref="ScanNormalization.Default"/>: z-score per clip or volume, feature vectors unchanged.</summary>
    public ScanNormalization InputNormalization { get; init; } = ScanNormalization.Default;

    /// <summary>Assemble the next step's batch (draw, payloads, augmentation) on a background thread while the current step
    /// computes (see <see cref="Pretrainer"/>). The batches are the same bits either way; false assembles each batch on the
    /// training thread when its step begins. Default true. With it the batch source's
    /// <see cref="IPretrainingBatchSource.BeginEpoch"/> and <see cref="IPretrainingBatchSource.Draw"/> run on the background
    /// thread one step ahead, before the previous step's progress callback: turn it off for a source that is fed back
    /// from the progress callback (or from anything else the training thread changes between steps).</summary>
    public bool PrefetchBatches { get; init; } = true;

    /// <summary>Total steps of the run.</summary>
    public long TotalSteps => (long)Epochs * StepsPerEpoch;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException($"Epochs must be ≥ 1, got {Epochs}.", nameof(Epochs));
        if (StepsPerEpoch < 1) throw new ArgumentException($"StepsPerEpoch must be ≥ 1, got {StepsPerEpoch}.", nameof(StepsPerEpoch));
        if (Optimizer is null) throw new ArgumentException("Optimizer must be set.", nameof(Optimizer));
        Optimizer.Validate();
        if (InputNormalization is null) throw new ArgumentException("InputNormalization must be set (ScanNormalization.Unchanged for none).", nameof(InputNormalization));
        InputNormalization.Validate();
        Augmentation?.Validate();
        if (WarmupSteps < 0) throw new ArgumentException($"WarmupSteps must be ≥ 0, got {WarmupSteps}.", nameof(WarmupSteps));
        if (!(MinLearningRateFactor >= 0 && MinLearningRateFactor <= 1)) throw new ArgumentException(FormattableString.Invariant($"MinLearningRateFactor must be in [0, 1], got {MinLearningRateFactor}."), nameof(MinLearningRateFactor));
        if (!(MaxGradNorm >= 0) || double.IsInfinity(MaxGradNorm)) throw new ArgumentException(FormattableString.Invariant($"MaxGradNorm must be ≥ 0 and finite, got {MaxGradNorm}."), nameof(MaxGradNorm));
        if (CheckpointEverySteps < 1) throw new ArgumentException($"CheckpointEverySteps must be ≥ 1, got {CheckpointEverySteps}.", nameof(CheckpointEverySteps));
        if (!(DivergenceFactor == 0 || DivergenceFactor > 1) || double.IsInfinity(DivergenceFactor))
            throw new ArgumentException(FormattableString.Invariant($"DivergenceFactor must be 0 (off) or finite and > 1, got {DivergenceFactor}."), nameof(DivergenceFactor));
        if (DivergenceWindow < 1) throw new ArgumentException($"DivergenceWindow must be ≥ 1, got {DivergenceWindow}.", nameof(DivergenceWindow));
        if (Validation is null) throw new ArgumentException("Validation must be set (use new ValidationOptions()).", nameof(Validation));
        Validation.Validate();
        EarlyStopping?.Validate(Validation);
    }

    /// <summary>The learning rate of global step <paramref name="step"/> (0-based): linear warm-up, then cosine decay.</summary>
    /// <param name="step">The step.</param>
    /// <returns>The learning rate.</returns>
    public double LearningRateAt(long step)
    {
        double peak = Optimizer.LearningRate;
        if (step < WarmupSteps) return peak * (step + 1) / WarmupSteps;
        long decaySteps = TotalSteps - WarmupSteps;
        if (decaySteps <= 1) return peak;
        double progress = Math.Clamp((double)(step - WarmupSteps) / (decaySteps - 1), 0, 1);
        double min = peak * MinLearningRateFactor;
        return min + (peak - min) * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}

/// <summary>What a <see cref="Pretrainer"/> measures on its validation set after each epoch.</summary>
public sealed record ValidationOptions
{
    /// <summary>Batches of validation scans on which the objective's value is averaged (≥ 1). The batches are fixed for the
    /// whole run (same scans, same augmentation), so epochs are comparable. Default 4.</summary>
    public int LossBatches { get; init; } = 4;

    /// <summary>How score changes map to change labels for the validation change classifier, or null to skip change
    /// classification (accuracy, macro-F1 and κ are then not measured).</summary>
    public ChangeThresholds? ChangeThresholds { get; init; }

    /// <summary>Folds of the patient-grouped cross-validation of the validation change classifier (≥ 2). Default 5.</summary>
    public int ChangeFolds { get; init; } = 5;

    /// <summary>The validation change classifier's settings.</summary>
    public ChangeClassifierOptions Classifier { get; init; } = new();

    /// <summary>Scans per forward pass when embedding the validation set (≥ 1). Default 64.</summary>
    public int EmbeddingBatchSize { get; init; } = 64;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (LossBatches < 1) throw new ArgumentException($"Validation.LossBatches must be ≥ 1, got {LossBatches}.", nameof(LossBatches));
        if (ChangeFolds < 2) throw new ArgumentException($"Validation.ChangeFolds must be ≥ 2, got {ChangeFolds}.", nameof(ChangeFolds));
        if (EmbeddingBatchSize < 1) throw new ArgumentException($"Validation.EmbeddingBatchSize must be ≥ 1, got {EmbeddingBatchSize}.", nameof(EmbeddingBatchSize));
        if (Classifier is null) throw new ArgumentException("Validation.Classifier must be set.", nameof(Classifier));
    }
}

/// <summary>A metric measured on the validation set after each epoch.</summary>
public enum ValidationMetric
{
    /// <summary>The objective's mean value on the fixed validation batches (lower is better).</summary>
    Loss,

    /// <summary>Spearman correlation between the cosine distance of same-patient consecutive scans and |Δscore| (the paper's
    /// Fig. 1; higher is better).</summary>
    Spearman,

    /// <summary>Macro-F1 of three-way change classification, patient-grouped cross-validation (higher is better).</summary>
    MacroF1,

    /// <summary>Accuracy of three-way change classification (higher is better).</summary>
    Accuracy,

    /// <summary>Quadratic-weighted Cohen's κ of three-way change classification (higher is better).</summary>
    QuadraticKappa,

    /// <summary>Precision@1 of retrieval by coarse label (higher is better).</summary>
    PrecisionAt1,

    /// <summary>MAP@R of retrieval by coarse label (higher is better).</summary>
    MapAtR,
}

/// <summary>Stops a run when a validation metric has not improved for <see cref="Patience"/> epochs.</summary>
public sealed record EarlyStoppingOptions
{
    /// <summary>The metric watched. Default <see cref="ValidationMetric.Spearman"/>.</summary>
    public ValidationMetric Metric { get; init; } = ValidationMetric.Spearman;

    /// <summary>Epochs without improvement after which the run stops (≥ 1). Default 3.</summary>
    public int Patience { get; init; } = 3;

    /// <summary>An epoch improves on the best only by more than this (≥ 0). Default 0.</summary>
    public double MinDelta { get; init; }

    /// <summary>When true (default), the encoder (and any objective head) ends the run with the weights of the best
    /// validation epoch rather than the last.</summary>
    public bool RestoreBestWeights { get; init; } = true;

    /// <summary>True when lower values of <see cref="Metric"/> are better.</summary>
    public bool LowerIsBetter => Metric == ValidationMetric.Loss;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    /// <param name="validation">The validation settings the metric is measured with.</param>
    public void Validate(ValidationOptions validation)
    {
        ArgumentNullException.ThrowIfNull(validation);
        if (!Enum.IsDefined(Metric)) throw new ArgumentException($"EarlyStopping.Metric {(int)Metric} is not a ValidationMetric; allowed: {string.Join(", ", Enum.GetNames<ValidationMetric>())}.", nameof(Metric));
        if (Patience < 1) throw new ArgumentException($"EarlyStopping.Patience must be ≥ 1, got {Patience}.", nameof(Patience));
        if (!(MinDelta >= 0) || double.IsInfinity(MinDelta)) throw new ArgumentException(FormattableString.Invariant($"EarlyStopping.MinDelta must be ≥ 0 and finite, got {MinDelta}."), nameof(MinDelta));
        if (Metric is ValidationMetric.MacroF1 or ValidationMetric.Accuracy or ValidationMetric.QuadraticKappa && validation.ChangeThresholds is null)
            throw new ArgumentException($"EarlyStopping.Metric {Metric} needs Validation.ChangeThresholds to be set, so that change classification is measured.", nameof(Metric));
    }
}

/// <summary>What a <see cref="Pretrainer"/> measured on its validation set at the end of an epoch. A metric that could not
/// be measured (no coarse labels for retrieval, change classification not configured) is NaN; so is a correlation that is
/// undefined (constant distances), as in scipy.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Step">Completed global steps.</param>
/// <param name="Loss">The objective's mean value on the fixed validation batches.</param>
/// <param name="Terms">The mean of each objective term.</param>
/// <param name="Spearman">Spearman correlation between same-patient consecutive cosine distance and |Δscore|.</param>
/// <param name="PrecisionAt1">Precision@1 of retrieval by coarse label.</param>
/// <param name="MapAtR">MAP@R of retrieval by coarse label.</param>
/// <param name="Accuracy">Change-classification accuracy (patient-grouped CV).</param>
/// <param name="MacroF1">Change-classification macro-F1.</param>
/// <param name="QuadraticKappa">Change-classification quadratic-weighted κ.</param>
public sealed record ValidationReport(int Epoch, long Step, double Loss, IReadOnlyList<KeyValuePair<string, double>> Terms,
    double Spearman, double PrecisionAt1, double MapAtR, double Accuracy, double MacroF1, double QuadraticKappa)
{
    /// <summary>The value of one metric.</summary>
    /// <param name="metric">The metric.</param>
    /// <returns>Its value (NaN when not measured).</returns>
    public double Get(ValidationMetric metric) => metric switch
    {
        ValidationMetric.Loss => Loss,
        ValidationMetric.Spearman => Spearman,
        ValidationMetric.MacroF1 => MacroF1,
        ValidationMetric.Accuracy => Accuracy,
        ValidationMetric.QuadraticKappa => QuadraticKappa,
        ValidationMetric.PrecisionAt1 => PrecisionAt1,
        ValidationMetric.MapAtR => MapAtR,
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, "Unknown validation metric."),
    };

    /// <summary>One readable line, e.g. <c>epoch 2, step 120: loss 0.4123 (mse 0.3012, weighted-contrastive 0.1111);
    /// Spearman 0.412, P@1 0.630, MAP@R 0.310, accuracy 0.550, macro-F1 0.521, κ 0.402</c>; a metric that was not
    /// measured (NaN, e.g. change classification without change thresholds) reads "n/a".</summary>
    /// <returns>The line.</returns>
    public override string ToString()
    {
        static string F(double v, string format) => double.IsFinite(v) ? v.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : "n/a";
        string terms = Terms is { Count: > 0 } ? $" ({string.Join(", ", Terms.Select(t => $"{t.Key} {F(t.Value, "F4")}"))})" : "";
        return $"epoch {Epoch}, step {Step}: loss {F(Loss, "F4")}{terms}; Spearman {F(Spearman, "F3")}, P@1 {F(PrecisionAt1, "F3")}, MAP@R {F(MapAtR, "F3")}, "
            + $"accuracy {F(Accuracy, "F3")}, macro-F1 {F(MacroF1, "F3")}, κ {F(QuadraticKappa, "F3")}";
    }
}

/// <summary>One epoch of a run.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Step">Completed global steps at its end.</param>
/// <param name="TrainLoss">Mean training loss of its steps (including those before a resume).</param>
/// <param name="LearningRate">The learning rate of its last step.</param>
/// <param name="Validation">What was measured on the validation set, or null without one.</param>
public sealed record EpochSummary(int Epoch, long Step, double TrainLoss, double LearningRate, ValidationReport? Validation);

/// <summary>Progress of a pretraining run, reported after every step.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Step">Completed global steps.</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="Loss">This step's loss.</param>
/// <param name="Terms">This step's loss terms (one per component of a composite objective).</param>
/// <param name="LearningRate">The learning rate used by this step.</param>
/// <param name="StepsPerSecond">Throughput since the run (or resume) started.</param>
/// <param name="Eta">Estimated time to the end.</param>
public sealed record TrainingProgress(int Epoch, long Step, long TotalSteps, double Loss, IReadOnlyList<KeyValuePair<string, double>> Terms, double LearningRate, double StepsPerSecond, TimeSpan Eta)
{
    /// <summary>Set on the step that ended an epoch when a validation set is configured: what was measured.</summary>
    public ValidationReport? Validation { get; init; }

    /// <summary>This step's loss parts (<see cref="Objectives.ObjectiveResult.Parts"/>, e.g.
    /// <c>weighted-contrastive.positive</c>), unweighted values; empty when the objective reports none.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> Parts { get; init; } = Array.Empty<KeyValuePair<string, double>>();

    /// <summary>This step's mining statistics (<see cref="Objectives.ObjectiveResult.Mining"/>): pairs, positive pairs,
    /// triplets, anchors and active terms the objective visited.</summary>
    public Objectives.MiningStatistics Mining { get; init; }
}

/// <summary>The outcome of a pretraining run.</summary>
/// <param name="CompletedSteps">Global steps completed (including those before a resume).</param>
/// <param name="Losses">The loss of every step this call ran.</param>
/// <param name="LastCheckpoint">The last checkpoint written, if any.</param>
public sealed record PretrainingResult(long CompletedSteps, IReadOnlyList<double> Losses, string? LastCheckpoint)
{
    /// <summary>Every completed epoch of the run, including those before a resume.</summary>
    public IReadOnlyList<EpochSummary> Epochs { get; init; } = Array.Empty<EpochSummary>();

    /// <summary>The epoch with the best value of the early-stopping metric, or null without early stopping.</summary>
    public int? BestEpoch { get; init; }

    /// <summary>The best value of the early-stopping metric, or null without early stopping.</summary>
    public double? BestValue { get; init; }

    /// <summary>The checkpoint of the best validation epoch (<c>best.safetensors</c>), when a checkpoint folder is set.</summary>
    public string? BestCheckpoint { get; init; }

    /// <summary>True when early stopping ended the run before its last epoch.</summary>
    public bool StoppedEarly { get; init; }

    /// <summary>Time the training thread spent waiting for its batches in this call: assembling them itself without
    /// <see cref="PretrainingOptions.PrefetchBatches"/>, or waiting for the background assembly to finish with it.</summary>
    public TimeSpan DataWait { get; init; }

    /// <summary>The share of this call's training time (steps, validation and checkpoints, from the first step to the last)
    /// spent in <see cref="DataWait"/>, in [0, 1]; 0 when no step ran.</summary>
    public double DataWaitShare { get; init; }
}

/// <summary>Thrown when a run diverges: a step's loss or one of its terms is not finite, or explodes past
/// <see cref="PretrainingOptions.DivergenceFactor"/>; the encoder's embeddings or a gradient are not finite; or an update leaves a parameter, a buffer
/// (batch-norm running statistics), an optimizer moment or the objective head's state non-finite. No checkpoint holding
/// a non-finite tensor is ever written, and before this is thrown the encoder, its optimizer and the objective head are
/// restored to <see cref="RestoredStep"/>: the last checkpoint this call wrote or resumed from, or else the state at the
/// start of the call.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="step">0-based global step.</param>
    /// <param name="term">What diverged (see <see cref="Term"/>).</param>
    /// <param name="message">The message.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public TrainingDivergedException(long step, string term, string message, Exception? inner = null) : this(step, term, null, message, inner)
    {
    }

    /// <summary>Creates the exception naming the non-finite tensor.</summary>
    /// <param name="step">0-based global step.</param>
    /// <param name="term">What diverged (see <see cref="Term"/>).</param>
    /// <param name="tensor">The first non-finite tensor (see <see cref="Tensor"/>), or null.</param>
    /// <param name="message">The message.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public TrainingDivergedException(long step, string term, string? tensor, string message, Exception? inner = null) : base(message, inner)
    {
        Step = step;
        Term = term;
        Tensor = tensor;
    }

    /// <summary>0-based global step that diverged.</summary>
    public long Step { get; }

    /// <summary>The objective term that was not finite or exploded ("loss" for the total); "gradient" when a gradient was not
    /// finite; "embeddings" when the forward overflowed (finite weights, non-finite embeddings); "state" when the update (or
    /// the training-mode forward's running statistics) left a tensor non-finite.</summary>
    public string Term { get; }

    /// <summary>The first non-finite tensor, named as in the checkpoint (<c>0.weight</c>, <c>1.running_var</c>,
    /// <c>optim.3.exp_avg</c>; objective-head tensors begin with <c>head:</c>); null when the loss itself diverged.</summary>
    public string? Tensor { get; }

    /// <summary>The completed steps of the state the encoder, its optimizer and the objective head were restored to, or null
    /// when they could not be restored (the message then says why).</summary>
    public long? RestoredStep { get; init; }
}
