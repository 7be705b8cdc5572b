using Learner.Encoders;

namespace Learner.Training;

/// <summary>Settings of a <see cref="Pretrainer"/> run. <see cref="Validate"/> names the first invalid option.</summary>
public sealed record PretrainingOptions
{
    /// <summary>Number of epochs (≥ 1). Default 10.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Optimizer steps per epoch (≥ 1). Default 50.</summary>
    public int StepsPerEpoch { get; init; } = 50;

    /// <summary>Seed of batch sampling: the batch of global step s is drawn from <c>new Rng(Seed).Fork(s)</c>, so it depends
    /// only on the seed and the step — which is what makes a resumed run identical to an uninterrupted one.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Optimizer settings (its learning rate is the schedule's peak).</summary>
    public EncoderOptimizerOptions Optimizer { get; init; } = new();

    /// <summary>Linear warm-up steps from 0 to the peak learning rate (≥ 0). Default 0.</summary>
    public int WarmupSteps { get; init; }

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

    /// <summary>Total steps of the run.</summary>
    public long TotalSteps => (long)Epochs * StepsPerEpoch;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException($"Epochs must be ≥ 1, got {Epochs}.", nameof(Epochs));
        if (StepsPerEpoch < 1) throw new ArgumentException($"StepsPerEpoch must be ≥ 1, got {StepsPerEpoch}.", nameof(StepsPerEpoch));
        if (Optimizer is null) throw new ArgumentException("Optimizer must be set.", nameof(Optimizer));
        Optimizer.Validate();
        if (WarmupSteps < 0) throw new ArgumentException($"WarmupSteps must be ≥ 0, got {WarmupSteps}.", nameof(WarmupSteps));
        if (!(MinLearningRateFactor >= 0 && MinLearningRateFactor <= 1)) throw new ArgumentException($"MinLearningRateFactor must be in [0, 1], got {MinLearningRateFactor}.", nameof(MinLearningRateFactor));
        if (!(MaxGradNorm >= 0) || double.IsInfinity(MaxGradNorm)) throw new ArgumentException($"MaxGradNorm must be ≥ 0 and finite, got {MaxGradNorm}.", nameof(MaxGradNorm));
        if (CheckpointEverySteps < 1) throw new ArgumentException($"CheckpointEverySteps must be ≥ 1, got {CheckpointEverySteps}.", nameof(CheckpointEverySteps));
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

/// <summary>Progress of a pretraining run, reported after every step.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Step">Completed global steps.</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="Loss">This step's loss.</param>
/// <param name="Terms">This step's loss terms (one per component of a composite objective).</param>
/// <param name="LearningRate">The learning rate used by this step.</param>
/// <param name="StepsPerSecond">Throughput since the run (or resume) started.</param>
/// <param name="Eta">Estimated time to the end.</param>
public sealed record TrainingProgress(int Epoch, long Step, long TotalSteps, double Loss, IReadOnlyList<KeyValuePair<string, double>> Terms, double LearningRate, double StepsPerSecond, TimeSpan Eta);

/// <summary>The outcome of a pretraining run.</summary>
/// <param name="CompletedSteps">Global steps completed (including those before a resume).</param>
/// <param name="Losses">The loss of every step this call ran.</param>
/// <param name="LastCheckpoint">The last checkpoint written, if any.</param>
public sealed record PretrainingResult(long CompletedSteps, IReadOnlyList<double> Losses, string? LastCheckpoint);

/// <summary>Thrown when a step produces a non-finite loss or gradient. Training stops before the optimizer step, so the
/// weights and the last checkpoint are those of the last good step.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="step">0-based global step.</param>
    /// <param name="term">The objective term (or "gradient") that was not finite.</param>
    /// <param name="message">The message.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public TrainingDivergedException(long step, string term, string message, Exception? inner = null) : base(message, inner)
    {
        Step = step;
        Term = term;
    }

    /// <summary>0-based global step that diverged.</summary>
    public long Step { get; }

    /// <summary>The objective term (or "gradient") that was not finite.</summary>
    public string Term { get; }
}
