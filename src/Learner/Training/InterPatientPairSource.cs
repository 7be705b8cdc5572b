using Learner.Data;
using Learner.Nn;
using Learner.Objectives;
using Learner.Sampling;

namespace Learner.Training;

/// <summary>
/// LEARNER's batches: <see cref="PairsPerStep"/> pairs of scans of different patients from an <see cref="IPairSampler"/>
/// (normally <see cref="InterPatientPairSampler"/>), their scans de-duplicated by a <see cref="BatchIndexer"/> into a
/// compact batch (each distinct scan loaded and embedded once), the pairs handed to the objective as
/// <see cref="EmbeddingBatch.Pairs"/> with the sampler's positive flag and score gap. A curriculum sampler's gap follows
/// the epochs (<see cref="BeginEpoch"/>).
/// </summary>
/// <remarks>The number of scans of a step varies (at most 2 × <see cref="PairsPerStep"/>, and at most the dataset's scan
/// count). Drawing allocates nothing.</remarks>
/// <example>
/// <code>
/// var source = new InterPatientPairSource(train, new InterPatientPairOptions
/// {
///     NegativeGap = 0.25 * sd, Curriculum = CurriculumSchedule.Linear(1.0 * sd, 0.25 * sd, epochs),
/// }, pairsPerStep: 32);
/// var pretrainer = new Pretrainer(encoder, train, source, new WeightedContrastiveLoss(), options);
/// </code>
/// </example>
public sealed class InterPatientPairSource : IPretrainingBatchSource
{
    private readonly Func<LongitudinalDataset, IPairSampler> _factory;
    private readonly ScanPair[] _pairs;
    private readonly BatchIndexer _indexer;

    /// <summary>Pairs from an <see cref="InterPatientPairSampler"/> with <paramref name="options"/>.</summary>
    /// <param name="dataset">The training scans (finite scores; coarse labels for the label rule).</param>
    /// <param name="options">The pair rules and curriculum.</param>
    /// <param name="pairsPerStep">Pairs per step (≥ 1).</param>
    /// <exception cref="MissingScoreException">A scan has no finite score.</exception>
    /// <exception cref="MissingLabelException">A scan has no coarse label under the label rule.</exception>
    /// <exception cref="SamplingException">The rules leave no negatives or no positives.</exception>
    public InterPatientPairSource(LongitudinalDataset dataset, InterPatientPairOptions options, int pairsPerStep)
        : this(dataset, Factory(options), pairsPerStep)
    {
    }

    /// <summary>Pairs from a sampler that <paramref name="samplerFactory"/> builds (once for the training set and once
    /// for the validation set, through <see cref="ForDataset"/>).</summary>
    /// <param name="dataset">The training scans.</param>
    /// <param name="samplerFactory">Creates a pair sampler over a dataset.</param>
    /// <param name="pairsPerStep">Pairs per step (≥ 1).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pairsPerStep"/> is below 1.</exception>
    /// <exception cref="ArgumentException">The factory returned null, or the dataset has no scans.</exception>
    public InterPatientPairSource(LongitudinalDataset dataset, Func<LongitudinalDataset, IPairSampler> samplerFactory, int pairsPerStep)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(samplerFactory);
        if (pairsPerStep < 1) throw new ArgumentOutOfRangeException(nameof(pairsPerStep), pairsPerStep, "pairsPerStep must be ≥ 1.");
        if (dataset.ScanCount == 0) throw new ArgumentException("The dataset has no scans.", nameof(dataset));
        Sampler = samplerFactory(dataset) ?? throw new ArgumentException("The pair sampler factory returned null.", nameof(samplerFactory));
        _factory = samplerFactory;
        Dataset = dataset;
        PairsPerStep = pairsPerStep;
        _pairs = new ScanPair[pairsPerStep];
        _indexer = new BatchIndexer(dataset.ScanCount);
    }

    /// <summary>The dataset sampled.</summary>
    public LongitudinalDataset Dataset { get; }

    /// <summary>The pair sampler.</summary>
    public IPairSampler Sampler { get; }

    /// <summary>Pairs per step.</summary>
    public int PairsPerStep { get; }

    /// <summary>The gap currently required of negatives when the sampler has a curriculum, else NaN.</summary>
    public double NegativeGap => Sampler is ICurriculumSampler c ? c.NegativeGap : double.NaN;

    /// <inheritdoc />
    public int MaxScans => (int)Math.Min(2L * PairsPerStep, Dataset.ScanCount);

    /// <inheritdoc />
    public int MaxPairs => PairsPerStep;

    /// <inheritdoc />
    public int MaxTriplets => 0;

    /// <inheritdoc />
    /// <exception cref="NoNegativesException">The epoch's gap leaves no negatives.</exception>
    public void BeginEpoch(int epoch) => (Sampler as ICurriculumSampler)?.BeginEpoch(epoch);

    /// <inheritdoc />
    public BatchDraw Draw(Span<int> scans, Span<IndexPair> pairs, Span<IndexTriplet> triplets, Rng rng)
    {
        Sampler.SampleBatch(_pairs, rng);
        int n = _indexer.Index(_pairs, scans, pairs);
        return new BatchDraw(n, PairsPerStep, 0);
    }

    /// <inheritdoc />
    public IPretrainingBatchSource ForDataset(LongitudinalDataset dataset) => new InterPatientPairSource(dataset, _factory, PairsPerStep);

    private static Func<LongitudinalDataset, IPairSampler> Factory(InterPatientPairOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return d => new InterPatientPairSampler(d, options);
    }
}
