using System.Globalization;
using Learner.Data;
using Learner.Objectives;
using Learner.Sampling;

namespace Learner.Training;

/// <summary>
/// A declarative choice of a pretraining run's batch source, for experiments and the command line. Score thresholds
/// (<see cref="PositiveThreshold"/>, <see cref="NegativeGap"/>, <see cref="CurriculumStartGap"/>) are in multiples of the
/// <em>training</em> scans' health-score standard deviation (<see cref="ScoreScale"/>), so one setting fits scores of any
/// unit; <see cref="Create"/> multiplies them by the scale it is given.
/// </summary>
/// <example>
/// <code>
/// var choice = new BatchSourceOptions { Kind = BatchSourceKind.InterPatientPairs, PairsPerBatch = 64, NegativeGap = 0.25 };
/// choice.Validate();
/// var source = choice.Create(train, BatchSourceOptions.ScoreScale(train), options.Epochs);
/// var pretrainer = new Pretrainer(encoder, train, source, objective, options);
/// </code>
/// </example>
public sealed record BatchSourceOptions
{
    /// <summary>Which source. Default <see cref="BatchSourceKind.PatientBatches"/>.</summary>
    public BatchSourceKind Kind { get; init; } = BatchSourceKind.PatientBatches;

    /// <summary>P, distinct patients per P × K batch (≥ 1). Default 8.</summary>
    public int PatientsPerBatch { get; init; } = 8;

    /// <summary>K, scans per patient in a P × K batch (≥ 1). Default 4.</summary>
    public int ScansPerPatient { get; init; } = 4;

    /// <summary>Inter-patient pairs per step (≥ 1); a step embeds at most twice this many distinct scans. Default 32.</summary>
    public int PairsPerBatch { get; init; } = 32;

    /// <summary>Triplets per step (≥ 1); a step embeds three times this many scans. Default 16.</summary>
    public int TripletsPerBatch { get; init; } = 16;

    /// <summary>Fraction of each pair batch that is positive, in [0, 1]. Default 0.5.</summary>
    public double PositiveFraction { get; init; } = 0.5;

    /// <summary>How positives are defined for pairs and triplets. Default <see cref="Sampling.PositiveRule.SameCoarseLabel"/>.</summary>
    public PositiveRule PositiveRule { get; init; } = PositiveRule.SameCoarseLabel;

    /// <summary>For <see cref="Sampling.PositiveRule.ScoreWithin"/>: the largest |Δscore| of a positive pair, in score
    /// standard deviations (finite, ≥ 0). Default 0.1.</summary>
    public double PositiveThreshold { get; init; } = 0.1;

    /// <summary>The fine-grained negative gap the curriculum ends at: a negative pair's scores differ by at least this
    /// many score standard deviations (finite, &gt; 0). Default 0.25.</summary>
    public double NegativeGap { get; init; } = 0.25;

    /// <summary>How the negatives' gap shrinks over the epochs. Default <see cref="Training.CurriculumShape.Linear"/>.</summary>
    public CurriculumShape CurriculumShape { get; init; } = CurriculumShape.Linear;

    /// <summary>The gap at epoch 0, in score standard deviations (finite, ≥ <see cref="NegativeGap"/>). Default 1.0.</summary>
    public double CurriculumStartGap { get; init; } = 1.0;

    /// <summary>Epochs over which the gap shrinks (≥ 1), reaching <see cref="NegativeGap"/> at epoch
    /// <c>CurriculumEpochs − 1</c>; null for all epochs of the run. Default null.</summary>
    public int? CurriculumEpochs { get; init; }

    /// <summary>Drops of a <see cref="Training.CurriculumShape.Step"/> curriculum (≥ 1). Default 3.</summary>
    public int CurriculumSteps { get; init; } = 3;

