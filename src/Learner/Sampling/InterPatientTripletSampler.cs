using System.Numerics.Tensors;
using Learner.Data;
using Learner.Nn;
using Tensor = Learner.Nn.Tensor;

namespace Learner.Sampling;

/// <summary>How a triplet sampler chooses among candidate positives and negatives.</summary>
public enum TripletSelection
{
    /// <summary>Uniformly random positive and negative (no embeddings needed).</summary>
    Random,

    /// <summary>A random positive and, among the candidate negatives farther from the anchor than the positive, the
    /// closest one (FaceNet's semi-hard negative); when none is farther, the farthest candidate.</summary>
    SemiHard,

    /// <summary>The farthest candidate positive and the closest candidate negative.</summary>
    Hard,
}

/// <summary>
/// Samples (anchor, positive, negative) triplets under the inter-patient rules of <see cref="InterPatientPairSampler"/>:
/// positive and negative are each of a different patient than the anchor; the negative's score differs from the anchor's
/// by at least the current (curriculum) gap. With <see cref="TripletSelection.SemiHard"/> or <see cref="TripletSelection.Hard"/>,
/// <see cref="CandidateCount"/> valid candidates of each kind are drawn and chosen among by Euclidean distance in the
/// current embeddings (one row per scan of the dataset, set with <see cref="SetEmbeddings(ReadOnlySpan{float}, int)"/>).
/// </summary>
/// <remarks><see cref="SampleBatch"/> allocates nothing; <see cref="SetEmbeddings(ReadOnlySpan{float}, int)"/> copies into a
/// buffer allocated once per shape.</remarks>
/// <remarks>Not thread-safe: <see cref="BeginEpoch"/> and <c>SetEmbeddings</c> rewrite state that <see cref="SampleBatch"/> reads; use one sampler per thread, or call all three from one thread.</remarks>
public sealed class InterPatientTripletSampler : ITripletSampler, ICurriculumSampler
{
    private readonly PairIndex _index;
    private readonly int[] _anchors;
    private int _anchorCount;
    private float[] _embeddings = Array.Empty<float>();
    private int _dim;

