using Learner.Nn.Kernels;
using System.Numerics.Tensors;
using Tensor = Learner.Nn.Tensor;
using Learner.Nn;
using Learner.Objectives.Kernels;
using Learner.Objectives.Options;

namespace Learner.Objectives;

/// <summary>
/// The paper's baseline: a linear head regresses the normalised health score from each embedding,
/// L = (1/B) Σ_i (w·e_i + b − t_i)², t_i = (s_i − offset) / scale. The objective owns the head (w, b) and writes
/// its gradient as well as the embeddings'.
/// Reference: LEARNER (arXiv 2411.01144), single-scan score regression pretraining.
/// </summary>
public sealed class MseScoreRegression : ObjectiveBase<MseOptions>
{
    private readonly Workspace<float> _residual = new();
    private readonly MseHead _head;

    /// <summary>Creates the objective and initialises its head from <see cref="MseOptions.InitSeed"/>.</summary>
    /// <param name="options">Options (validated; <see cref="MseOptions.EmbeddingDimension"/> is required).</param>
    public MseScoreRegression(MseOptions options) : base("mse", options ?? throw new ArgumentNullException(nameof(options)))
        => _head = new MseHead(Options);

    /// <summary>The head's weight w (length D).</summary>
    public Tensor HeadWeight => _head.Weight;

    /// <summary>The head's bias b (length 1).</summary>
    public Tensor HeadBias => _head.Bias;

    /// <summary>d(loss)/dw from the last call.</summary>
    public Tensor HeadWeightGradient => _head.WeightGradient;

    /// <summary>d(loss)/db from the last call.</summary>
    public Tensor HeadBiasGradient => _head.BiasGradient;

    /// <inheritdoc />
    public override IReadOnlyList<ObjectiveParameter> Parameters => _head.Parameters;

    /// <inheritdoc />
    public override BatchFields Requires => Options.WithinPatientWeight > 0 ? BatchFields.Scores | BatchFields.PatientIds : BatchFields.Scores;

    /// <summary>The head's prediction (in normalised score units) for one embedding.</summary>
    /// <param name="embedding">An embedding of length D.</param>
    /// <returns>w·e + b.</returns>
    public float Predict(ReadOnlySpan<float> embedding)
    {
        if (embedding.Length != Options.EmbeddingDimension)
            throw new ObjectiveInputException($"MSE head: the embedding has {embedding.Length} values, the head expects D = {Options.EmbeddingDimension}.", nameof(embedding));
        return (float)(Simd.Dot(embedding, HeadWeight.Data) + HeadBias.Data[0]);
    }

    /// <inheritdoc />
    protected override (double Loss, int Active) ComputeCore(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        int b = batch.Count, d = batch.Dimension;
        _head.CheckDimension(d);
        var scores = BatchContract.Scores(batch, "MSE score regression");
        var w = HeadWeight.Data;
        // r[i] = ∂L/∂(w·e_i + b): the one coefficient of row i in every gradient.
        var r = _residual.Get(b);
        var (loss, sumR) = Options.WithinPatientWeight > 0 ? WithinPatientCoefficients(batch, scores, r) : Coefficients(batch, scores, r);
        var gw = HeadWeightGradient.Data;
        gw.Clear();
        for (int i = 0; i < b; i++)
        {
            TensorPrimitives.MultiplyAdd(batch.Row(i), r[i], gw, gw);
            if (!gradEmbeddings.IsEmpty) TensorPrimitives.Multiply(w, r[i], gradEmbeddings.Slice(i * d, d));
        }
        HeadBiasGradient.Data[0] = (float)sumR;
        gradSecondView.Clear();
        return (loss, b);
    }

    /// <summary>L = (1/B) Σ r_i², ∂L/∂r_i = 2 r_i / B; returns L and Σ ∂L/∂r_i (the bias gradient, summed in double).</summary>
    private (double Loss, double SumR) Coefficients(in EmbeddingBatch batch, ReadOnlySpan<float> scores, Span<float> r)
    {
        int b = batch.Count;
        var w = HeadWeight.Data;
        float bias = HeadBias.Data[0];
        double loss = 0, sumR = 0;
        for (int i = 0; i < b; i++)
        {
            double res = Simd.Dot(batch.Row(i), w) + bias - _head.Target(scores[i]);
            loss += res * res;
            r[i] = (float)(2.0 * res / b);
            sumR += 2.0 * res / b;
        }
        return (loss / b, sumR);
    }

    /// <summary>The objective as <see cref="BatchContract.Patients"/> names it when the within-patient term lacks patient ids.</summary>
    public const string WithinPatientContract = "MSE score regression with WithinPatientWeight > 0";

    private readonly Workspace<double> _residuals = new();
    private readonly Dictionary<int, (double Sum, int Count)> _patientResiduals = new();

    /// <summary>The loss with the within-patient term (<see cref="MseOptions.WithinPatientWeight"/>):
    /// L = (1/B) Σ r_i² + λ (1/B) Σ (r_i − r̄_p(i))², ∂L/∂r_i = (2/B)(r_i + λ (r_i − r̄_p(i))) (the centred residuals of
    /// a patient sum to zero, so r̄'s own dependence on r_i drops out); returns L and Σ ∂L/∂r_i.</summary>
    private (double Loss, double SumR) WithinPatientCoefficients(in EmbeddingBatch batch, ReadOnlySpan<float> scores, Span<float> r)
    {
        int b = batch.Count;
        var patients = BatchContract.Patients(batch, WithinPatientContract);
        double lambda = Options.WithinPatientWeight;
        var w = HeadWeight.Data;
        float bias = HeadBias.Data[0];
        var res = _residuals.Get(b);
        var groups = _patientResiduals;
        groups.Clear();
        for (int i = 0; i < b; i++)
        {
            res[i] = Simd.Dot(batch.Row(i), w) + bias - _head.Target(scores[i]);
            groups[patients[i]] = groups.TryGetValue(patients[i], out var g) ? (g.Sum + res[i], g.Count + 1) : (res[i], 1);
        }
        double plain = 0, within = 0, sumR = 0;
        for (int i = 0; i < b; i++)
        {
            var (sum, count) = groups[patients[i]];
            double centred = res[i] - sum / count;
            plain += res[i] * res[i];
            within += centred * centred;
            double coefficient = 2.0 * (res[i] + lambda * centred) / b;
            r[i] = (float)coefficient;
            sumR += coefficient;
        }
        return ((plain + lambda * within) / b, sumR);
    }
}
