using System.Globalization;
using Learner.Data;
using Learner.Nn;

namespace Learner.Sampling;

/// <summary>Settings of <see cref="InterPatientPairSampler"/> and <see cref="InterPatientTripletSampler"/>.</summary>
public sealed record InterPatientPairOptions
{
    /// <summary>How positives are defined. Default: same coarse label.</summary>
    public PositiveRule PositiveRule { get; init; } = PositiveRule.SameCoarseLabel;

    /// <summary>For <see cref="PositiveRule.ScoreWithin"/>: the largest |Δscore| of a positive pair (≥ 0). Default 0.</summary>
    public double PositiveThreshold { get; init; }

    /// <summary>The fine-grained negative gap: a negative pair's scores differ by at least this (after the curriculum,
    /// if any, has shrunk to it). Required; finite and positive.</summary>
    public double NegativeGap { get; init; } = double.NaN;

    /// <summary>A coarse-to-fine curriculum for the negative gap, or null for the constant <see cref="NegativeGap"/>.</summary>
    public CurriculumSchedule? Curriculum { get; init; }

    /// <summary>Fraction of each pair batch that is positive (the first round(B·fraction) pairs). Default 0.5.</summary>
    public double PositiveFraction { get; init; } = 0.5;

    internal void Validate()
    {
        if (!Enum.IsDefined(PositiveRule)) throw new ArgumentOutOfRangeException(nameof(PositiveRule), PositiveRule, "Unknown positive rule.");
        if (!(PositiveThreshold >= 0) || !double.IsFinite(PositiveThreshold))
            throw new ArgumentOutOfRangeException(nameof(PositiveThreshold), PositiveThreshold, "PositiveThreshold must be finite and ≥ 0.");
        if (!(NegativeGap > 0) || !double.IsFinite(NegativeGap))
            throw new ArgumentOutOfRangeException(nameof(NegativeGap), NegativeGap, "NegativeGap must be set to a finite, positive score difference.");
        if (PositiveRule == PositiveRule.ScoreWithin && NegativeGap <= PositiveThreshold)
            throw new ArgumentOutOfRangeException(nameof(NegativeGap), NegativeGap, $"NegativeGap must exceed the positive threshold {PositiveThreshold} so that no pair is both positive and negative.");
        if (!(PositiveFraction >= 0 && PositiveFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(PositiveFraction), PositiveFraction, "PositiveFraction must be in [0, 1].");
    }
}

/// <summary>
/// The LEARNER pair sampler: pairs of scans from <em>different</em> patients. A positive pair has similar health (same
/// coarse label, or |Δscore| ≤ the positive threshold); a negative pair's scores differ by at least the current gap,
/// which a <see cref="CurriculumSchedule"/> can shrink from coarse to fine over epochs. Every pair carries |Δscore|.
/// </summary>
/// <remarks>
/// Building sorts the scans by score (O(N log N)); changing the gap costs O(N). Drawing a pair is O(1) expected: the
/// anchor is uniform over scans that have a valid partner, the partner uniform over the anchor's valid partners of other
/// patients. <see cref="SampleBatch"/> allocates nothing.
/// </remarks>
/// <remarks>Not thread-safe: <see cref="BeginEpoch"/> rewrites the negative ranges that <see cref="SampleBatch"/> reads; use one sampler per thread, or call both from one thread.</remarks>
public sealed class InterPatientPairSampler : IPairSampler, ICurriculumSampler
{
    private readonly PairIndex _index;

    /// <summary>Builds the sampler.</summary>
    /// <param name="dataset">The dataset; every scan needs a finite score (and a coarse label for <see cref="PositiveRule.SameCoarseLabel"/>).</param>
    /// <param name="options">The rules.</param>
    /// <exception cref="MissingScoreException">A scan has no finite score.</exception>
    /// <exception cref="MissingLabelException">A scan has no coarse label under the label rule.</exception>
    /// <exception cref="NoNegativesException">The (starting) gap leaves no negatives; the message names the gap and score range.</exception>
    /// <exception cref="NoPositivesException">Positives are requested but the rule leaves none.</exception>
    public InterPatientPairSampler(LongitudinalDataset dataset, InterPatientPairOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _index = new PairIndex(dataset, options.PositiveRule, options.PositiveThreshold, "inter-patient pair sampling");
        Dataset = dataset;
        if (options.PositiveFraction > 0 && _index.PositiveAnchorCount == 0)
            throw new NoPositivesException(options.PositiveRule == PositiveRule.SameCoarseLabel
                ? "No two patients share a coarse label, so there are no positive pairs; use PositiveRule.ScoreWithin or set PositiveFraction to 0."
                : string.Create(CultureInfo.InvariantCulture, $"Positive threshold {options.PositiveThreshold:G6} leaves no positive pairs: no two scans of different patients are that close (scores span [{_index.MinScore:G6}, {_index.MaxScore:G6}])."));
        BeginEpoch(0);
    }

    /// <summary>The dataset sampled.</summary>
    public LongitudinalDataset Dataset { get; }

    /// <summary>The rules.</summary>
    public InterPatientPairOptions Options { get; }

    /// <inheritdoc />
    public double NegativeGap => _index.Gap;

    /// <summary>Number of scans that can anchor a negative pair at the current gap.</summary>
    public int NegativeAnchorCount => _index.NegativeAnchorCount;

    /// <summary>Number of scans that can anchor a positive pair.</summary>
    public int PositiveAnchorCount => _index.PositiveAnchorCount;

    /// <summary>Sets the gap to the curriculum's value at <paramref name="epoch"/> (or, without a curriculum, to
    /// <see cref="InterPatientPairOptions.NegativeGap"/>). O(N).</summary>
    /// <param name="epoch">The epoch (0-based).</param>
    /// <exception cref="NoNegativesException">The gap leaves no negatives.</exception>
    public void BeginEpoch(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "Epochs count from 0.");
        double gap = Options.Curriculum is null ? Options.NegativeGap : Math.Max(Options.Curriculum.GapAt(epoch), Options.NegativeGap);
        if (gap != _index.Gap) _index.SetGap(gap);
    }

    /// <summary>Sets the negative gap directly (O(N)).</summary>
    /// <param name="gap">The gap.</param>
    /// <exception cref="NoNegativesException">The gap leaves no negatives.</exception>
    public void SetNegativeGap(double gap) => _index.SetGap(gap);

    /// <summary>Fills <paramref name="destination"/>: the first round(B · <see cref="InterPatientPairOptions.PositiveFraction"/>)
    /// pairs are positive, the rest negative. Allocates nothing.</summary>
    /// <param name="destination">The pair buffer.</param>
    /// <param name="rng">The generator.</param>
    public void SampleBatch(Span<ScanPair> destination, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        int positives = (int)Math.Round(destination.Length * Options.PositiveFraction, MidpointRounding.AwayFromZero);
        _index.FillPairs(destination, positives, rng);
    }
}
