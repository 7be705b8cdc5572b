using Microsoft.Extensions.DependencyInjection;
using Learner.Data;
using Learner.Experiments;
using Learner.Objectives;
using Learner.Training;
using Microsoft.Extensions.Configuration;

namespace Learner.Tests.Experiments;

/// <summary><see cref="ExperimentOptions.ObjectiveLearningRates"/>: each objective pretrains at its own selected rate,
/// exactly as if it had run alone at that rate; bad keys and rates are refused naming them.</summary>
public class ObjectiveLearningRateTests
{
    private static readonly ExperimentRunOptions Cold = new() { WarmUp = false };

    private static ExperimentOptions Options() => LearnerExperimentTests.Small() with
    {
        Objectives = new[] { "mse", "mse + 3*weighted-contrastive(margin = 0.25)" },
        Protocol = new ExperimentProtocolOptions { TestFraction = 0.25 },
    };

    [Fact]
    public void Each_objective_runs_at_its_own_rate_as_if_alone()
    {
        var o = Options();
        // A key in another spelling of the same spec (canonical comparison).
        var mixed = new LearnerExperiment(o with { ObjectiveLearningRates = new Dictionary<string, double> { ["mse+3*weighted-contrastive(margin=0.25)"] = 2e-3 } })
            .Run(LearnerExperimentTests.Cohort(), Cold, null, null, CancellationToken.None);

        var alone = o with { Objectives = new[] { o.Objectives[1] } };
        alone = alone with { Pretraining = alone.Pretraining with { Optimizer = alone.Pretraining.Optimizer with { LearningRate = 2e-3 } } };
        var recipeAlone = new LearnerExperiment(alone).Run(LearnerExperimentTests.Cohort(), Cold, null, null, CancellationToken.None);
        var mseAlone = new LearnerExperiment(o with { Objectives = new[] { "mse" } }).Run(LearnerExperimentTests.Cohort(), Cold, null, null, CancellationToken.None);
        var defaultRate = new LearnerExperiment(o with { Objectives = new[] { o.Objectives[1] } }).Run(LearnerExperimentTests.Cohort(), Cold, null, null, CancellationToken.None);

        var rows = LearnerExperimentTests.Numbers(mixed);
        rows.Should().Contain(LearnerExperimentTests.Numbers(recipeAlone)[1], "the recipe trained at 2e-3");
        rows.Should().Contain(LearnerExperimentTests.Numbers(mseAlone)[1], "MSE trained at the optimizer's rate");
        rows.Should().NotContain(LearnerExperimentTests.Numbers(defaultRate)[1], "at the optimizer's rate the recipe gives other numbers, so the test can tell");
        mixed.Rows[1].FinalLoss.Should().Be(recipeAlone.Rows[0].FinalLoss);
        mixed.Metadata.Settings.Single(kv => kv.Key == "budget").Value.Should().Contain("mse + 3*weighted-contrastive(margin=0.25): 0.002");
    }