    /// <summary>Throws naming the first invalid option and its value.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Kind)) throw Bad(nameof(Kind), Kind, "is not a BatchSourceKind");
        if (PatientsPerBatch < 1) throw Bad(nameof(PatientsPerBatch), PatientsPerBatch, "must be ≥ 1");
        if (ScansPerPatient < 1) throw Bad(nameof(ScansPerPatient), ScansPerPatient, "must be ≥ 1");
        if (PairsPerBatch < 1) throw Bad(nameof(PairsPerBatch), PairsPerBatch, "must be ≥ 1");
        if (TripletsPerBatch < 1) throw Bad(nameof(TripletsPerBatch), TripletsPerBatch, "must be ≥ 1");
        if (!(PositiveFraction >= 0 && PositiveFraction <= 1)) throw Bad(nameof(PositiveFraction), PositiveFraction, "must be in [0, 1]");
        if (!Enum.IsDefined(PositiveRule)) throw Bad(nameof(PositiveRule), PositiveRule, "is not a PositiveRule");
        if (!(PositiveThreshold >= 0) || !double.IsFinite(PositiveThreshold)) throw Bad(nameof(PositiveThreshold), PositiveThreshold, "must be finite and ≥ 0 (score standard deviations)");
        if (!(NegativeGap > 0) || !double.IsFinite(NegativeGap)) throw Bad(nameof(NegativeGap), NegativeGap, "must be finite and > 0 (score standard deviations)");
        if (PositiveRule == PositiveRule.ScoreWithin && NegativeGap <= PositiveThreshold)
            throw Bad(nameof(NegativeGap), NegativeGap, $"must exceed PositiveThreshold = {F(PositiveThreshold)} under PositiveRule.ScoreWithin, so that no pair is both positive and negative");
        if (!Enum.IsDefined(CurriculumShape)) throw Bad(nameof(CurriculumShape), CurriculumShape, "is not a CurriculumShape");
        if (!(CurriculumStartGap > 0) || !double.IsFinite(CurriculumStartGap)) throw Bad(nameof(CurriculumStartGap), CurriculumStartGap, "must be finite and > 0 (score standard deviations)");
        if (CurriculumShape != CurriculumShape.None && CurriculumStartGap < NegativeGap)
            throw Bad(nameof(CurriculumStartGap), CurriculumStartGap, $"must be ≥ NegativeGap = {F(NegativeGap)}: a coarse-to-fine curriculum shrinks the gap");
        if (CurriculumEpochs is < 1) throw Bad(nameof(CurriculumEpochs), CurriculumEpochs.Value, "must be ≥ 1, or null for all epochs of the run");
        if (CurriculumSteps < 1) throw Bad(nameof(CurriculumSteps), CurriculumSteps, "must be ≥ 1");
    }

    /// <summary>The source over <paramref name="training"/>.</summary>
    /// <param name="training">The training scans.</param>
    /// <param name="scoreScale">The unit of the score thresholds: the training scans' score standard deviation
    /// (<see cref="ScoreScale"/>); finite and &gt; 0. Unused by <see cref="BatchSourceKind.PatientBatches"/>.</param>
    /// <param name="epochs">Epochs of the run (≥ 1): the curriculum's length when <see cref="CurriculumEpochs"/> is null.</param>
    /// <returns>The source.</returns>
    /// <exception cref="ArgumentException">An option is invalid (see <see cref="Validate"/>), or the scale or epochs are out of range.</exception>
    /// <exception cref="MissingScoreException">Pairs or triplets are chosen and a training scan has no finite score.</exception>
    /// <exception cref="MissingLabelException">Pairs or triplets with the label rule, and a training scan has no coarse label.</exception>
    /// <exception cref="SamplingException">The rules leave no negatives or positives in the training set.</exception>
    public IPretrainingBatchSource Create(LongitudinalDataset training, double scoreScale, int epochs)
    {
        ArgumentNullException.ThrowIfNull(training);
        Validate();
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, $"epochs must be ≥ 1, got {epochs}.");
        if (Kind == BatchSourceKind.PatientBatches)
            return new PatientBatchSource(new PatientBatchSampler(training, PatientsPerBatch, ScansPerPatient));
        if (!(scoreScale > 0) || !double.IsFinite(scoreScale))
            throw new ArgumentOutOfRangeException(nameof(scoreScale), scoreScale, $"scoreScale (the training scores' standard deviation) must be finite and > 0, got {F(scoreScale)}.");
        var options = new InterPatientPairOptions
        {
            PositiveRule = PositiveRule,
            PositiveThreshold = PositiveThreshold * scoreScale,
            NegativeGap = NegativeGap * scoreScale,
            PositiveFraction = PositiveFraction,
            Curriculum = Schedule(scoreScale, CurriculumEpochs ?? epochs),
        };
        return Kind == BatchSourceKind.InterPatientPairs
            ? new InterPatientPairSource(training, options, PairsPerBatch)
            : new TripletBatchSource(training, options, TripletsPerBatch);
    }

    /// <summary>The sampler fields the source <see cref="Create"/> builds gives each batch (its
    /// <see cref="IPretrainingBatchSource.Provides"/>), known before any data: what a preflight asks an objective's
    /// <see cref="IObjective.RequiresGiven"/> with.</summary>
    public BatchFields Provides => IPretrainingBatchSource.ProvidedBy(
        Kind == BatchSourceKind.InterPatientPairs ? PairsPerBatch : 0, Kind == BatchSourceKind.InterPatientTriplets ? TripletsPerBatch : 0);

    /// <summary>The curriculum of the negatives' gap in score units, or null for <see cref="Training.CurriculumShape.None"/>.</summary>
    /// <param name="scoreScale">The score standard deviation.</param>
    /// <param name="epochs">The curriculum's length.</param>
    /// <returns>The schedule.</returns>
    public CurriculumSchedule? Schedule(double scoreScale, int epochs) => CurriculumShape switch
    {
        CurriculumShape.None => null,
        CurriculumShape.Linear => CurriculumSchedule.Linear(CurriculumStartGap * scoreScale, NegativeGap * scoreScale, epochs),
        CurriculumShape.Cosine => CurriculumSchedule.Cosine(CurriculumStartGap * scoreScale, NegativeGap * scoreScale, epochs),
        _ => CurriculumSchedule.Step(CurriculumStartGap * scoreScale, NegativeGap * scoreScale, epochs, CurriculumSteps),
    };

    /// <summary>The population standard deviation of the scans' health scores: the unit of this record's score thresholds.</summary>
    /// <param name="training">The training scans; every one needs a finite score.</param>
    /// <returns>The standard deviation (0 when every score is equal).</returns>
    /// <exception cref="MissingScoreException">A scan has no finite score.</exception>
    public static double ScoreScale(LongitudinalDataset training)
    {
        ArgumentNullException.ThrowIfNull(training);
        if (training.ScanCount == 0) throw new ArgumentException("The dataset has no scans.", nameof(training));
        var scores = training.Scans.Select(s => s.RequireScore("the batch source's score scale")).ToArray();
        double mean = scores.Average();
        return Math.Sqrt(scores.Select(v => (v - mean) * (v - mean)).Average());
    }

    private static ArgumentException Bad<T>(string name, T value, string rule)
        => new($"BatchSourceOptions.{name} {rule}, got {(value is double d ? F(d) : value?.ToString())}.", name);

    private static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
