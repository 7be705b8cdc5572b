using Learner.Data;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Nn;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Training;
using Microsoft.Extensions.DependencyInjection;

namespace Learner.Tests.Experiments;

public class ComputeBackendTests
{
    /// <summary>Delegates to a managed encoder and records that it was disposed.</summary>
    private sealed class TrackedEncoder(IEncoder inner, List<TrackedEncoder> log) : Learner.Tests.Encoders.DelegatingEncoder(inner), IDisposable
    {
        public bool Disposed { get; private set; }
        public EncoderOptions? Options { get; init; }
        public override string Name => "tracked:" + Inner.Name;
        public void Dispose() { Disposed = true; log.Add(this); }
    }

    /// <summary>Delegates to a managed objective, counting calls and disposal.</summary>
    private sealed class CountingObjective(IObjective inner) : IObjective, IDisposable
    {
        public int Calls { get; private set; }
        public bool Disposed { get; private set; }
        public string Name => inner.Name;
        public BatchFields Requires => inner.Requires;
        public IReadOnlyList<ObjectiveParameter> Parameters => inner.Parameters;
        public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
        {
            Calls++;
            return inner.Compute(batch, gradEmbeddings, gradSecondView);
        }
        public void Dispose() => Disposed = true;
    }

    private sealed class Recorder
    {
        public List<EncoderOptions> Built { get; } = new();
        public List<TrackedEncoder> Disposed { get; } = new();
        public List<CountingObjective> Objectives { get; } = new();

        public ComputeBackend Backend()
        {
            var registry = ObjectiveRegistry.CreateDefault();
            var managed = ObjectiveRegistry.CreateDefault();
            registry.Register<WeightedContrastiveOptions>("weighted-contrastive", o =>
            {
                var c = new CountingObjective(managed.Create("weighted-contrastive", o));
                Objectives.Add(c);
                return c;
            });
            return new ComputeBackend("tracked", o =>
            {
                Built.Add(o);
                return new TrackedEncoder(EncoderFactory.Create(o), Disposed) { Options = o };
            }, registry);
        }
    }

    private static ExperimentOptions Small() => new()
    {
        ChangeThresholds = ChangeThresholds.Absolute(20),
        Objectives = new[] { "weighted-contrastive", "mse+weighted-contrastive" },
        Seeds = new[] { 3, 4 },
        Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 3, EmbeddingDimension = 4, WidthMultiplier = 0.05 },
        Pretraining = new PretrainingOptions { Epochs = 1, StepsPerEpoch = 4 },
        BatchSource = new BatchSourceOptions { PatientsPerBatch = 4, ScansPerPatient = 2 }, BootstrapResamples = 20,
        Protocol = new ExperimentProtocolOptions { TestFraction = 0.25 },
    };

    private static readonly ExperimentRunOptions Cold = new() { WarmUp = false };

    private static ExperimentResults RunCold(LearnerExperiment experiment) => experiment.Run(LearnerExperimentTests.Cohort(), Cold, null, null, CancellationToken.None);

    private static string[] Numbers(ExperimentResults r) =>
        r.ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => string.Join(',', l.Split(',').Take(14))).ToArray();

    [Fact]
    public void The_experiment_builds_every_encoder_and_objective_through_its_backend_and_disposes_them()
    {
        var rec = new Recorder();
        var experiment = new LearnerExperiment(Small(), rec.Backend());
        experiment.Backend.Name.Should().Be("tracked");
        var results = RunCold(experiment);

        rec.Built.Select(o => o.Seed).Should().Equal(3UL, 4UL, 3UL, 4UL);
        rec.Disposed.Should().HaveCount(4).And.OnlyContain(e => e.Disposed);
        rec.Objectives.Should().HaveCount(4, "both the plain objective and the composite's term come from the backend's registry");
        rec.Objectives.Should().OnlyContain(o => o.Calls == 4 && o.Disposed, "each run's objective (the composite's term too) is used for the 4 steps, then disposed");
        // The decorators change nothing: the table equals the managed backend's.
        Numbers(results).Should().Equal(Numbers(RunCold(new LearnerExperiment(Small()))));
    }

    [Fact]
    public void A_disposable_objective_is_disposed_after_its_run()
    {
        var registry = ObjectiveRegistry.CreateDefault();
        var made = new List<CountingObjective>();
        registry.Register<InfoNceOptions>("infonce", o => { var c = new CountingObjective(new InfoNceLoss(o)); made.Add(c); return c; });
        var backend = new ComputeBackend("counting", EncoderFactory.Create, registry);
        RunCold(new LearnerExperiment(Small() with { Objectives = new[] { "infonce" }, Seeds = new[] { 1 } }, backend));
        made.Should().ContainSingle().Which.Disposed.Should().BeTrue();
        made[0].Calls.Should().Be(4);
    }

    [Fact]
    public void The_pretrainer_factory_builds_its_encoder_and_objective_through_its_backend()
    {
        var rec = new Recorder();
        var factory = new PretrainerFactory(Small(), backend: rec.Backend());
        var (pretrainer, encoder) = factory.Create(LearnerExperimentTests.Cohort(), "weighted-contrastive", seed: 7);
        encoder.Name.Should().StartWith("tracked:");
        rec.Built.Should().ContainSingle().Which.Seed.Should().Be(7UL);
        pretrainer.Run();
        rec.Objectives.Should().ContainSingle().Which.Calls.Should().Be(4);
    }

    [Fact]
    public void A_backend_registered_before_or_after_AddLearner_serves_the_encoder_factory_the_pretrainer_factory_and_the_experiment()
    {
        foreach (bool before in new[] { true, false })
        {
            var rec = new Recorder();
            var services = new ServiceCollection();
            if (before) services.AddSingleton(rec.Backend());
            services.AddLearner(o => { o.Encoder = Small().Encoder; o.ChangeThresholds = ChangeThresholds.Absolute(20); });
            if (!before) services.AddSingleton(rec.Backend());
            using var provider = services.BuildServiceProvider();
            provider.GetRequiredService<Func<IEncoder>>()().Name.Should().StartWith("tracked:");
            provider.GetRequiredService<PretrainerFactory>().Backend.Name.Should().Be("tracked");
            provider.GetRequiredService<LearnerExperiment>().Backend.Name.Should().Be("tracked");
        }
        using var plain = new ServiceCollection().AddLearner().Services.BuildServiceProvider();
        plain.GetRequiredService<ComputeBackend>().Should().BeSameAs(ComputeBackend.Managed);
    }

    [Fact]
    public void Experiment_objectives_resolve_through_the_given_registry_with_the_same_settings()
    {
        var rec = new Recorder();
        var spec = ObjectiveSpec.Parse("mse+weighted-contrastive");
        var context = new ObjectiveContext(4, 1, CohortStatistics.FromMoments(300, 50));
        var composite = ObjectiveRecipes.Default.Build(spec, context, rec.Backend().Objectives);
        composite.Should().BeOfType<CompositeObjective>();
        composite.Name.Should().Be(ObjectiveRecipes.Default.Build(spec, context, ObjectiveRegistry.CreateDefault()).Name);
        rec.Objectives.Should().ContainSingle();
        FluentActions.Invoking(() => new LearnerExperiment(Small() with { Objectives = new[] { "magic" } }, rec.Backend()))
            .Should().Throw<ArgumentException>().WithMessage("*magic*");
        FluentActions.Invoking(() => new ComputeBackend("null", _ => null!).CreateEncoder(new EncoderOptions()))
            .Should().Throw<InvalidOperationException>().WithMessage("*'null'*tsm-resnet*");
    }
}
