using Learner.Objectives;
using Learner.Objectives.Options;
using static TorchSharp.torch;
using LTensor = Learner.Nn.Tensor;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>The paper's score-regression baseline (<see cref="MseScoreRegression"/>) on a libtorch device. The linear
/// head (w, b) stays a pair of host parameters — initialised from <see cref="MseOptions.InitSeed"/> exactly as the
/// managed head, named <c>mse.head.weight</c> / <c>mse.head.bias</c>, updated by the pretrainer's optimizer — and is
/// uploaded with each batch (D + 1 values); its gradient comes back into <see cref="HeadWeightGradient"/> and
/// <see cref="HeadBiasGradient"/>.</summary>
public sealed class TorchSharpMseScoreRegression : TorchSharpObjective<MseOptions>
{
    private readonly MseHead _head;

    /// <summary>Creates the objective and initialises its head.</summary>
    /// <param name="options">Options (validated; <see cref="MseOptions.EmbeddingDimension"/> is required).</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    public TorchSharpMseScoreRegression(MseOptions options, Device? device = null)
        : base("mse", options ?? throw new ArgumentNullException(nameof(options)), device)
        => _head = new MseHead(Options);

    /// <summary>The head's weight w (length D, host).</summary>
    public LTensor HeadWeight => _head.Weight;

    /// <summary>The head's bias b (length 1, host).</summary>
    public LTensor HeadBias => _head.Bias;

    /// <summary>d(loss)/dw from the last <see cref="TorchSharpObjective.Compute(in EmbeddingBatch, Span{float}, Span{float})"/>.</summary>
    public LTensor HeadWeightGradient => _head.WeightGradient;

    /// <summary>d(loss)/db from the last <see cref="TorchSharpObjective.Compute(in EmbeddingBatch, Span{float}, Span{float})"/>.</summary>
    public LTensor HeadBiasGradient => _head.BiasGradient;

    /// <inheritdoc />
    public override IReadOnlyList<ObjectiveParameter> Parameters => _head.Parameters;

    /// <inheritdoc />
    public override BatchFields Requires => Options.WithinPatientWeight > 0 ? BatchFields.Scores | BatchFields.PatientIds : BatchFields.Scores;

    /// <inheritdoc />
    protected override IReadOnlyList<TTensor> UploadParameters() => new[]
    {
        // The head's gradient is always written, as the managed objective does.
        tensor(HeadWeight.Data.ToArray(), new long[] { Options.EmbeddingDimension }).to(Device).requires_grad_(true),
        tensor(HeadBias.Data.ToArray(), new long[] { 1 }).to(Device).requires_grad_(true),
    };

    /// <inheritdoc />
    protected override void DownloadParameterGradients(IReadOnlyList<TTensor> parameters)
    {
        CopyGradient(parameters[0], HeadWeightGradient.Data);
        CopyGradient(parameters[1], HeadBiasGradient.Data);
    }

    /// <inheritdoc />
    protected override TTensor LossCore(TTensor z, TTensor? second, in EmbeddingBatch meta, IReadOnlyList<TTensor> parameters, out int active)
    {
        int b = meta.Count;
        _head.CheckDimension(meta.Dimension);
        var scores = BatchContract.Scores(meta, "MSE score regression");
        var target = new float[b];
        for (int i = 0; i < b; i++) target[i] = (float)_head.Target(scores[i]);
        var prediction = z.matmul(parameters[0]).Plus(parameters[1]);
        active = b;
        var residual = prediction - tensor(target, new long[] { b }).to(Device);
        var loss = residual.Square().mean();
        double lambda = Options.WithinPatientWeight;
        if (lambda == 0) return loss;
        // The within-patient term: each residual minus its patient's mean residual in the batch.
        var patients = BatchContract.Patients(meta, MseScoreRegression.WithinPatientContract);
        var groupOf = new Dictionary<int, int>();
        var group = new long[b];
        var counts = new List<float>();
        for (int i = 0; i < b; i++)
        {
            if (!groupOf.TryGetValue(patients[i], out int g)) { g = groupOf.Count; groupOf[patients[i]] = g; counts.Add(0); }
            group[i] = g;
            counts[g]++;
        }
        var index = tensor(group, new long[] { b }).to(Device);
        var sums = zeros(new long[] { counts.Count }, residual.dtype, Device).index_add(0, index, residual, DeviceScalars.One);
        var means = sums / tensor(counts.ToArray(), new long[] { counts.Count }).to(Device);
        var centred = residual - means.index_select(0, index);
        return loss.Plus(centred.Square().mean().Times(lambda));
    }
}
