using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>Pairwise margin contrastive loss (<see cref="ContrastiveLoss"/>) on a libtorch device: d² for positive pairs,
/// max(0, m − d)² for negative pairs, over the sampler's pairs or every pair of the batch.</summary>
public sealed class TorchSharpContrastiveLoss : TorchSharpObjective
{
    /// <summary>Creates the objective.</summary>
    /// <param name="options">Options (validated); null for the defaults.</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    public TorchSharpContrastiveLoss(ContrastiveOptions? options = null, Device? device = null) : base("contrastive", device)
    {
        Options = options ?? new ContrastiveOptions();
        Options.Validate();
    }

    /// <summary>The options.</summary>
    public ContrastiveOptions Options { get; }

    /// <inheritdoc />
    public override BatchFields Requires => BatchFields.Pairs | BatchFields.Labels;

    internal override TTensor LossCore(TTensor z, TTensor? second, in BatchView meta, IReadOnlyList<TTensor> parameters, out int active)
    {
        var pairs = meta.SelectedPairs(Options.UseProvidedPairs);
        float margin = Options.Margin;
        TTensor loss;
        int count;
        TTensor? include = null;
        if (!pairs.IsEmpty)
        {
            var (first, other, positive) = PairTensors.Upload(this, pairs);
            var d = DeviceOps.Pairs(DeviceOps.DistanceRows(z, Options.Distance), first, other, Options.Distance);
            loss = d.Square().where(positive, d.SubtractedFrom(margin).relu().Square());
            count = pairs.Length;
        }
        else
        {
            var labels = meta.CheckedLabels("Contrastive loss (all pairs; or give EmbeddingBatch.Pairs)");
            var patients = Options.InterPatientOnly ? meta.OptionalPatients("contrastive") : default;
            var d = DeviceOps.Matrix(z, Options.Distance);
            var lab = UploadIndex(labels);
            var positive = lab.unsqueeze(1).eq(lab.unsqueeze(0));
            (var mask, count) = PairTensors.AllPairs(meta.Count, patients);
            include = tensor(mask, new long[] { meta.Count, meta.Count }).to(Device);
            loss = d.Square().where(positive, d.SubtractedFrom(margin).relu().Square()) * include.to_type(ScalarType.Float32);
        }
        active = DeviceOps.ActiveCount(loss, include);
        return loss.sum().Times(Reducer.Scale(Options.Reduction, count, active));
    }
}
