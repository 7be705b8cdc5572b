using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>Rank-N-Contrast (<see cref="RankNContrastLoss"/>) on a libtorch device in O(N² log N): for every anchor i
/// the candidates sorted by decreasing score gap, so that each log-sum-exp over S_ik = {j ≠ i : |y_i − y_j| ≥ |y_i − y_k|}
/// is a running log-cum-sum-exp read at the end of k's tie group (gaps compared in double precision, so ties are the
/// managed objective's ties).</summary>
public sealed class TorchSharpRankNContrastLoss : TorchSharpObjective<RankNContrastOptions>
{
    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <param name="reducer">A reducer over the per-anchor terms (the managed <see cref="RankNContrastLoss"/>'s, in the same order), or
    /// null for the mean. The mean and the sum stay one device expression; any other reducer costs one copy of the terms
    /// to the host and one of the weights back.</param>
    public TorchSharpRankNContrastLoss(RankNContrastOptions? options = null, Device? device = null, ReducerBase? reducer = null) : base("rnc", options, device)
        => Reducer = reducer ?? MeanReducer.Instance;

    /// <summary>The reducer over the per-anchor terms (the mean unless one was passed).</summary>
    public ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Scores;

    /// <inheritdoc />
    protected override TTensor LossCore(TTensor z, TTensor? second, in EmbeddingBatch meta, IReadOnlyList<TTensor> parameters, out int active)
    {
        var scores = BatchContract.Scores(meta, "Rank-N-Contrast");
        int n = meta.Count;
        if (n < 2) { active = 0; return DeviceOps.ZeroLoss(z, second); }
        var x = DeviceOps.Matrix(z, Options.Distance).Times(-1.0 / Options.Temperature);   // x_ij = −d_ij / τ
        TTensor order, groupEnd;
        using (no_grad())
        {
            // Per anchor, candidates in decreasing score gap |y_i − y_j| (double, so ties are the managed ties); the anchor
            // itself gets gap −1 and sorts last. S_ik is then the prefix through the end of k's tie group.
            var y = UploadDouble(scores);
            var gap = (y.unsqueeze(1) - y.unsqueeze(0)).abs().masked_fill(eye(n, n, ScalarType.Bool, Device), DeviceScalars.MinusOne);
            order = gap.argsort(1, descending: true);
            var ascending = gap.gather(1, order).neg();                                   // −gap, ascending per row
            groupEnd = searchsorted(ascending, ascending, right: true).Minus(1);               // last position of each tie group
        }
        var sorted = x.gather(1, order);
        var prefix = sorted.logcumsumexp(1).gather(1, groupEnd);                         // log Σ_{j∈S_ik} exp(x_ij)
        var logTerms = (prefix - sorted).narrow(1, 0, n - 1);                            // the last position is the anchor
        active = n * (n - 1);
        ReportMining(new MiningStatistics { Anchors = n, Pairs = (long)n * (n - 1) });
        // Anchor i's term is the mean of its N − 1 log terms.
        if (!DeviceReduction.Fused(Reducer)) return DeviceReduction.Anchors(Reducer, logTerms.sum(1).Times(1.0 / (n - 1)), null, TermKind.Anchor);
        return logTerms.sum().Times(Reducer is SumReducer ? 1.0 / (n - 1) : 1.0 / ((double)n * (n - 1)));
    }
}
