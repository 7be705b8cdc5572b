using System.Globalization;

namespace Learner.Nn.Optim;

/// <summary>A learning-rate schedule driving an optimizer's groups: call <see cref="Step"/> once per optimizer step
/// (after <see cref="Optimizer.Step"/>), as in PyTorch.</summary>
public interface ILrScheduler
{
    /// <summary>Advances the schedule by one step and sets every group's learning rate.</summary>
    void Step();

    /// <summary>The learning rate of the first parameter group, as last set by the schedule.</summary>
    double LastLr { get; }

    /// <summary>How many times <see cref="Step"/> was called (PyTorch's <c>last_epoch</c>).</summary>
    long StepCount { get; }

    /// <summary>The schedule's state, for checkpoints.</summary>
    /// <returns>The state.</returns>
    LrSchedulerState GetState();

    /// <summary>Restores a state from <see cref="GetState"/> and sets the groups' learning rates accordingly.</summary>
    /// <param name="state">The state.</param>
    /// <exception cref="ArgumentException">The state is of another kind of schedule or another number of groups.</exception>
    void SetState(LrSchedulerState state);
}

/// <summary>The state of a learning-rate schedule.</summary>
/// <param name="Kind">The schedule's kind (e.g. "StepLr").</param>
/// <param name="StepCount">Steps taken.</param>
/// <param name="BaseLearningRates">Each group's base learning rate (the rate when the schedule was created).</param>
public sealed record LrSchedulerState(string Kind, long StepCount, IReadOnlyList<double> BaseLearningRates);

/// <summary>Base of closed-form schedules: the learning rate of each group is <see cref="LearningRateAt"/>(step,
/// the group's base rate). Creating the schedule records the groups' current rates as base rates and applies step 0.</summary>
public abstract class LrScheduler : ILrScheduler
{
    private readonly Optimizer _optimizer;
    private double[] _baseLrs;

    /// <summary>Attaches the schedule to <paramref name="optimizer"/> and applies the rate of step 0.</summary>
    /// <param name="optimizer">The optimizer whose groups are scheduled.</param>
    protected LrScheduler(Optimizer optimizer)
    {
        _optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        _baseLrs = new double[optimizer.ParamGroups.Count];
        for (int g = 0; g < _baseLrs.Length; g++) _baseLrs[g] = optimizer.ParamGroups[g].LearningRate;
    }

    /// <summary>The schedule's kind, stored with its state.</summary>
    public abstract string Kind { get; }

    /// <summary>The base learning rate of each group.</summary>
    public IReadOnlyList<double> BaseLearningRates => _baseLrs;

    /// <inheritdoc />
    public long StepCount { get; private set; }

    /// <inheritdoc />
    public double LastLr => _optimizer.ParamGroups[0].LearningRate;

    /// <summary>The learning rate after <paramref name="step"/> steps for a group whose base rate is <paramref name="baseLearningRate"/>.</summary>
    /// <param name="step">Steps taken (≥ 0).</param>
    /// <param name="baseLearningRate">The group's base rate.</param>
    /// <returns>The learning rate.</returns>
    public abstract double LearningRateAt(long step, double baseLearningRate);

    /// <inheritdoc />
    public void Step()
    {
        StepCount++;
        Apply();
    }

    /// <summary>Sets every group's learning rate for the current step (subclasses call this at the end of their constructor).</summary>
    protected void Apply()
    {
        var groups = _optimizer.ParamGroups;
        for (int g = 0; g < _baseLrs.Length; g++) groups[g].LearningRate = Math.Max(0, LearningRateAt(StepCount, _baseLrs[g]));
    }

    /// <inheritdoc />
    public LrSchedulerState GetState() => new(Kind, StepCount, (double[])_baseLrs.Clone());

    /// <inheritdoc />
    public void SetState(LrSchedulerState state)
    {
        var problem = FindStateProblem(state);
        if (problem is not null) throw new ArgumentException(problem, nameof(state));
        ApplyState(state);
    }

