namespace Learner.Objectives;

/// <summary>What an objective recipe (see <see cref="ObjectiveRecipes"/>) may use to choose its defaults: the encoder's
/// embedding dimension, a seed for heads the objective owns, and the training cohort's statistics.</summary>
public sealed record ObjectiveContext
{
    /// <summary>Creates the context.</summary>
    /// <param name="embeddingDimension">D, the encoder's embedding dimension (&gt; 0).</param>
    /// <param name="seed">Seed for heads an objective owns (e.g. <c>MseOptions.InitSeed</c>).</param>
    /// <param name="cohortStatistics">The training cohort's statistics (<see cref="Objectives.CohortStatistics.FromDataset"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="embeddingDimension"/> is not positive.</exception>
    public ObjectiveContext(int embeddingDimension, ulong seed, CohortStatistics cohortStatistics)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(embeddingDimension);
        ArgumentNullException.ThrowIfNull(cohortStatistics);
        EmbeddingDimension = embeddingDimension;
        Seed = seed;
        CohortStatistics = cohortStatistics;
    }

    /// <summary>D, the encoder's embedding dimension.</summary>
    public int EmbeddingDimension { get; }

    /// <summary>Seed for heads an objective owns.</summary>
    public ulong Seed { get; }

    /// <summary>The training cohort's statistics.</summary>
    public CohortStatistics CohortStatistics { get; }

    /// <summary>A stand-in context for checking specs before any data is loaded: D = 8 (unless given), seed 0, score
    /// mean 0 and standard deviation 1.</summary>
    /// <param name="embeddingDimension">D (&gt; 0; default 8).</param>
    /// <returns>The context.</returns>
    public static ObjectiveContext ForValidation(int embeddingDimension = 8) => new(embeddingDimension, 0, CohortStatistics.FromMoments(0, 1));
}
