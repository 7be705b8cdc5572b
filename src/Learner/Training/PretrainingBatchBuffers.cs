using Learner.Data;
using Learner.Nn;
using Learner.Objectives;

namespace Learner.Training;

/// <summary>
/// The buffers of one step, sized once to a batch source's maxima: scan indices, embeddings and their gradient (one or
/// two views, view-major), per-row scores, patient ids and labels, sampler pairs and triplets, and the metadata the
/// objective reads. A step fills the first B rows (B varies from step to step for sources that de-duplicate scans);
/// nothing is allocated per step.
/// </summary>
internal sealed class PretrainingBatchBuffers
{
    private readonly int _views;
    private readonly int _dimension;
    private readonly BatchFields _reads;
    private readonly float[] _scores;
    private readonly int[] _patients;
    private readonly int[] _labels;
    private readonly BatchMetadata _metadata = new();

    public PretrainingBatchBuffers(IPretrainingBatchSource source, int dimension, bool twoViews, BatchFields reads)
        : this(source.GetType().Name, source.MaxScans, source.MaxPairs, source.MaxTriplets, dimension, twoViews, reads)
    {
    }

    public PretrainingBatchBuffers(string sourceName, int maxScans, int maxPairs, int maxTriplets, int dimension, bool twoViews, BatchFields reads)
    {
        if (maxScans < 1) throw new ArgumentOutOfRangeException(nameof(maxScans), maxScans, $"The batch source {sourceName} allows {maxScans} scans per step; it must allow at least 1.");
        if (maxPairs < 0) throw new ArgumentOutOfRangeException(nameof(maxPairs), maxPairs, $"The batch source {sourceName} allows {maxPairs} pairs per step.");
        if (maxTriplets < 0) throw new ArgumentOutOfRangeException(nameof(maxTriplets), maxTriplets, $"The batch source {sourceName} allows {maxTriplets} triplets per step.");
        _views = twoViews ? 2 : 1;
        _dimension = dimension;
        _reads = reads;
        SourceName = sourceName;
        Scans = new int[maxScans];
        Embeddings = new float[_views * maxScans * dimension];
        Gradient = new float[_views * maxScans * dimension];
        _scores = new float[maxScans];
        _patients = new int[maxScans];
        _labels = new int[maxScans];
        Pairs = new IndexPair[maxPairs];
        Triplets = new IndexTriplet[maxTriplets];
    }

    /// <summary>The source's type name, for messages.</summary>
    public string SourceName { get; }

    public int[] Scans { get; }

    public IndexPair[] Pairs { get; }

    public IndexTriplet[] Triplets { get; }

    public float[] Embeddings { get; }

    public float[] Gradient { get; }

    /// <summary>B, the scans of the current step.</summary>
    public int Count { get; private set; }

    /// <summary>The current step's embeddings and, for two views, the second view after them: 2 × B × D values.</summary>
    public Span<float> AllEmbeddings => Embeddings.AsSpan(0, _views * Count * _dimension);

    /// <summary>The gradient of <see cref="AllEmbeddings"/>.</summary>
    public Span<float> AllGradients => Gradient.AsSpan(0, _views * Count * _dimension);

    public Span<float> FirstGradient => Gradient.AsSpan(0, Count * _dimension);

    public Span<float> SecondGradient => _views == 2 ? Gradient.AsSpan(Count * _dimension, Count * _dimension) : default;

    /// <summary>Draws a step from the source into the buffers and fills the metadata.</summary>
    public void Draw(IPretrainingBatchSource source, LongitudinalDataset dataset, Rng rng) => Accept(dataset, source.Draw(Scans, Pairs, Triplets, rng));

    /// <summary>Copies a stored step (a fixed validation batch) into the buffers and fills the metadata.</summary>
    public void Set(LongitudinalDataset dataset, ReadOnlySpan<int> scans, ReadOnlySpan<IndexPair> pairs, ReadOnlySpan<IndexTriplet> triplets)
    {
        scans.CopyTo(Scans);
        pairs.CopyTo(Pairs);
        triplets.CopyTo(Triplets);
        Accept(dataset, new BatchDraw(scans.Length, pairs.Length, triplets.Length));
    }

