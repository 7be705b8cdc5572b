using Learner.Experiments;
using Learner.Objectives;

namespace Learner.Tests.Experiments;

public class SearchAxesTests
{
    [Fact]
    public void The_weight_axis_sets_a_composite_terms_weight_and_other_axes_its_options()
    {
        var spec = ObjectiveSpec.Parse("mse+weighted-contrastive");
        var search = new HyperparameterSearchOptions
        {
            Trials = 4, Strategy = SearchStrategy.Grid, LearningRates = new[] { 1e-3 },
            OptionValues = new Dictionary<string, IReadOnlyList<string>>
            {
                ["weighted-contrastive.weight"] = new[] { "0.1", "1" },
                ["weighted-contrastive.margin"] = new[] { "0.25", "0.5" },
            },
        };
        var trials = HyperparameterSearch.Trials(spec, search, 1);
        trials.Should().HaveCount(4);
        var applied = trials.Select(t => HyperparameterSearch.Apply(spec, t)).ToArray();
        applied.Select(a => a.Terms[1].Weight).Distinct().Should().BeEquivalentTo(new[] { 0.1, 1.0 });
        applied.Should().OnlyContain(a => a.Terms[0].Weight == 1 && a.Terms[1].Options.Count == 1 && a.Terms[1].Options[0].Key == "margin");
        applied.Should().OnlyContain(a => !a.Terms[1].Options.Any(o => o.Key == "weight"), "the weight is the term's weight, not an objective option");
        // The built objective is a composite with the searched weight.
        var stats = CohortStatistics.FromMoments(300, 100);
        var built = (CompositeObjective)ObjectiveRecipes.Default.Build(applied[0], new ObjectiveContext(4, 1, stats), ObjectiveRegistry.CreateDefault());
        built.Terms[1].Weight.Should().Be(applied[0].Terms[1].Weight);
        var bad = new SearchTrial(0, 1e-3, new[] { new SearchSetting(1, "weighted-contrastive", "weight", "-1") });
        FluentActions.Invoking(() => HyperparameterSearch.Apply(spec, bad)).Should().Throw<ArgumentException>().WithMessage("*-1*weighted-contrastive.weight*");
    }

    [Fact]
    public void A_one_term_spec_has_no_weight_axis_so_one_search_space_serves_the_term_alone_and_in_a_composite()
    {
        var search = new HyperparameterSearchOptions
        {
            Trials = 2, Strategy = SearchStrategy.Grid, LearningRates = new[] { 1e-3 },
            OptionValues = new Dictionary<string, IReadOnlyList<string>>
            {
                ["weighted-contrastive.weight"] = new[] { "0.1", "1", "3" },
                ["weighted-contrastive.margin"] = new[] { "0.25", "0.5" },
            },
        };
        var alone = HyperparameterSearch.Trials(ObjectiveSpec.Parse("weighted-contrastive"), search, 1);
        alone.Should().HaveCount(2);
        alone.Should().OnlyContain(t => t.Settings.Count == 1 && t.Settings[0].Option == "margin");
        alone.Select(t => t.Settings[0].Value).Should().BeEquivalentTo(new[] { "0.25", "0.5" });
        // The lone term's space is 1 × 2 points: a third trial is refused, naming only the margin axis.
        FluentActions.Invoking(() => HyperparameterSearch.Trials(ObjectiveSpec.Parse("weighted-contrastive"), search with { Trials = 3 }, 1))
            .Should().Throw<ArgumentException>().WithMessage("*has 2 points*weighted-contrastive.margin*")
            .Which.Message.Should().NotContain("weighted-contrastive.weight");
        // In a composite the weight is an axis again: 3 × 2 points.
        var composite = HyperparameterSearch.Trials(ObjectiveSpec.Parse("mse+weighted-contrastive"), search with { Trials = 6 }, 1);
        composite.Should().HaveCount(6).And.OnlyContain(t => t.Settings.Count == 2);
        composite.Select(t => t.Settings.Single(s => s.Option == "weight").Value).Distinct().Should().BeEquivalentTo(new[] { "0.1", "1", "3" });
    }
}
