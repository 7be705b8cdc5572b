using Learner.Data;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Nn;
using Learner.Training;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = Learner.Nn.Tensor;

namespace Learner.TorchSharp.Tests;

public class TorchSharpBackendTests
{
    /// <summary>16 patients × 3 visits of 3 features (score, a per-patient nuisance, noise).</summary>
    private static LongitudinalDataset Cohort()
    {
        var rng = new Rng(2);
        var scans = new List<Scan>();
        for (int p = 0; p < 16; p++)
        {
            double score = 200 + 200 * rng.NextDouble();
            float nuisance = (float)rng.NextGaussian();
            for (int v = 0; v < 3; v++)
            {
                scans.Add(new Scan($"s{p}-{v}", $"p{p}", v, score, payload: new TensorPayload(Tensor.FromSpan(new[] { (float)score / 100, nuisance, (float)rng.NextGaussian() }, 3))));
                score += (rng.NextInt(3) - 1) * 40;
            }
        }
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    private static ExperimentOptions Small(params string[] objectives) => new()
    {
        ChangeThresholds = ChangeThresholds.Absolute(20),
        Objectives = objectives,
        Seeds = new[] { 1, 2 },
        Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 3, EmbeddingDimension = 4, WidthMultiplier = 0.05 },
        Pretraining = new PretrainingOptions { Epochs = 1, StepsPerEpoch = 6 },
        BatchSource = new BatchSourceOptions { PatientsPerBatch = 4, ScansPerPatient = 2 },
        Protocol = new ExperimentProtocolOptions { OuterFolds = 4 },
        BootstrapResamples = 20,
    };

