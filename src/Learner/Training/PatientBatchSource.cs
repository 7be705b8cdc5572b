using Learner.Data;
using Learner.Nn;
using Learner.Objectives;
using Learner.Sampling;

namespace Learner.Training;

/// <summary>
/// Batches of scans from an <see cref="IBatchSampler"/> (P × K patient batches, label-balanced batches): no sampler pairs
/// or triplets, so pair objectives form every in-batch pair. The pretrainer's original batch source.
/// </summary>
/// <remarks>The validation batches of a run with this source are not drawn from the sampler: the validation set's
/// patients are put in a seeded order, their scans laid out consecutively and cut into batches of
/// <see cref="MaxScans"/> scans, so each holds several patients with several visits each, as P × K batches do.</remarks>
public sealed class PatientBatchSource : IPretrainingBatchSource
{
    private readonly Func<LongitudinalDataset, IBatchSampler>? _factory;

    /// <summary>Wraps a sampler.</summary>
    /// <param name="sampler">Draws the scan indices of each batch; a sampler that is an <see cref="ICurriculumSampler"/>
    /// follows the epochs.</param>
    /// <exception cref="ArgumentNullException"><paramref name="sampler"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The sampler's batch size is not positive.</exception>
    public PatientBatchSource(IBatchSampler sampler)
    {
        Sampler = sampler ?? throw new ArgumentNullException(nameof(sampler));
        if (sampler.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(sampler), sampler.BatchSize, $"The sampler {sampler.GetType().Name} has batch size {sampler.BatchSize}; it must be ≥ 1.");
    }

    /// <summary>Builds the sampler over <paramref name="dataset"/> with <paramref name="samplerFactory"/>, which
    /// <see cref="ForDataset"/> reuses.</summary>
    /// <param name="dataset">The training scans.</param>
    /// <param name="samplerFactory">Creates a batch sampler over a dataset.</param>
    /// <exception cref="ArgumentException">The factory returned null.</exception>
    public PatientBatchSource(LongitudinalDataset dataset, Func<LongitudinalDataset, IBatchSampler> samplerFactory)
        : this(Create(dataset, samplerFactory)) => _factory = samplerFactory;

    /// <summary>The sampler.</summary>
    public IBatchSampler Sampler { get; }

    /// <inheritdoc />
    public int MaxScans => Sampler.BatchSize;

    /// <inheritdoc />
    public int MaxPairs => 0;

    /// <inheritdoc />
    public int MaxTriplets => 0;

    /// <inheritdoc />
    public void BeginEpoch(int epoch) => (Sampler as ICurriculumSampler)?.BeginEpoch(epoch);

    /// <inheritdoc />
    public BatchDraw Draw(Span<int> scans, Span<IndexPair> pairs, Span<IndexTriplet> triplets, Rng rng)
    {
        int b = Sampler.BatchSize;
        Sampler.SampleBatch(scans[..b], rng);
        return new BatchDraw(b, 0, 0);
    }

    /// <summary>The same sampler over <paramref name="dataset"/>: from the factory when this source was built with one,
    /// else a <see cref="PatientBatchSampler"/> with the same P and K, or a <see cref="LabelBalancedBatchSampler"/> with
    /// the same batch size.</summary>
    /// <param name="dataset">The dataset.</param>
    /// <returns>The source.</returns>
    /// <exception cref="NotSupportedException">The sampler is of another type and no factory was given.</exception>
    public IPretrainingBatchSource ForDataset(LongitudinalDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (_factory is not null) return new PatientBatchSource(dataset, _factory);
        return Sampler switch
        {
            PatientBatchSampler pk => new PatientBatchSource(new PatientBatchSampler(dataset, pk.PatientsPerBatch, pk.ScansPerPatient)),
            LabelBalancedBatchSampler lb => new PatientBatchSource(new LabelBalancedBatchSampler(dataset, lb.BatchSize)),
            _ => throw new NotSupportedException($"Cannot rebuild a {Sampler.GetType().Name} over another dataset; create the PatientBatchSource with a sampler factory."),
        };
    }

    /// <summary>The fixed validation batches (see the remarks): <paramref name="count"/> batches of <see cref="MaxScans"/>.</summary>
    internal int[][] ValidationBatches(LongitudinalDataset set, int count, Rng rng)
    {
        int b = MaxScans;
        var order = new int[set.PatientCount];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        rng.Shuffle(order.AsSpan());
        var flat = order.SelectMany(p => Enumerable.Range(set.Patients[p].FirstScanIndex, set.Patients[p].ScanCount)).ToArray();
        var batches = new int[count][];
        for (int k = 0; k < count; k++)
        {
            batches[k] = new int[b];
            for (int i = 0; i < b; i++) batches[k][i] = flat[(k * b + i) % flat.Length];
        }
        return batches;
    }

    private static IBatchSampler Create(LongitudinalDataset dataset, Func<LongitudinalDataset, IBatchSampler> factory)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(factory);
        return factory(dataset) ?? throw new ArgumentException("The batch sampler factory returned null.", nameof(factory));
    }
}