    [Fact]
    public void Selected_rates_run_each_objective_as_if_alone_at_its_selected_rate_and_an_entry_overrides_them()
    {
        var o = Options() with { Objectives = new[] { "mse", ObjectiveRecipes.PaperRecipe } };
        var selected = new LearnerExperiment(o with { UseSelectedLearningRates = true }).Run(LearnerExperimentTests.Cohort(), Cold, null, null, CancellationToken.None);
        var explicitRates = new LearnerExperiment(o with { ObjectiveLearningRates = new Dictionary<string, double> { [ObjectiveRecipes.PaperRecipe] = ObjectiveRecipes.PaperRecipeLearningRate } })
            .Run(LearnerExperimentTests.Cohort(), Cold, null, null, CancellationToken.None);
        var uniform = new LearnerExperiment(o).Run(LearnerExperimentTests.Cohort(), Cold, null, null, CancellationToken.None);

        LearnerExperimentTests.Numbers(selected).Should().Equal(LearnerExperimentTests.Numbers(explicitRates), "MSE's selected rate is the optimizer default, the recipe's is 3e-3");
        LearnerExperimentTests.Numbers(selected)[1].Should().Be(LearnerExperimentTests.Numbers(uniform)[1], "MSE at the same rate either way");
        LearnerExperimentTests.Numbers(selected)[2].Should().NotBe(LearnerExperimentTests.Numbers(uniform)[2], "the recipe at 3e-3 differs from the recipe at 6e-3, so the test can tell");
        selected.Metadata.Settings.Single(kv => kv.Key == "budget").Value.Should().Contain("mse: 0.006, mse + 3*weighted-contrastive: 0.003; the searches' selected rates");
        uniform.Metadata.Settings.Single(kv => kv.Key == "budget").Value.Should().NotContain("(");

        var both = o with { UseSelectedLearningRates = true, ObjectiveLearningRates = new Dictionary<string, double> { [ObjectiveRecipes.PaperRecipe] = 1e-3 } };
        both.LearningRateOf(ObjectiveSpec.Parse(ObjectiveRecipes.PaperRecipe)).Should().Be(1e-3, "an explicit entry wins");
        both.LearningRateOf(ObjectiveSpec.Parse("mse-within-patient")).Should().Be(ObjectiveRecipes.WithinPatientLearningRate);
        both.LearningRateOf(ObjectiveSpec.Parse("mse + 2*weighted-contrastive")).Should().Be(o.Pretraining.Optimizer.LearningRate, "a weight no search selected keeps the optimizer's rate");
        var search = o with
        {
            UseSelectedLearningRates = true,
            Protocol = new ExperimentProtocolOptions { TestFraction = 0.25, ValidationFraction = 0.3 },
            Search = new HyperparameterSearchOptions { Trials = 2, LearningRates = new[] { 1e-3, 3e-3 } },
        };
        FluentActions.Invoking(() => new LearnerExperiment(search)).Should().Throw<ArgumentException>().WithMessage("*UseSelectedLearningRates*Search.Trials = 2*");
    }

    [Fact]
    public void Every_selected_spec_builds_and_is_matched_in_any_spelling()
    {
        var stats = CohortStatistics.FromDataset(LearnerExperimentTests.Cohort());
        foreach (var (spec, rate) in ObjectiveRecipes.SelectedLearningRates)
        {
            rate.Should().BeInRange(1e-4, 1e-1, spec);
            var parsed = ObjectiveSpec.Parse(spec);
            parsed.ToString().Should().Be(spec, "keys are canonical");
            var objective = ObjectiveRecipes.Default.Build(parsed, new ObjectiveContext(16, 1, stats), ObjectiveRegistry.CreateDefault());
            objective.Should().NotBeNull(spec);
            (objective as IDisposable)?.Dispose();
        }
        ObjectiveRecipes.SelectedLearningRate(ObjectiveSpec.Parse(" mse + 3 * weighted-contrastive ")).Should().Be(ObjectiveRecipes.PaperRecipeLearningRate);
        ObjectiveRecipes.SelectedLearningRate(ObjectiveSpec.Parse(" y-aware( temperature = 0.1 )")).Should().Be(1.2e-2);
        ObjectiveRecipes.SelectedLearningRate(ObjectiveSpec.Parse("mse+3*weighted-contrastive(margin=0.5)")).Should().BeNull("another margin was not selected");
        ObjectiveRecipes.SelectedLearningRate(ObjectiveSpec.Parse("triplet")).Should().BeNull();
        ObjectiveRecipes.SelectedLearningRate(ObjectiveSpec.Parse("weighted-contrastive(MarginSlope=1)")).Should().Be(1.5e-3, "option names compare case-insensitively, as for ObjectiveLearningRates");
        ObjectiveRecipes.SelectedLearningRate(ObjectiveSpec.Parse("mse + 3*weighted-contrastive(margin=0.25, marginSlope=0.5)"))
            .Should().Be(ObjectiveRecipes.PaperRecipeLearningRate, "the spelling of the search's results finds it too");
        new ExperimentOptions().Objectives.Should().OnlyContain(spec => ObjectiveRecipes.SelectedLearningRate(ObjectiveSpec.Parse(spec)) != null,
            "the default comparison holds only selected objectives");
    }