    [TorchSharpTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_experiment_on_TorchSharp_follows_the_managed_run_step_for_step(bool deviceObjectives)
    {
        var options = Small("mse", "weighted-contrastive", "mse+weighted-contrastive", "supcon");
        var managed = new LearnerExperiment(options).Run(Cohort());
        var backend = TorchSharpBackend.Create(CPU, deviceObjectives);
        backend.Objectives.Create("supcon").GetType().Namespace.Should().Be(deviceObjectives ? "Learner.TorchSharp.Objectives" : "Learner.Objectives");
        var torch = new LearnerExperiment(options, backend).Run(Cohort());
        torch.Rows.Should().HaveCount(managed.Rows.Count);
        for (int r = 0; r < managed.Rows.Count; r++)
        {
            var (m, t) = (managed.Rows[r].Details!.Losses, torch.Rows[r].Details!.Losses);
            t.Should().HaveCount(m.Count);
            for (int i = 0; i < m.Count; i++)
                t[i].Should().BeApproximately(m[i], 1e-4 * Math.Max(1, Math.Abs(m[i])), $"{managed.Rows[r].Objective} seed {managed.Rows[r].Seed} step {i}");
        }
    }

    [TorchSharpTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void On_inter_patient_pairs_the_experiment_on_TorchSharp_follows_the_managed_run_step_for_step(bool deviceObjectives)
    {
        // The sampler's pairs reach the objectives with their Positive flags and score gaps: the device weighted loss must
        // take both as the managed one does (PositivesFromPairs, ScoreGap), and the spec's overrides reach both backends.
        var options = Small("weighted-contrastive", "weighted-contrastive(positivesFromPairs=false)", "mse+weighted-contrastive(marginByGap=true)") with
        {
            BatchSource = new BatchSourceOptions { Kind = BatchSourceKind.InterPatientPairs, PairsPerBatch = 8 },
        };
        var data = Cohort().WithQuantileLabels(3);
        var managed = new LearnerExperiment(options).Run(data);
        var torch = new LearnerExperiment(options, TorchSharpBackend.Create(CPU, deviceObjectives)).Run(data);
        torch.Rows.Select(r => r.Objective).Should().Equal(managed.Rows.Select(r => r.Objective));
        for (int r = 0; r < managed.Rows.Count; r++)
        {
            var (m, t) = (managed.Rows[r].Details!.Losses, torch.Rows[r].Details!.Losses);
            m.Should().NotBeEmpty();
            t.Should().HaveCount(m.Count);
            for (int i = 0; i < m.Count; i++)
                t[i].Should().BeApproximately(m[i], 1e-4 * Math.Max(1, Math.Abs(m[i])), $"{managed.Rows[r].Objective} seed {managed.Rows[r].Seed} step {i}");
        }
    }

    [TorchSharpFact]
    public void The_pretrainer_factory_resumes_a_TorchSharp_run_from_its_checkpoint_exactly()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"lts-resume-{Guid.NewGuid():N}");
        try
        {
            var options = Small("weighted-contrastive") with
            {
                Encoder = new EncoderOptions { Architecture = "cnn2d", EmbeddingDimension = 4, WidthMultiplier = 0.25 },
                Pretraining = new PretrainingOptions { Epochs = 2, StepsPerEpoch = 3 },
            };
            var data = ImageCohort();
            var factory = new PretrainerFactory(options, backend: TorchSharpBackend.Create(CPU));
            var (full, fullEncoder) = factory.Create(data, "weighted-contrastive", seed: 5);
            using var _ = (IDisposable)fullEncoder;
            var straight = full.Run();

            var cut = new PretrainerFactory(options with { Pretraining = options.Pretraining with { CheckpointDirectory = dir } }, backend: TorchSharpBackend.Create(CPU));
            var (first, firstEncoder) = cut.Create(data, "weighted-contrastive", seed: 5);
            using var __ = (IDisposable)firstEncoder;
            using var cts = new CancellationTokenSource();
            FluentActions.Invoking(() => first.Run(new Sync(p => { if (p.Step == 3) cts.Cancel(); }), cts.Token)).Should().Throw<OperationCanceledException>();
            var (second, resumedEncoder) = cut.Create(data, "weighted-contrastive", seed: 5);
            using var ___ = (IDisposable)resumedEncoder;
            second.Resume(Path.Combine(dir, "last.safetensors")).Losses.Should().Equal(straight.Losses.Skip(3), "the batch-norm statistics, weights and AdamW moments are restored");
            var all = data.LoadBatch(Enumerable.Range(0, data.ScanCount).ToArray());
            var a = new float[data.ScanCount * 4]; var b = new float[a.Length];
            fullEncoder.SetTraining(false); resumedEncoder.SetTraining(false);
            fullEncoder.Forward(all, a, false);
            resumedEncoder.Forward(all, b, false);
            b.Should().Equal(a);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    private static LongitudinalDataset ImageCohort()
    {
        var rng = new Rng(4);
        var scans = new List<Scan>();
        for (int p = 0; p < 8; p++)
            for (int v = 0; v < 3; v++)
            {
                double score = 100 + 50 * p + 10 * v;
                var img = new float[64];
                for (int i = 0; i < img.Length; i++) img[i] = (float)(score / 300 + 0.3 * rng.NextGaussian());
                scans.Add(new Scan($"s{p}-{v}", $"p{p}", v, score, payload: new TensorPayload(Tensor.FromSpan(img, 8, 8))));
            }
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    private sealed class Sync(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    [TorchSharpFact]
    public void AddLearnerTorchSharp_before_or_after_AddLearner_puts_the_experiment_and_the_factories_on_TorchSharp()
    {
        foreach (bool before in new[] { true, false })
        {
            var services = new ServiceCollection();
            if (before) services.AddLearnerTorchSharp(o => o.Device = "cpu");
            services.AddLearner(o => { o.Encoder = new EncoderOptions { Architecture = "cnn2d", EmbeddingDimension = 8, WidthMultiplier = 0.25 }; o.ChangeThresholds = ChangeThresholds.Absolute(20); });
            if (!before) services.AddLearnerTorchSharp(o => o.Device = "cpu");
            using var provider = services.BuildServiceProvider();
            provider.GetRequiredService<ComputeBackend>().Name.Should().Be("torchsharp:cpu");
            provider.GetRequiredService<LearnerExperiment>().Backend.Name.Should().Be("torchsharp:cpu");
            provider.GetRequiredService<PretrainerFactory>().Backend.Name.Should().Be("torchsharp:cpu");
            using var encoder = provider.GetRequiredService<Func<IEncoder>>()().Should().BeOfType<TorchSharpEncoder>().Subject;
            encoder.Name.Should().Be(EncoderFactory.Create(new EncoderOptions { Architecture = "cnn2d", EmbeddingDimension = 8, WidthMultiplier = 0.25 }).Name);
        }
    }

    [TorchSharpFact]
    public void A_module_factory_backend_seeds_libtorch_with_the_encoder_seed()
    {
        var backend = TorchSharpBackend.Create(() => nn.Sequential(("0", nn.Linear(3, 4))), 4, CPU);
        using var a = (TorchSharpEncoder)backend.CreateEncoder(new EncoderOptions { Seed = 11 });
        using var b = (TorchSharpEncoder)backend.CreateEncoder(new EncoderOptions { Seed = 11 });
        using var c = (TorchSharpEncoder)backend.CreateEncoder(new EncoderOptions { Seed = 12 });
        var x = new Tensor(new float[] { 1, 2, 3 }, 1, 3);
        float[] Embed(IEncoder e) { var y = new float[4]; e.Forward(x, y, false); return y; }
        Embed(a).Should().Equal(Embed(b));
        Embed(a).Should().NotEqual(Embed(c));
    }
}
