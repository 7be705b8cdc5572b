using Learner.Data;
using Learner.Nn;

namespace Learner.Sampling;

/// <summary>A pair of scans from two different patients. Indices refer to <see cref="LongitudinalDataset.Scans"/>.</summary>
/// <param name="First">The anchor scan.</param>
/// <param name="Second">The partner scan (always of another patient).</param>
/// <param name="IsPositive">True for a positive (similar health) pair, false for a negative (different health) pair.</param>
/// <param name="ScoreGap">|score(First) − score(Second)|, for objectives that weight pairs by their health difference.</param>
public readonly record struct ScanPair(int First, int Second, bool IsPositive, float ScoreGap);

/// <summary>An anchor, a positive and a negative scan, each of a different patient than the anchor.</summary>
/// <param name="Anchor">The anchor scan.</param>
/// <param name="Positive">A scan with similar health (same coarse label, or score within the positive threshold).</param>
/// <param name="Negative">A scan whose score differs from the anchor's by at least the current gap.</param>
/// <param name="PositiveGap">|score(Anchor) − score(Positive)|.</param>
/// <param name="NegativeGap">|score(Anchor) − score(Negative)|.</param>
public readonly record struct ScanTriplet(int Anchor, int Positive, int Negative, float PositiveGap, float NegativeGap);

/// <summary>Two scans of one patient at consecutive visits, with the change between them.</summary>
/// <param name="Before">The earlier scan.</param>
/// <param name="After">The later scan.</param>
/// <param name="Change">Improved, stable or worsened, from the score change, the thresholds and the score direction.</param>
/// <param name="HealthChange">The signed health change (positive = healthier) in the thresholds' units.</param>
public readonly record struct ConsecutivePair(int Before, int After, ChangeLabel Change, float HealthChange);

/// <summary>A sampler that fills a caller-provided buffer with items. Implementations are deterministic for a given
/// generator state and allocate nothing per batch once built.</summary>
/// <typeparam name="T">The item type.</typeparam>
public interface IScanSampler<T> where T : struct
{
    /// <summary>Fills <paramref name="destination"/> with a batch.</summary>
    /// <param name="destination">The buffer; its length is the batch size.</param>
    /// <param name="rng">The generator every random choice draws from.</param>
    void SampleBatch(Span<T> destination, Rng rng);
}

/// <summary>Samples pairs of scans (the inter-patient pair sampler is the method's).</summary>
public interface IPairSampler : IScanSampler<ScanPair> { }

/// <summary>Samples (anchor, positive, negative) triplets.</summary>
public interface ITripletSampler : IScanSampler<ScanTriplet> { }

/// <summary>Samples batches of scan indices (for objectives that form pairs inside a batch).</summary>
public interface IBatchSampler : IScanSampler<int>
{
    /// <summary>The natural batch size of this sampler.</summary>
    int BatchSize { get; }
}

/// <summary>A sampler whose difficulty follows the epoch (a coarse-to-fine curriculum).</summary>
public interface ICurriculumSampler
{
    /// <summary>The score gap currently required of negatives.</summary>
    double NegativeGap { get; }

    /// <summary>Moves the curriculum to <paramref name="epoch"/> (0-based); the gap becomes the schedule's value.</summary>
    /// <param name="epoch">The epoch.</param>
    void BeginEpoch(int epoch);
}

/// <summary>Base class of sampling errors.</summary>
public class SamplingException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public SamplingException(string message) : base(message) { }
}

/// <summary>A negative-gap threshold leaves no negative pair: no two scans of different patients are that far apart.</summary>
public sealed class NoNegativesException : SamplingException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="gap">The gap required of negatives.</param>
    /// <param name="minScore">The smallest score.</param>
    /// <param name="maxScore">The largest score.</param>
    public NoNegativesException(double gap, double minScore, double maxScore)
        : base(FormattableString.Invariant($"Negative gap {gap:G6} leaves no negative pairs: health scores range over [{minScore:G6}, {maxScore:G6}] (span {maxScore - minScore:G6}), and no two scans of different patients differ by {gap:G6} or more. Lower the gap (or the curriculum's start gap)."))
    {
        Gap = gap;
        MinScore = minScore;
        MaxScore = maxScore;
    }

    /// <summary>The gap required of negatives.</summary>
    public double Gap { get; }

    /// <summary>The smallest score.</summary>
    public double MinScore { get; }

    /// <summary>The largest score.</summary>
    public double MaxScore { get; }
}

/// <summary>The positive rule leaves no positive pair (no two patients share a coarse label, or no two scans of different
/// patients are within the positive threshold).</summary>
public sealed class NoPositivesException : SamplingException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message, naming the rule and threshold.</param>
    public NoPositivesException(string message) : base(message) { }
}

/// <summary>A patient appears in two parts of a split.</summary>
public sealed class PatientLeakageException : SamplingException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="patientId">The patient.</param>
    /// <param name="firstPart">One part holding the patient.</param>
    /// <param name="secondPart">Another part holding the patient.</param>
    public PatientLeakageException(string patientId, string firstPart, string secondPart)
        : base($"Patient '{patientId}' appears in both '{firstPart}' and '{secondPart}'; evaluation must split by patient.")
    {
        PatientId = patientId;
        FirstPart = firstPart;
        SecondPart = secondPart;
    }

    /// <summary>The patient.</summary>
    public string PatientId { get; }

    /// <summary>One part holding the patient.</summary>
    public string FirstPart { get; }

    /// <summary>Another part holding the patient.</summary>
    public string SecondPart { get; }
}
