namespace Learner.Training;

/// <summary>How a <see cref="BatchSourceOptions"/> curriculum shrinks the negatives' score gap from
/// <see cref="BatchSourceOptions.CurriculumStartGap"/> to <see cref="BatchSourceOptions.NegativeGap"/>.</summary>
public enum CurriculumShape
{
    /// <summary>No curriculum: the gap is <see cref="BatchSourceOptions.NegativeGap"/> from the first epoch.</summary>
    None,

    /// <summary>Linear decrease (<see cref="Sampling.CurriculumSchedule.Linear"/>).</summary>
    Linear,

    /// <summary>Half-cosine decrease (<see cref="Sampling.CurriculumSchedule.Cosine"/>).</summary>
    Cosine,

    /// <summary>Piecewise-constant decrease in <see cref="BatchSourceOptions.CurriculumSteps"/> drops
    /// (<see cref="Sampling.CurriculumSchedule.Step"/>).</summary>
    Step,
}