    [Fact]
    public void LearningRateOf_falls_back_to_the_optimizer_rate()
    {
        var o = Options() with { ObjectiveLearningRates = new Dictionary<string, double> { ["mse"] = 1e-2 } };
        o.LearningRateOf(ObjectiveSpec.Parse(" mse ")).Should().Be(1e-2);
        o.LearningRateOf(ObjectiveSpec.Parse(o.Objectives[1])).Should().Be(o.Pretraining.Optimizer.LearningRate);
        (o with { ObjectiveLearningRates = null }).LearningRateOf(ObjectiveSpec.Parse("mse")).Should().Be(o.Pretraining.Optimizer.LearningRate);
    }

    [Theory]
    [InlineData("rnc", 1e-3, "*'rnc'*not one of Objectives*")]
    [InlineData("mse(", 1e-3, "*'mse('*not an objective spec*")]
    [InlineData("mse", 0.0, "*ObjectiveLearningRates['mse'] is 0*finite and > 0*")]
    [InlineData("mse", double.NaN, "*ObjectiveLearningRates['mse'] is NaN*")]
    public void Bad_keys_and_rates_are_refused_naming_them(string key, double rate, string message)
    {
        var o = Options() with { ObjectiveLearningRates = new Dictionary<string, double> { [key] = rate } };
        FluentActions.Invoking(() => new LearnerExperiment(o)).Should().Throw<ArgumentException>().WithMessage(message);
    }

    [Fact]
    public void Two_spellings_of_one_spec_and_a_search_are_refused()
    {
        var twice = Options() with { ObjectiveLearningRates = new Dictionary<string, double> { ["mse"] = 1e-3, [" mse"] = 2e-3 } };
        FluentActions.Invoking(() => new LearnerExperiment(twice)).Should().Throw<ArgumentException>().WithMessage("*'mse' twice*");
        var search = Options() with
        {
            ObjectiveLearningRates = new Dictionary<string, double> { ["mse"] = 1e-3 },
            Protocol = new ExperimentProtocolOptions { TestFraction = 0.25, ValidationFraction = 0.3 },
            Search = new HyperparameterSearchOptions { Trials = 2, LearningRates = new[] { 1e-3, 3e-3 } },
        };
        FluentActions.Invoking(() => new LearnerExperiment(search)).Should().Throw<ArgumentException>().WithMessage("*ObjectiveLearningRates*Search.Trials = 2*");
    }

    [Fact]
    public void Binds_from_configuration_keyed_by_spec()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Objectives:0"] = "mse",
            ["Objectives:1"] = ObjectiveRecipes.PaperRecipe,
            [$"ObjectiveLearningRates:{ObjectiveRecipes.PaperRecipe}"] = "0.003",
        }).Build();
        var o = new ExperimentOptions { ChangeThresholds = ChangeThresholds.Absolute(20) };
        LearnerServiceCollectionExtensions.BindExperimentOptions(config, o);
        o.Validate();
        o.LearningRateOf(ObjectiveSpec.Parse(ObjectiveRecipes.PaperRecipe)).Should().Be(ObjectiveRecipes.PaperRecipeLearningRate);
        o.LearningRateOf(ObjectiveSpec.Parse("mse")).Should().Be(new PretrainingOptions().Optimizer.LearningRate);

        var selected = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Objectives:0"] = "mse-within-patient",
            ["UseSelectedLearningRates"] = "true",
        }).Build();
        var p = new ExperimentOptions { ChangeThresholds = ChangeThresholds.Absolute(20) };
        LearnerServiceCollectionExtensions.BindExperimentOptions(selected, p);
        p.Validate();
        p.UseSelectedLearningRates.Should().BeTrue();
        p.LearningRateOf(ObjectiveSpec.Parse("mse-within-patient")).Should().Be(ObjectiveRecipes.WithinPatientLearningRate);
    }
}
