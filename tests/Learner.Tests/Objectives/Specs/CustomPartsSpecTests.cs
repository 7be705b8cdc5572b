using Learner.Encoders;
using Learner.Examples.Extensions;
using Learner.Experiments;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Learner.Tests.Objectives.Specs;

/// <summary>Spec strings naming objectives made of custom parts: a registry entry (or <c>LearnerBuilder.AddObjective</c>)
/// that composes a user distance and reducer under a name, then used in a weighted spec with option overrides.</summary>
public class CustomPartsSpecTests
{
    /// <summary>"my-contrastive": the contrastive loss on the pseudo-Huber distance with the hardest-half reducer.</summary>
    private static IObjective MyContrastive(ContrastiveOptions? o) => new ContrastiveLoss(o, new PseudoHuberDistance(), new HardestFractionReducer());

    [Fact]
    public void A_registered_objective_of_custom_parts_is_named_weighted_and_overridden_in_a_spec()
    {
        var registry = ObjectiveRegistry.CreateDefault();
        registry.Register<ContrastiveOptions>("my-contrastive", MyContrastive);
        var composite = (CompositeObjective)ObjectiveRecipes.Default.Build(ObjectiveSpec.Parse("mse+0.5*my-contrastive(margin=0.3, useProvidedPairs=false)"),
            ObjectiveContext.ForValidation(4), registry);
        composite.Terms.Select(t => (t.Name, t.Weight)).Should().Equal(("mse", 1.0), ("my-contrastive", 0.5));
        var mine = composite.Terms[1].Objective.Should().BeOfType<ContrastiveLoss>().Subject;
        mine.Options.Margin.Should().Be(0.3f);
        mine.Options.UseProvidedPairs.Should().BeFalse();
        mine.Reducer.Should().BeOfType<HardestFractionReducer>();
        var bad = Assert.Throws<ObjectiveSpecException>(() => ObjectiveRecipes.Default.Build(ObjectiveSpec.Parse("my-contrastive(margn=1)"), ObjectiveContext.ForValidation(4), registry));
        bad.Message.Should().Contain("margn");
    }

    [Fact]
    public void An_objective_added_through_the_builder_trains_from_a_configured_spec_and_logs_its_parts()
    {
        const string spec = "mse+0.5*my-contrastive(margin=0.3)";
        var services = new ServiceCollection();
        services.AddLearner(o =>
            {
                o.Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 3, EmbeddingDimension = 4, WidthMultiplier = 0.05 };
                o.Pretraining = new PretrainingOptions { Epochs = 1, StepsPerEpoch = 2, WarmupSteps = 1 };
                o.BatchSource = new BatchSourceOptions { PatientsPerBatch = 4, ScansPerPatient = 2 };
                o.Objectives = new[] { spec };
            })
            .AddObjective<ContrastiveOptions>("my-contrastive", MyContrastive);
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<IOptions<ExperimentOptions>>().Value.Objectives.Should().Equal(new[] { spec }, "the configured spec validates against the container's registry");
        var (pretrainer, _) = provider.GetRequiredService<PretrainerFactory>().Create(Experiments.LearnerExperimentTests.Cohort(), spec);
        var events = new List<TrainingProgress>();
        pretrainer.Run(new Progress(events));
        events.Should().HaveCount(2);
        events[0].Terms.Select(t => t.Key).Should().Equal("mse", "my-contrastive");
        events[0].Parts.Select(t => t.Key).Should().Equal("my-contrastive.positive", "my-contrastive.negative");
        events[0].Mining.Pairs.Should().BeGreaterThan(0);
    }

    private sealed class Progress(List<TrainingProgress> events) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => events.Add(value);
    }
}
