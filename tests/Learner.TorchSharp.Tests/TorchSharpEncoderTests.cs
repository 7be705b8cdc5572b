using Learner.Data;
using Learner.Encoders;
using Learner.Nn;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Sampling;
using Learner.Training;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = Learner.Nn.Tensor;

namespace Learner.TorchSharp.Tests;

public sealed class TorchSharpEncoderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"lts-{Guid.NewGuid():N}");

    public TorchSharpEncoderTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private static MlpEncoder Managed(ulong seed = 5) =>
        new(new MlpEncoderOptions { InputFeatures = 6, Hidden = new[] { 16 }, EmbeddingDimension = 4, BatchNorm = false, Seed = seed });

    /// <summary>The same architecture with the managed parameter names: a Sequential of "0" Linear, "1" ReLU, "2" Linear.</summary>
    private static TorchSharpEncoder Torch(ulong seed = 9)
    {
        torch.manual_seed((long)seed);
        var net = nn.Sequential(("0", nn.Linear(6, 16)), ("1", nn.ReLU()), ("2", nn.Linear(16, 4)));
        return new TorchSharpEncoder(net, 4, "ts-mlp", CPU);
    }

    private static LongitudinalDataset Cohort()
    {
        var rng = new Rng(11);
        var scans = new List<Scan>();
        for (int p = 0; p < 12; p++)
        {
            float offset = (float)rng.NextGaussian();
            double baseScore = 100 + 400 * rng.NextDouble();
            for (int v = 0; v < 3; v++)
            {
                double score = baseScore + (30 * v + 25 * rng.NextDouble()) * (p % 2 == 0 ? 1 : -1);
                var x = new float[6];
                x[0] = (float)((score - 300) / 100);
                for (int k = 1; k < 6; k++) x[k] = offset + 0.1f * (float)rng.NextGaussian();
                scans.Add(new Scan($"s{p}-{v}", $"p{p}", v, score, payload: new TensorPayload(Tensor.FromSpan(x, 6))));
            }
        }
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    private static Tensor Batch(int b, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[b * 6];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextGaussian();
        return new Tensor(x, b, 6);
    }

    [TorchSharpFact]
    public void A_managed_checkpoint_loads_into_the_TorchSharp_encoder_and_back_with_the_same_embeddings()
    {
        var managed = Managed();
        string fromManaged = Path.Combine(_dir, "managed.safetensors");
        managed.Save(fromManaged);
        using var ts = Torch();
        ts.Load(fromManaged);
        var input = Batch(10, 3);
        var a = new float[40]; var b = new float[40];
        managed.Forward(input, a, requiresGrad: false);
        ts.Forward(input, b, requiresGrad: false);
        for (int i = 0; i < a.Length; i++) b[i].Should().BeApproximately(a[i], 1e-4f * Math.Max(1, Math.Abs(a[i])));

        string fromTorch = Path.Combine(_dir, "torch.safetensors");
        using var other = Torch(seed: 77);
        other.Save(fromTorch);
        var back = Managed(seed: 1);
        back.Load(fromTorch);
        var c = new float[40]; var d = new float[40];
        other.Forward(input, c, requiresGrad: false);
        back.Forward(input, d, requiresGrad: false);
        for (int i = 0; i < c.Length; i++) d[i].Should().BeApproximately(c[i], 1e-4f * Math.Max(1, Math.Abs(c[i])));
    }

    [TorchSharpFact]
    public void Gradients_through_the_seam_match_the_managed_encoder_after_an_SGD_step()
    {
        var managed = Managed();
        string path = Path.Combine(_dir, "w.safetensors");
        managed.Save(path);
        using var ts = Torch();
        ts.Load(path);
        var options = new EncoderOptimizerOptions { Kind = OptimizerKind.Sgd, LearningRate = 0.1, Momentum = 0, WeightDecay = 0 };
        var om = managed.CreateOptimizer(options);
        var ot = ts.CreateOptimizer(options);
        var objective = new WeightedContrastiveLoss(new WeightedContrastiveOptions { UseProvidedPairs = false, PositiveThreshold = 0.5f, GapScale = 1f });
        var input = Batch(8, 4);
        var scores = Enumerable.Range(0, 8).Select(i => (float)(i % 4)).ToArray();
        var patients = Enumerable.Range(0, 8).Select(i => i / 2).ToArray();
        foreach (var (enc, opt) in new (IEncoder, IEncoderOptimizer)[] { (managed, om), (ts, ot) })
        {
            var e = new float[32]; var g = new float[32];
            opt.ZeroGrad();
            enc.Forward(input, e, requiresGrad: true);
            objective.Compute(new EmbeddingBatch(e, 8, 4) { Scores = scores, PatientIds = patients }, g);
            enc.Backward(g);
            opt.CheckGradientsFinite();
            opt.Step();
            opt.StepCount.Should().Be(1);
        }
        string pm = Path.Combine(_dir, "m1.safetensors"), pt = Path.Combine(_dir, "t1.safetensors");
        managed.Save(pm);
        ts.Save(pt);
        var wm = Learner.Nn.Serialization.Safetensors.Load(pm).Tensors;
        var wt = Learner.Nn.Serialization.Safetensors.Load(pt).Tensors;
        foreach (var key in new[] { "0.weight", "0.bias", "2.weight", "2.bias" })
        {
            var x = wm[key].ToArray(); var y = wt[key].ToArray();
            for (int i = 0; i < x.Length; i++) y[i].Should().BeApproximately(x[i], 1e-5f, key);
        }
    }

    [TorchSharpFact]
    public void The_pretrainer_trains_a_TorchSharp_encoder_and_resumes_it_with_its_optimizer_state()
    {
        var data = Cohort();
        (Pretrainer, TorchSharpEncoder) Make(string? dir)
        {
            var enc = Torch();
            var objective = new WeightedContrastiveLoss(new WeightedContrastiveOptions { UseProvidedPairs = false, PositiveThreshold = 40, GapScale = 100 });
            var options = new PretrainingOptions { Epochs = 3, StepsPerEpoch = 5, Seed = 21, WarmupSteps = 2, CheckpointDirectory = dir, CheckpointEverySteps = 4, Optimizer = new EncoderOptimizerOptions { LearningRate = 1e-2 } };
            return (new Pretrainer(enc, data, new PatientBatchSampler(data, 4, 2), objective, options), enc);
        }
        var (full, fullEnc) = Make(Path.Combine(_dir, "a"));
        var result = full.Run();
        result.Losses.Skip(10).Average().Should().BeLessThan(result.Losses.Take(5).Average());

        var (first, firstEnc) = Make(Path.Combine(_dir, "b"));
        using var cts = new CancellationTokenSource();
        FluentActions.Invoking(() => first.Run(new Sync(p => { if (p.Step == 7) cts.Cancel(); }), cts.Token)).Should().Throw<OperationCanceledException>();
        var (second, resumed) = Make(Path.Combine(_dir, "b"));
        second.Resume(Path.Combine(_dir, "b", "last.safetensors")).Losses.Should().HaveCount(8);
        var a = new float[12 * 3 * 4]; var b = new float[a.Length];
        var all = data.LoadBatch(Enumerable.Range(0, data.ScanCount).ToArray());
        fullEnc.Forward(all, a, requiresGrad: false);
        resumed.Forward(all, b, requiresGrad: false);
        b.Should().Equal(a, "resuming restores the weights and the AdamW moments, and CPU libtorch is deterministic here");
        firstEnc.Dispose(); fullEnc.Dispose(); resumed.Dispose();
    }

    [TorchSharpFact]
    public void The_pretrainer_gives_the_device_mse_its_patients_for_the_within_patient_term()
    {
        var data = Cohort();
        using var enc = Torch();
        using var objective = Learner.TorchSharp.Objectives.TorchSharpObjectives.Create("mse",
            new MseOptions { EmbeddingDimension = 4, ScoreOffset = 300, ScoreScale = 100, InitSeed = 2, WithinPatientWeight = 16 }, CPU);
        objective.Requires.Should().HaveFlag(BatchFields.PatientIds);
        var options = new PretrainingOptions { Epochs = 2, StepsPerEpoch = 8, Seed = 5, WarmupSteps = 1, Optimizer = new EncoderOptimizerOptions { LearningRate = 1e-2 } };
        var result = new Pretrainer(enc, data, new PatientBatchSampler(data, 4, 3), objective, options).Run();
        result.Losses.Should().HaveCount(16).And.OnlyContain(l => double.IsFinite(l));
        result.Losses.Skip(12).Average().Should().BeLessThan(result.Losses.Take(4).Average());
    }

    [TorchSharpFact]
    public void Shape_and_checkpoint_mismatches_are_reported()
    {
        using var ts = Torch();
        FluentActions.Invoking(() => ts.Forward(Batch(3, 1), new float[5], false)).Should().Throw<ArgumentException>().WithMessage("*3 × 4*");
        FluentActions.Invoking(() => ts.Backward(new float[12])).Should().Throw<InvalidOperationException>();
        var wide = new MlpEncoder(new MlpEncoderOptions { InputFeatures = 6, Hidden = new[] { 32 }, EmbeddingDimension = 4, BatchNorm = false });
        string path = Path.Combine(_dir, "wide.safetensors");
        wide.Save(path);
        FluentActions.Invoking(() => ts.Load(path)).Should().Throw<Learner.Nn.Serialization.CheckpointException>().WithMessage("*0.weight*[32, 6]*[16, 6]*");
    }

    private sealed class Sync(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
