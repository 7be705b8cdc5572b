using Learner.Data;
using Learner.Nn;
using Learner.Objectives;
using Learner.Sampling;

namespace Learner.Training;

/// <summary>
/// Batches of (anchor, positive, negative) triplets from an <see cref="ITripletSampler"/> (normally
/// <see cref="InterPatientTripletSampler"/>): the batch is the T anchors, then the T positives, then the T negatives
/// (3T rows, a scan drawn twice appearing twice), and triplet t is rows (t, T + t, 2T + t). A curriculum sampler's gap
/// follows the epochs.
/// </summary>
public sealed class TripletBatchSource : IPretrainingBatchSource
{
    private readonly Func<LongitudinalDataset, ITripletSampler> _factory;
    private readonly ScanTriplet[] _buffer;

    /// <summary>Triplets from an <see cref="InterPatientTripletSampler"/> with random selection.</summary>
    /// <param name="dataset">The training scans (finite scores; coarse labels for the label rule).</param>
    /// <param name="options">The pair rules and curriculum (<see cref="InterPatientPairOptions.PositiveFraction"/> is ignored).</param>
    /// <param name="tripletsPerStep">Triplets per step (≥ 1).</param>
    /// <exception cref="MissingScoreException">A scan has no finite score.</exception>
    /// <exception cref="SamplingException">No scan has both a positive and a negative partner.</exception>
    public TripletBatchSource(LongitudinalDataset dataset, InterPatientPairOptions options, int tripletsPerStep)
        : this(dataset, Factory(options), tripletsPerStep)
    {
    }

    /// <summary>Triplets from a sampler that <paramref name="samplerFactory"/> builds (once for the training set and
    /// once for the validation set, through <see cref="ForDataset"/>).</summary>
    /// <param name="dataset">The training scans.</param>
    /// <param name="samplerFactory">Creates a triplet sampler over a dataset.</param>
    /// <param name="tripletsPerStep">Triplets per step (≥ 1).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tripletsPerStep"/> is below 1.</exception>
    /// <exception cref="ArgumentException">The factory returned null.</exception>
    public TripletBatchSource(LongitudinalDataset dataset, Func<LongitudinalDataset, ITripletSampler> samplerFactory, int tripletsPerStep)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(samplerFactory);
        if (tripletsPerStep < 1) throw new ArgumentOutOfRangeException(nameof(tripletsPerStep), tripletsPerStep, "tripletsPerBatch must be ≥ 1.");
        Sampler = samplerFactory(dataset) ?? throw new ArgumentException("The triplet sampler factory returned null.", nameof(samplerFactory));
        _factory = samplerFactory;
        TripletsPerStep = tripletsPerStep;
        _buffer = new ScanTriplet[tripletsPerStep];
    }

    /// <summary>The triplet sampler.</summary>
    public ITripletSampler Sampler { get; }

    /// <summary>Triplets per step.</summary>
    public int TripletsPerStep { get; }

    /// <inheritdoc />
    public int MaxScans => 3 * TripletsPerStep;

    /// <inheritdoc />
    public int MaxPairs => 0;

    /// <inheritdoc />
    public int MaxTriplets => TripletsPerStep;

    /// <inheritdoc />
    public void BeginEpoch(int epoch) => (Sampler as ICurriculumSampler)?.BeginEpoch(epoch);

    /// <inheritdoc />
    public BatchDraw Draw(Span<int> scans, Span<IndexPair> pairs, Span<IndexTriplet> triplets, Rng rng)
    {
        int count = TripletsPerStep;
        Sampler.SampleBatch(_buffer, rng);
        for (int t = 0; t < count; t++)
        {
            scans[t] = _buffer[t].Anchor;
            scans[count + t] = _buffer[t].Positive;
            scans[2 * count + t] = _buffer[t].Negative;
            triplets[t] = new IndexTriplet(t, count + t, 2 * count + t);
        }
        return new BatchDraw(3 * count, 0, count);
    }

    /// <inheritdoc />
    public IPretrainingBatchSource ForDataset(LongitudinalDataset dataset) => new TripletBatchSource(dataset, _factory, TripletsPerStep);

    private static Func<LongitudinalDataset, ITripletSampler> Factory(InterPatientPairOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return d => new InterPatientTripletSampler(d, options);
    }
}