    internal string? FindStateProblem(LrSchedulerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Kind != Kind) return $"The schedule state is of a {state.Kind} schedule, this one is {Kind}.";
        if (state.StepCount < 0) return $"The schedule state has a negative step count {state.StepCount}.";
        if (state.BaseLearningRates.Count != _baseLrs.Length)
            return $"The schedule state has {state.BaseLearningRates.Count} base learning rates, the optimizer {_baseLrs.Length} parameter groups.";
        foreach (var lr in state.BaseLearningRates)
            if (!double.IsFinite(lr) || lr < 0) return $"The schedule state has an invalid base learning rate {lr.ToString("R", CultureInfo.InvariantCulture)}.";
        return null;
    }

    internal void ApplyState(LrSchedulerState state)
    {
        _baseLrs = state.BaseLearningRates.ToArray();
        StepCount = state.StepCount;
        Apply();
    }
}

/// <summary>Decays each group's learning rate by <c>gamma</c> every <c>stepSize</c> steps:
/// lr = base · γ^⌊step / stepSize⌋ (PyTorch's <c>StepLR</c>, closed form).</summary>
public sealed class StepLr : LrScheduler
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="stepSize">Steps between decays (≥ 1).</param>
    /// <param name="gamma">Multiplicative decay (finite, ≥ 0).</param>
    public StepLr(Optimizer optimizer, int stepSize, double gamma = 0.1) : base(optimizer)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stepSize, 1);
        if (!double.IsFinite(gamma) || gamma < 0) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "gamma must be finite and ≥ 0.");
        StepSize = stepSize;
        Gamma = gamma;
        Apply();
    }

    /// <summary>Steps between decays.</summary>
    public int StepSize { get; }

    /// <summary>Multiplicative decay.</summary>
    public double Gamma { get; }

    /// <inheritdoc />
    public override string Kind => "StepLr";

    /// <inheritdoc />
    public override double LearningRateAt(long step, double baseLearningRate) => baseLearningRate * Math.Pow(Gamma, step / StepSize);
}

/// <summary>
/// Linear warm-up then cosine decay: for step s &lt; W, lr = base · (f₀ + (1 − f₀)·s/W); for W ≤ s ≤ T,
/// lr = min + (base − min)·(1 + cos(π·(s − W)/(T − W)))/2; after T, lr = min. With f₀ &gt; 0 this equals PyTorch's
/// <c>SequentialLR([LinearLR(f₀, 1, W), CosineAnnealingLR(T − W, min)], [W])</c>.
/// </summary>
public sealed class CosineWithWarmup : LrScheduler
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="warmupSteps">Warm-up steps W (≥ 0).</param>
    /// <param name="totalSteps">Total steps T (&gt; W): the cosine reaches <paramref name="minLr"/> there.</param>
    /// <param name="minLr">Final learning rate (≥ 0), the same for every group.</param>
    /// <param name="warmupStartFactor">f₀ in [0, 1]: the fraction of the base rate at step 0.</param>
    public CosineWithWarmup(Optimizer optimizer, long warmupSteps, long totalSteps, double minLr = 0, double warmupStartFactor = 0) : base(optimizer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        if (totalSteps <= warmupSteps) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, $"Total steps must exceed the {warmupSteps} warm-up steps.");
        if (!double.IsFinite(minLr) || minLr < 0) throw new ArgumentOutOfRangeException(nameof(minLr), minLr, "The minimum learning rate must be finite and ≥ 0.");
        if (!(warmupStartFactor >= 0 && warmupStartFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(warmupStartFactor), warmupStartFactor, "The warm-up start factor must be in [0, 1].");
        WarmupSteps = warmupSteps;
        TotalSteps = totalSteps;
        MinLr = minLr;
        WarmupStartFactor = warmupStartFactor;
        Apply();
    }

    /// <summary>Warm-up steps.</summary>
    public long WarmupSteps { get; }

    /// <summary>Total steps.</summary>
    public long TotalSteps { get; }

    /// <summary>Final learning rate.</summary>
    public double MinLr { get; }

    /// <summary>Fraction of the base rate at step 0.</summary>
    public double WarmupStartFactor { get; }

    /// <inheritdoc />
    public override string Kind => "CosineWithWarmup";

    /// <inheritdoc />
    public override double LearningRateAt(long step, double baseLearningRate)
    {
        if (step < WarmupSteps)
            return baseLearningRate * (WarmupStartFactor + (1 - WarmupStartFactor) * step / WarmupSteps);
        if (step >= TotalSteps) return MinLr;
        double progress = (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps);
        return MinLr + (baseLearningRate - MinLr) * (1 + Math.Cos(Math.PI * progress)) / 2;
    }
}
