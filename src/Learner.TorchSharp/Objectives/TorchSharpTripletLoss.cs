using Learner.Objectives;
using Learner.Objectives.Kernels;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>Triplet margin loss (<see cref="TripletLoss"/>) on a libtorch device, with the triplets mined on the device:
/// batch-all (hinge: a sort and running sums per anchor; soft-plus: B×B×B in anchor chunks), batch-hard (first index on ties, as the managed miner), semi-hard (nearest
/// negative farther than the positive, else the farthest negative; a sort and a binary search per anchor), or the
/// sampler's triplets; hinge or soft-plus penalty.</summary>
public sealed class TorchSharpTripletLoss : TorchSharpObjective<TripletOptions>
{
    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <param name="distance">A device distance replacing the options' <c>Distance</c> (e.g. your own
    /// <see cref="TorchSharpDistance"/>), or null.</param>
    /// <param name="reducer">A reducer over the triplet terms replacing the options' <c>Reduction</c>, or null. As for the
    /// managed <see cref="TripletLoss"/>: any reducer with <see cref="TripletSelection.BatchHard"/> and
    /// <see cref="TripletSelection.Provided"/>, a <see cref="CountReducer"/> with batch-all and semi-hard.</param>
    /// <exception cref="ArgumentException">A reducer that is not a count reducer with a batch-all or semi-hard selection, or a
    /// reducer passed while the options' <c>Reduction</c> names another, non-default reduction.</exception>
    public TorchSharpTripletLoss(TripletOptions? options = null, Device? device = null, TorchSharpDistance? distance = null, ReducerBase? reducer = null)
        : base("triplet", options, device)
    {
        Distance = distance ?? TorchSharpDistance.Create(Options.Distance);
        Reducer = ReducerBase.Resolve(reducer, Options.Reduction, "TripletOptions.Reduction");
        if (!Reducer.CountsOnly && Options.Selection is TripletSelection.BatchAll or TripletSelection.SemiHard)
            throw new ArgumentException($"Triplet loss: reducer {Reducer.GetType().Name} weighs each term, but the {Options.Selection} selection "
                + "is reduced from running sums on the device; use a CountReducer, or Selection = BatchHard or Provided.", nameof(reducer));
    }

    /// <summary>The distance the pairs are measured with.</summary>
    public TorchSharpDistance Distance { get; }

    /// <summary>The reducer over the triplet terms (the options' reduction unless one was passed).</summary>
    public ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => Options.Selection == TripletSelection.Provided ? BatchFields.Triplets : BatchFields.Labels;

