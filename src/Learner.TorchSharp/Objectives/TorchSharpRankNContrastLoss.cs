using Learner.Objectives;
using Learner.Objectives.Options;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>Rank-N-Contrast (<see cref="RankNContrastLoss"/>) on a libtorch device, in its dense form: for every
/// anchor i and candidate k ≠ i, a log-sum-exp over S_ik = {j ≠ i : |y_i − y_j| ≥ |y_i − y_k|} (score gaps compared in
/// double precision, so ties are the managed objective's ties), in anchor chunks of at most 2²⁴ elements.</summary>
public sealed class TorchSharpRankNContrastLoss : TorchSharpObjective
{
    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    public TorchSharpRankNContrastLoss(RankNContrastOptions? options = null, Device? device = null) : base("rnc", device)
    {
        Options = options ?? new RankNContrastOptions();
        Options.Validate();
    }

    /// <summary>The options.</summary>
    public RankNContrastOptions Options { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Scores;

    internal override TTensor LossCore(TTensor z, TTensor? second, in BatchView meta, IReadOnlyList<TTensor> parameters, out int active)
    {
        var scores = meta.CheckedScores("Rank-N-Contrast");
        int n = meta.Count;
        if (n < 2) { active = 0; return DeviceOps.ZeroLoss(z, second); }
        var x = DeviceOps.Matrix(z, Options.Distance) * (-1.0 / Options.Temperature);   // x_ij = −d_ij / τ
        var y = UploadDouble(scores);
        var gap = (y.unsqueeze(1) - y.unsqueeze(0)).abs();                               // |y_i − y_j|, double
        var self = eye(n, n, ScalarType.Bool, Device);
        var parts = new List<TTensor>();
        foreach (var (start, rows) in DeviceOps.Chunks(n, (long)n * n))
        {
            var g = gap.narrow(0, start, rows);
            var notSelf = self.narrow(0, start, rows).logical_not();
            // [i, k, j]: j ∈ S_ik.
            var members = g.unsqueeze(1).ge(g.unsqueeze(2)).logical_and(notSelf.unsqueeze(1));
            var xi = x.narrow(0, start, rows);
            var lse = xi.unsqueeze(1).expand(rows, n, n).masked_fill(members.logical_not(), double.NegativeInfinity).logsumexp(2);
            parts.Add(((lse - xi) * notSelf.to_type(ScalarType.Float32)).sum());
        }
        active = n * (n - 1);
        var sum = parts.Count == 1 ? parts[0] : stack(parts).sum();
        return sum * (1.0 / ((double)n * (n - 1)));
    }
}