    /// <summary>Copies a step drawn elsewhere (the <see cref="BatchPrefetcher"/>'s slot, arrays of the source's maxima) into
    /// the buffers and fills the metadata; a draw outside the maxima is refused by name before anything is copied.</summary>
    public void Set(LongitudinalDataset dataset, BatchDraw draw, int[] scans, IndexPair[] pairs, IndexTriplet[] triplets)
    {
        CheckCounts(draw);
        scans.AsSpan(0, draw.Scans).CopyTo(Scans);
        pairs.AsSpan(0, draw.Pairs).CopyTo(Pairs);
        triplets.AsSpan(0, draw.Triplets).CopyTo(Triplets);
        Accept(dataset, draw);
    }

    private void CheckCounts(BatchDraw draw)
    {
        string name = SourceName;
        if (draw.Scans < 1 || draw.Scans > Scans.Length)
            throw new InvalidOperationException($"The batch source {name} drew {draw.Scans} scans; it must draw between 1 and its MaxScans = {Scans.Length}.");
        if (draw.Pairs < 0 || draw.Pairs > Pairs.Length)
            throw new InvalidOperationException($"The batch source {name} drew {draw.Pairs} pairs; it must draw between 0 and its MaxPairs = {Pairs.Length}.");
        if (draw.Triplets < 0 || draw.Triplets > Triplets.Length)
            throw new InvalidOperationException($"The batch source {name} drew {draw.Triplets} triplets; it must draw between 0 and its MaxTriplets = {Triplets.Length}.");
    }

    private void Accept(LongitudinalDataset dataset, BatchDraw draw)
    {
        CheckCounts(draw);
        string name = SourceName;
        int n = draw.Scans;
        Count = n;
        bool allLabelled = true;
        for (int i = 0; i < n; i++)
        {
            int index = Scans[i];
            if ((uint)index >= (uint)dataset.ScanCount)
                throw new InvalidOperationException($"The batch source {name} drew scan index {index} at row {i}; the dataset has {dataset.ScanCount} scans.");
            var scan = dataset.Scans[index];
            _scores[i] = (float)(scan.Score ?? double.NaN);
            _patients[i] = scan.PatientIndex;
            _labels[i] = scan.CoarseLabel ?? -1;
            allLabelled &= scan.CoarseLabel is not null;
        }
        _metadata.Scores = _reads.HasFlag(BatchFields.Scores) ? _scores.AsMemory(0, n) : default;
        _metadata.PatientIds = _reads.HasFlag(BatchFields.PatientIds) ? _patients.AsMemory(0, n) : default;
        // Labels only when every scan has one: an objective that falls back to labels then refuses the batch by name.
        _metadata.Labels = _reads.HasFlag(BatchFields.Labels) && allLabelled ? _labels.AsMemory(0, n) : default;
        _metadata.Pairs = Pairs.AsMemory(0, draw.Pairs);
        _metadata.Triplets = Triplets.AsMemory(0, draw.Triplets);
    }

    /// <summary>The current step as the objective sees it.</summary>
    public EmbeddingBatch Batch()
    {
        int n = Count, d = _dimension;
        return _metadata.ToBatch(Embeddings.AsSpan(0, n * d), n, d, _views == 2 ? Embeddings.AsSpan(n * d, n * d) : default);
    }

    /// <summary>The batch tensor of the current step: the scans as stored, or (views × B) augmented copies, view-major.</summary>
    public Tensor LoadInput(LongitudinalDataset dataset, AugmentationOptions? augmentation, Rng rng)
    {
        var scans = Scans.AsSpan(0, Count);
        if (augmentation is null) return dataset.LoadBatch(scans);
        int[] batch = Scans;
        int count = Count;
        return dataset.LoadBatch(scans, _views, (x, copy) => Augment.ApplyToCopy(x, rng, copy, batch.AsSpan(0, count), dataset, augmentation));
    }
}
