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

    /// <summary>λ of the within-patient term: the loss adds λ·(1/B) Σ_i (r_i − r̄_p(i))², where r_i is scan i's residual
    /// and r̄_p(i) the mean residual of its patient's scans in the batch — the error a patient's scans do not share,
    /// which is the error of every change read within that patient (for a pair of its scans, r_i − r_j is the error
    /// of the predicted score change). Finite, ≥ 0; 0 (default) is the paper's plain MSE. Above 0 the batch must carry
    /// <see cref="EmbeddingBatch.PatientIds"/>.</summary>
    public double WithinPatientWeight { get; init; }

    /// <inheritdoc />
    public override void Validate()
    {
        if (EmbeddingDimension <= 0)
            throw new ArgumentOutOfRangeException(nameof(EmbeddingDimension), EmbeddingDimension, $"MseOptions.EmbeddingDimension must be > 0, got {EmbeddingDimension}.");
        Finite(ScoreOffset, nameof(ScoreOffset));
        Positive(ScoreScale, nameof(ScoreScale));
        if (!(WithinPatientWeight >= 0) || !double.IsFinite(WithinPatientWeight))
            throw new ArgumentOutOfRangeException(nameof(WithinPatientWeight), WithinPatientWeight,
                string.Create(System.Globalization.CultureInfo.InvariantCulture, $"MseOptions.WithinPatientWeight must be finite and ≥ 0, got {WithinPatientWeight}."));
    }
}
