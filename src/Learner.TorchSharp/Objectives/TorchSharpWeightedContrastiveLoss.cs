using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>LEARNER's weighted contrastive loss (<see cref="WeightedContrastiveLoss"/>) on a libtorch device. The
/// score-gap weights w_ij and margins m_ij depend only on the scores: they are computed on the host in double precision
/// (every gap function, the custom one included, exactly as the managed objective) and uploaded with the pair
/// selection; distances, hinges, the reduction and the gradient run on the device.</summary>
public sealed class TorchSharpWeightedContrastiveLoss : TorchSharpObjective
{
    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    public TorchSharpWeightedContrastiveLoss(WeightedContrastiveOptions? options = null, Device? device = null) : base("weighted-contrastive", device)
    {
        Options = options ?? new WeightedContrastiveOptions();
        Options.Validate();
    }

    /// <summary>The options.</summary>
    public WeightedContrastiveOptions Options { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Scores | BatchFields.PatientIds | BatchFields.Pairs;

    internal override TTensor LossCore(TTensor z, TTensor? second, in BatchView meta, IReadOnlyList<TTensor> parameters, out int active)
    {
        var s = meta.CheckedScores("Weighted contrastive loss");
        var pairs = meta.SelectedPairs(Options.UseProvidedPairs);
        int n = meta.Count;
        var o = Options;
        double thr = o.PositiveThreshold;
        // The selection, each pair's kind, g(Δ), and the mean of g over the negatives (for the weight normalisation).
        int count;
        double sumG = 0; long negatives = 0;
        long size = pairs.IsEmpty ? (long)n * n : pairs.Length;
        var positive = new bool[size];
        var gaps = new double[size];
        var include = pairs.IsEmpty ? new bool[size] : null;
        if (!pairs.IsEmpty)
        {
            count = pairs.Length;
            for (int p = 0; p < pairs.Length; p++) Classify(p, s[pairs[p].First], s[pairs[p].Second]);
        }
        else
        {
            var patients = o.InterPatientOnly ? meta.OptionalPatients("weighted contrastive") : default;
            count = 0;
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++)
                {
                    if (!patients.IsEmpty && patients[i] == patients[j]) continue;
                    long k = (long)i * n + j;
                    include![k] = true;
                    count++;
                    Classify(k, s[i], s[j]);
                }
        }
        double weightScale = 1.0;
        if (o.WeightByGap && o.NormalizeWeights)
        {
            double mean = negatives > 0 ? sumG / negatives : 0;
            weightScale = mean > 0 ? 1.0 / mean : 0.0;
        }
        var weight = new float[size];
        var margin = new float[size];
        for (long k = 0; k < size; k++)
        {
            if (positive[k] || (include is not null && !include[k])) continue;
            double g = gaps[k];
            weight[k] = (float)(o.WeightByGap ? g * weightScale : 1.0);
            margin[k] = (float)(o.Margin + (o.MarginByGap ? o.MarginSlope * g : 0.0));
        }
        long[] shape = pairs.IsEmpty ? new long[] { n, n } : new long[] { pairs.Length };
        var w = tensor(weight, shape).to(Device);
        var m = tensor(margin, shape).to(Device);
        var pos = tensor(positive, shape).to(Device);
        TTensor d;
        TTensor? mask = null;
        if (!pairs.IsEmpty)
        {
            var (first, other, _) = PairTensors.Upload(this, pairs);
            d = DeviceOps.Pairs(z, first, other, o.Distance);
        }
        else
        {
            d = DeviceOps.Matrix(z, o.Distance);
            mask = tensor(include!, shape).to(Device);
        }
        var loss = d.square().where(pos, w * (m - d).relu().square());
        if (mask is not null) loss = loss * mask.to_type(ScalarType.Float32);
        active = DeviceOps.ActiveCount(loss, mask);
        return loss.sum() * Reducer.Scale(o.Reduction, count, active);

        void Classify(long k, float si, float sj)
        {
            double gap = Math.Abs((double)si - sj);
            if (gap <= thr) { positive[k] = true; return; }
            double g = o.Gap(gap);
            gaps[k] = g;
            sumG += g; negatives++;
        }
    }
}