    /// <summary>Builds the sampler.</summary>
    /// <param name="dataset">The dataset (finite scores; coarse labels for the label rule).</param>
    /// <param name="options">The pair rules (<see cref="InterPatientPairOptions.PositiveFraction"/> is ignored).</param>
    /// <param name="selection">How to choose among candidates.</param>
    /// <param name="candidateCount">Candidates of each kind per triplet for semi-hard and hard selection (≥ 1).</param>
    /// <exception cref="NoNegativesException">The gap leaves no negatives.</exception>
    /// <exception cref="NoPositivesException">No scan has both a positive and a negative partner.</exception>
    public InterPatientTripletSampler(LongitudinalDataset dataset, InterPatientPairOptions options, TripletSelection selection = TripletSelection.Random, int candidateCount = 8)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (!Enum.IsDefined(selection)) throw new ArgumentOutOfRangeException(nameof(selection), selection, "Unknown selection.");
        if (candidateCount < 1) throw new ArgumentOutOfRangeException(nameof(candidateCount), candidateCount, "At least one candidate is needed.");
        Options = options;
        Selection = selection;
        CandidateCount = candidateCount;
        Dataset = dataset;
        _index = new PairIndex(dataset, options.PositiveRule, options.PositiveThreshold, "triplet sampling");
        _anchors = new int[_index.Count];
        BeginEpoch(0);
    }

    /// <summary>The dataset sampled.</summary>
    public LongitudinalDataset Dataset { get; }

    /// <summary>The pair rules.</summary>
    public InterPatientPairOptions Options { get; }

    /// <summary>How candidates are chosen.</summary>
    public TripletSelection Selection { get; }

    /// <summary>Candidates of each kind per triplet (semi-hard and hard selection).</summary>
    public int CandidateCount { get; }

    /// <inheritdoc />
    public double NegativeGap => _index.Gap;

    /// <summary>Number of scans that can anchor a triplet at the current gap.</summary>
    public int AnchorCount => _anchorCount;

    /// <inheritdoc />
    public void BeginEpoch(int epoch)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "Epochs count from 0.");
        double gap = Options.Curriculum is null ? Options.NegativeGap : Math.Max(Options.Curriculum.GapAt(epoch), Options.NegativeGap);
        if (gap != _index.Gap) SetNegativeGap(gap);
    }

    /// <summary>Sets the negative gap directly (O(N)).</summary>
    /// <param name="gap">The gap.</param>
    public void SetNegativeGap(double gap)
    {
        _index.SetGap(gap);
        int c = 0;
        for (int k = 0; k < _index.Count; k++)
            if (_index.HasPositive(k) && _index.HasNegative(k)) _anchors[c++] = k;
        if (c == 0)
            throw new NoPositivesException(FormattableString.Invariant($"No scan has both a positive partner ({Options.PositiveRule}) and a negative partner at gap {gap} among other patients."));
        _anchorCount = c;
    }

    /// <summary>Sets the current embeddings: row i is scan i of <see cref="Dataset"/> (N × <paramref name="dimension"/>, row-major).</summary>
    /// <param name="embeddings">The embeddings.</param>
    /// <param name="dimension">The embedding dimension.</param>
    /// <exception cref="ShapeMismatchException">The length is not N × dimension.</exception>
    public void SetEmbeddings(ReadOnlySpan<float> embeddings, int dimension)
    {
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "The embedding dimension must be positive.");
        long need = (long)_index.Count * dimension;
        if (embeddings.Length != need)
            throw new ShapeMismatchException($"Embeddings of length {embeddings.Length} do not match {_index.Count} scans × {dimension} dimensions.");
        if (_embeddings.Length != need) _embeddings = new float[need];
        embeddings.CopyTo(_embeddings);
        _dim = dimension;
    }

    /// <summary>Sets the current embeddings from a tensor of shape (N, D).</summary>
    /// <param name="embeddings">The embeddings, one row per scan of <see cref="Dataset"/>.</param>
    public void SetEmbeddings(Tensor embeddings)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        if (embeddings.Rank != 2 || embeddings.Dim(0) != _index.Count)
            throw new ShapeMismatchException($"Embeddings of shape [{string.Join(", ", embeddings.ShapeArray)}] do not match ({_index.Count}, D).");
        SetEmbeddings(embeddings.Data, embeddings.Dim(1));
    }

    private float Distance(int scanA, int scanB) =>
        TensorPrimitives.Distance(_embeddings.AsSpan(scanA * _dim, _dim), _embeddings.AsSpan(scanB * _dim, _dim));

    /// <summary>Fills <paramref name="destination"/> with triplets. Allocates nothing.</summary>
    /// <param name="destination">The buffer.</param>
    /// <param name="rng">The generator.</param>
    /// <exception cref="InvalidOperationException">Semi-hard or hard selection before any embeddings were set.</exception>
    public void SampleBatch(Span<ScanTriplet> destination, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (Selection != TripletSelection.Random && _dim == 0)
            throw new InvalidOperationException($"{Selection} triplet selection needs embeddings: call SetEmbeddings first.");
        var e = _index.Entries;
        for (int i = 0; i < destination.Length; i++)
        {
            int a = _anchors[rng.NextInt(_anchorCount)];
            int p = _index.PositivePartner(a, rng);
            int n = _index.NegativePartner(a, rng);
            if (Selection != TripletSelection.Random)
            {
                int sa = e[a].Scan;
                float dp = Distance(sa, e[p].Scan);
                if (Selection == TripletSelection.Hard)
                {
                    for (int c = 1; c < CandidateCount; c++)
                    {
                        int q = _index.PositivePartner(a, rng);
                        float d = Distance(sa, e[q].Scan);
                        if (d > dp) { dp = d; p = q; }
                    }
                    float dn = Distance(sa, e[n].Scan);
                    for (int c = 1; c < CandidateCount; c++)
                    {
                        int q = _index.NegativePartner(a, rng);
                        float d = Distance(sa, e[q].Scan);
                        if (d < dn) { dn = d; n = q; }
                    }
                }
                else
                {
                    int best = -1, farthest = n;
                    float bestD = float.PositiveInfinity, farD = Distance(sa, e[n].Scan);
                    if (farD > dp) { best = n; bestD = farD; }
                    for (int c = 1; c < CandidateCount; c++)
                    {
                        int q = _index.NegativePartner(a, rng);
                        float d = Distance(sa, e[q].Scan);
                        if (d > dp && d < bestD) { bestD = d; best = q; }
                        if (d > farD) { farD = d; farthest = q; }
                    }
                    n = best >= 0 ? best : farthest;
                }
            }
            destination[i] = new ScanTriplet(e[a].Scan, e[p].Scan, e[n].Scan,
                (float)Math.Abs(e[a].Score - e[p].Score), (float)Math.Abs(e[a].Score - e[n].Score));
        }
    }
}
