namespace Learner.Objectives.Options;

/// <summary>Options of <see cref="MseScoreRegression"/>.</summary>
public sealed record MseOptions : ObjectiveOptions
{
    /// <summary>D, the embedding dimension the linear head reads (required, &gt; 0).</summary>
    public int EmbeddingDimension { get; init; }

    /// <summary>Subtracted from the score before regression (e.g. the training set's mean score).</summary>
    public float ScoreOffset { get; init; }

    /// <summary>The score is divided by this after the offset (e.g. the training set's standard deviation); &gt; 0.</summary>
    public float ScoreScale { get; init; } = 1f;

    /// <summary>Seed of the head's initialisation (uniform in ±1/√D; bias 0).</summary>
    public ulong InitSeed { get; init; }

    /// <inheritdoc />
    public override void Validate()
    {
        if (EmbeddingDimension <= 0)
            throw new ArgumentOutOfRangeException(nameof(EmbeddingDimension), EmbeddingDimension, $"MseOptions.EmbeddingDimension must be > 0, got {EmbeddingDimension}.");
        Finite(ScoreOffset, nameof(ScoreOffset));
        Positive(ScoreScale, nameof(ScoreScale));
    }
}
