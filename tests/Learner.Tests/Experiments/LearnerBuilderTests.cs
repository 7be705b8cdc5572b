using Learner.Data;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Training;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Learner.Tests.Experiments;

/// <summary>AddLearner's builder, in the container's namespace, and validation that reports every invalid option.</summary>
public class LearnerBuilderTests
{
    [Fact]
    public void AddLearner_lives_in_the_container_namespace_and_returns_a_builder()
    {
        typeof(LearnerServiceCollectionExtensions).Namespace.Should().Be("Microsoft.Extensions.DependencyInjection");
        typeof(LearnerBuilder).Namespace.Should().Be("Microsoft.Extensions.DependencyInjection");
        var services = new ServiceCollection();
        services.AddLearner().Services.Should().BeSameAs(services);
    }

    [Fact]
    public void An_objective_added_through_the_builder_is_in_the_registry_whichever_order_the_calls_come_in()
    {
        foreach (bool objectiveFirst in new[] { true, false })
        {
            var services = new ServiceCollection();
            var builder = services.AddLearner(o => o.ChangeThresholds = ChangeThresholds.Absolute(20));
            if (objectiveFirst) builder.AddObjective<SupConOptions>("my-supcon", o => new SupConLoss(o ?? new SupConOptions())).Configure(o => o.Objectives = new[] { "my-supcon" });
            else builder.Configure(o => o.Objectives = new[] { "my-supcon" }).AddObjective<SupConOptions>("my-supcon", o => new SupConLoss(o ?? new SupConOptions()));
            using var provider = services.BuildServiceProvider();
            provider.GetRequiredService<ObjectiveRegistry>().Create("my-supcon", null).Should().BeOfType<SupConLoss>();
            provider.GetRequiredService<IOptions<ExperimentOptions>>().Value.Objectives.Should().Equal("my-supcon");
            provider.GetRequiredService<LearnerExperiment>().Options.Objectives.Should().Equal(new[] { "my-supcon" }, "the experiment resolves the added objective");
            provider.GetRequiredService<LearnerExperiment>().Backend.RunsSideBySide.Should().BeTrue("the managed engine with the container's objectives still runs folds side by side");
        }
    }

    [Fact]
    public void UseBackend_replaces_the_managed_engine()
    {
        var backend = ComputeBackend.Managed;
        var services = new ServiceCollection();
        services.AddLearner().UseBackend(backend);
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<ComputeBackend>().Should().BeSameAs(backend);
        services.Count(d => d.ServiceType == typeof(ComputeBackend)).Should().Be(1);
    }

    [Fact]
    public void Validation_reports_every_invalid_option_and_is_registered_once()
    {
        var services = new ServiceCollection();
        services.AddLearner(o =>
        {
            o.Protocol = new ExperimentProtocolOptions { OuterFolds = 1 };
            o.Encoder = new EncoderOptions { EmbeddingDimension = 0 };
            o.Objectives = new[] { "weighted-contrastive(margn=1)" };
        });
        services.AddLearner();
        services.Count(d => d.ServiceType == typeof(IValidateOptions<ExperimentOptions>)).Should().Be(1, "TryAddEnumerable adds the validator once");
        using var provider = services.BuildServiceProvider();
        var e = FluentActions.Invoking(() => provider.GetRequiredService<IOptions<ExperimentOptions>>().Value).Should().Throw<OptionsValidationException>().Which;
        e.Failures.Should().HaveCount(3);
        e.Message.Should().Contain("Protocol:OuterFolds").And.Contain("Encoder:EmbeddingDimension").And.Contain("margn");
    }

    [Fact]
    public void ChangeThresholds_bind_from_configuration_and_reach_the_validation_of_the_factory_pretrainers()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Learner:ChangeThresholds:Improvement"] = "20",
            ["Learner:Encoder:Architecture"] = "mlp", ["Learner:Encoder:InputFeatures"] = "3", ["Learner:Encoder:EmbeddingDimension"] = "4",
            ["Learner:Pretraining:Epochs"] = "1", ["Learner:Pretraining:StepsPerEpoch"] = "2", ["Learner:Pretraining:Validation:ChangeFolds"] = "2",
            ["Learner:BatchSource:PatientsPerBatch"] = "4", ["Learner:BatchSource:ScansPerPatient"] = "2",
        }).Build();
        var services = new ServiceCollection();
        services.AddLearner(config.GetSection("Learner"));
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<ExperimentOptions>>().Value;
        options.ChangeThresholds.Should().Be(ChangeThresholds.Absolute(20));
        var data = LearnerExperimentTests.Cohort();
        var split = Learner.Sampling.PatientSplits.TrainValidationTest(data, validationFraction: 0.3, testFraction: 0, seed: 1);
        var (pretrainer, _) = provider.GetRequiredService<PretrainerFactory>().Create(split.Train, "mse", validation: split.Validation);
        double.IsFinite(pretrainer.Run().Epochs.Single().Validation!.MacroF1).Should().BeTrue("no code patches the validation thresholds");
    }
}