    /// <inheritdoc />
    protected override TTensor LossCore(TTensor z, TTensor? second, in EmbeddingBatch meta, IReadOnlyList<TTensor> parameters, out int active)
    {
        int n = meta.Count;
        float margin = Options.Margin;
        var penalty = Options.Penalty;
        TTensor terms;                 // the triplet terms (provided, batch-hard: one per triplet or anchor) or their sum
        TTensor? selected = null;
        long count;
        if (Options.Selection == TripletSelection.Provided)
        {
            var triplets = BatchContract.ProvidedTriplets(meta.Triplets, n);
            var a = new long[triplets.Length];
            var p = new long[triplets.Length];
            var q = new long[triplets.Length];
            for (int t = 0; t < triplets.Length; t++) (a[t], p[t], q[t]) = (triplets[t].Anchor, triplets[t].Positive, triplets[t].Negative);
            long[] shape = { triplets.Length };
            var ai = tensor(a, shape).to(Device);
            var l = DeviceOps.Penalty((Distance.Pairs(z, ai, tensor(p, shape).to(Device))
                - Distance.Pairs(z, ai, tensor(q, shape).to(Device))).Plus(margin), penalty);
            count = triplets.Length;
            active = DeviceOps.ActiveCount(l, null);
            terms = l;
        }
        else
        {
            var labels = BatchContract.Labels(meta, "Triplet loss");
            // Positives (g − 1) and negatives (n − g) per anchor, counted on the host.
            var groups = DeviceOps.GroupSizes(labels);
            var lab = UploadIndex(labels);
            var same = lab.unsqueeze(1).eq(lab.unsqueeze(0));
            var eye = DeviceEye(n);
            var positiveMask = same.logical_and(eye.logical_not());
            var negativeMask = same.logical_not();
            var dist = Distance.Matrix(z);
            switch (Options.Selection)
            {
                case TripletSelection.BatchHard:
                {
                    var valid = new bool[n];
                    count = 0;
                    for (int i = 0; i < n; i++) { int g = groups[i]; valid[i] = g > 1 && g < n; if (valid[i]) count++; }
                    TTensor hardPositive, hardNegative;
                    using (no_grad())
                    {
                        var ranked = dist.detach();
                        hardPositive = ranked.masked_fill(positiveMask.logical_not(), DeviceScalars.NegativeInfinity).argmax(1, true);
                        hardNegative = ranked.masked_fill(negativeMask.logical_not(), DeviceScalars.PositiveInfinity).argmin(1, true);
                    }
                    var validMask = tensor(valid, new long[] { n }).to(Device);
                    var l = DeviceOps.Penalty((dist.gather(1, hardPositive) - dist.gather(1, hardNegative)).squeeze(1).Plus(margin), penalty)
                        * validMask.to_type(ScalarType.Float32);
                    active = DeviceOps.ActiveCount(l, validMask);
                    (terms, selected) = (l, validMask);
                    break;
                }
                case TripletSelection.BatchAll when penalty == TripletPenalty.Hinge:
                {
                    // Σ_q max(0, d_ap + m − d_aq) over the negatives q = k·(d_ap + m) − (sum of the k nearest negatives'
                    // distances), k = #negatives nearer than d_ap + m: a sort, a running sum and a binary search per
                    // anchor, O(B² log B) instead of B×B×B (the managed miner's method).
                    count = 0;
                    foreach (long g in groups) count += (g - 1) * (n - g);
                    TTensor order, nearer, isNegative;
                    using (no_grad())
                    {
                        var ranked = dist.detach();
                        var (sortedNegatives, indices) = ranked.masked_fill(negativeMask.logical_not(), DeviceScalars.PositiveInfinity).sort(1);
                        order = indices;
                        isNegative = sortedNegatives.isfinite().to_type(ScalarType.Float32);
                        nearer = searchsorted(sortedNegatives, ranked.Plus(margin).contiguous());     // #negatives with d_aq < d_ap + m
                    }
                    var prefix = cat(new[] { zeros(n, 1, ScalarType.Float32, Device), (dist.gather(1, order) * isNegative).cumsum(1) }, 1);
                    var l = (nearer.to_type(ScalarType.Float32) * dist.Plus(margin) - prefix.gather(1, nearer)) * positiveMask.to_type(ScalarType.Float32);
                    using (var counted = (nearer * positiveMask.to_type(ScalarType.Int64)).sum()) active = checked((int)counted.item<long>());
                    terms = l.sum();
                    break;
                }
                case TripletSelection.BatchAll:
                {
                    count = 0;
                    foreach (long g in groups) count += (g - 1) * (n - g);
                    var parts = new List<TTensor>();
                    active = 0;
                    foreach (var (start, rows) in DeviceOps.Chunks(n, (long)n * n))
                    {
                        var d = dist.narrow(0, start, rows);
                        var v = (d.unsqueeze(2) - d.unsqueeze(1)).Plus(margin);                      // [a, p, q] = d_ap − d_aq + m
                        var valid = positiveMask.narrow(0, start, rows).unsqueeze(2)
                            .logical_and(negativeMask.narrow(0, start, rows).unsqueeze(1));
                        var l = DeviceOps.Penalty(v, penalty) * valid.to_type(ScalarType.Float32);
                        active += DeviceOps.ActiveCount(l, valid);
                        parts.Add(l.sum());
                    }
                    terms = parts.Count == 1 ? parts[0] : stack(parts).sum();
                    break;
                }
                default:
                {
                    count = 0;
                    var hasNegative = new bool[n];
                    var lastNegative = new long[n];
                    for (int i = 0; i < n; i++)
                    {
                        int g = groups[i];
                        hasNegative[i] = g < n;
                        lastNegative[i] = Math.Max(0, n - g - 1);
                        if (hasNegative[i]) count += g - 1;
                    }
                    TTensor pick;
                    using (no_grad())
                    {
                        // Per anchor, its negatives' distances ascending (others +∞ at the end); for each positive p, the
                        // first negative farther than d(a,p), else the farthest negative — the managed semi-hard rule.
                        var ranked = dist.detach();
                        var (negativeDistances, negativeIndices) = ranked.masked_fill(negativeMask.logical_not(), DeviceScalars.PositiveInfinity).sort(1);
                        var atMost = searchsorted(negativeDistances, ranked.contiguous(), right: true);   // #negatives ≤ d(a,p)
                        var position = atMost.minimum(tensor(lastNegative, new long[] { n }).to(Device).unsqueeze(1));
                        pick = negativeIndices.gather(1, position);
                    }
                    var valid = positiveMask.logical_and(tensor(hasNegative, new long[] { n }).to(Device).unsqueeze(1));
                    var l = DeviceOps.Penalty((dist - dist.gather(1, pick)).Plus(margin), penalty) * valid.to_type(ScalarType.Float32);
                    active = DeviceOps.ActiveCount(l, valid);
                    terms = l.sum();
                    break;
                }
            }
        }
        ReportMining(new MiningStatistics { Triplets = count });
        return DeviceReduction.Triplets(Reducer, terms, selected, count, active);
    }

    private TTensor DeviceEye(int n) => eye(n, n, ScalarType.Bool, Device);
}
