using Learner.Experiments;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Tests.Data;

namespace Learner.Tests.Objectives.Specs;

/// <summary>Building specs: cohort-scaled defaults, overrides, composites, custom and replaced registry entries, errors.</summary>
public class ObjectiveRecipesTests
{
    private const int D = 16;
    private const ulong Seed = 5;
    private static readonly Learner.Data.LongitudinalDataset Cohort = TestCohorts.Random(20, 2, 4, 7);
    private static readonly ObjectiveContext Context = new(D, Seed, CohortStatistics.FromDataset(Cohort));
    private static readonly ObjectiveRegistry Registry = ObjectiveRegistry.CreateDefault();

    private static IObjective Build(string spec, ObjectiveContext? context = null, ObjectiveRegistry? registry = null, ObjectiveRecipes? recipes = null)
        => (recipes ?? ObjectiveRecipes.Default).Build(ObjectiveSpec.Parse(spec), context ?? Context, registry ?? Registry);

    /// <summary>The recipes LearnerExperiment hard-coded before specs existed (kept here as the reference the recipes
    /// must reproduce, apart from the pair objectives now using provided pairs).</summary>
    private static IObjective Old(string name)
    {
        var (scoreMean, scoreScale) = SpecCohorts.ExperimentMoments(Cohort);
        var registry = ObjectiveRegistry.CreateDefault();
        var mse = new MseOptions { EmbeddingDimension = D, ScoreOffset = scoreMean, ScoreScale = scoreScale, InitSeed = Seed };
        var weighted = new WeightedContrastiveOptions { UseProvidedPairs = false, PositiveThreshold = 0.1f * scoreScale, GapScale = scoreScale };
        return name switch
        {
            "mse" => registry.Create("mse", mse),
            "weighted-contrastive" => registry.Create("weighted-contrastive", weighted),
            "contrastive" => registry.Create("contrastive", new ContrastiveOptions { UseProvidedPairs = false, InterPatientOnly = true }),
            "triplet" or "infonce" or "supcon" or "rnc" => registry.Create(name),
            "y-aware" => registry.Create("y-aware", new YAwareOptions { Sigma = 0.25f * scoreScale }),
            "mse+weighted-contrastive" => registry.Create("composite", new CompositeOptions
            {
                Terms = new[] { new CompositeTermOptions("mse", 1.0, mse), new CompositeTermOptions("weighted-contrastive", 1.0, weighted) },
            }),
            _ => throw new ArgumentException(name),
        };
    }

    [Fact]
    public void Default_recipes_cover_the_built_in_objectives()
    {
        ObjectiveRecipes.Default.Names.Should().BeEquivalentTo("mse", "mse-within-patient", "contrastive", "weighted-contrastive", "weighted-ranking", "triplet", "infonce", "supcon", "rnc", "y-aware",
            "ntxent", "pml-contrastive", "pml-triplet");
        ObjectiveRecipes.Default.Contains("MSE").Should().BeTrue();
        ObjectiveRecipes.Default.Contains("composite").Should().BeFalse();
    }

    [Fact]
    public void Cohort_scaled_defaults_equal_the_experiment_recipes_except_that_pair_objectives_use_provided_pairs()
    {
        var (mean, scale) = SpecCohorts.ExperimentMoments(Cohort);
        scale.Should().BeGreaterThan(1, "the cohort's scores spread over [100, 500], so a wrong scale would show");

        var mse = ((MseScoreRegression)Build("mse")).Options;
        mse.Should().Be(((MseScoreRegression)Old("mse")).Options);
        mse.Should().Be(new MseOptions { EmbeddingDimension = D, ScoreOffset = mean, ScoreScale = scale, InitSeed = Seed });
        ((MseScoreRegression)Build("mse")).HeadWeight.ToArray().Should().Equal(((MseScoreRegression)Old("mse")).HeadWeight.ToArray());
        ((MseScoreRegression)Build("mse-within-patient")).Options.Should().Be(mse with { WithinPatientWeight = ObjectiveRecipes.WithinPatientWeight },
            "the within-patient recipe is mse with the term's weight and nothing else changed");
        ((MseScoreRegression)Build("mse-within-patient(withinPatientWeight=16)")).Options.WithinPatientWeight.Should().Be(16);

        var weighted = ((WeightedContrastiveLoss)Build("weighted-contrastive")).Options;
        var oldWeighted = ((WeightedContrastiveLoss)Old("weighted-contrastive")).Options;
        oldWeighted.UseProvidedPairs.Should().BeFalse();
        weighted.UseProvidedPairs.Should().BeTrue();
        weighted.Should().Be(oldWeighted with { UseProvidedPairs = true, MarginByGap = true, Margin = 0.25f, MarginSlope = 0.5f }, "the recipe turns the margin by gap on, with m₀ and α as the search selected them");
        weighted.PositiveThreshold.Should().Be(0.1f * scale);
        weighted.GapScale.Should().Be(scale);

        // The ranking form: distances regressed to α·Δ/s with the search's α, unweighted, no base margin.
        ((WeightedContrastiveLoss)Build("weighted-ranking")).Options.Should().Be(weighted with
        {
            TargetDistance = true, WeightByGap = false, Margin = 0f, MarginSlope = 0.125f,
        });

        var contrastive = ((ContrastiveLoss)Build("contrastive")).Options;
        contrastive.Should().Be(((ContrastiveLoss)Old("contrastive")).Options with { UseProvidedPairs = true });
        contrastive.InterPatientOnly.Should().BeTrue();

        ((YAwareInfoNceLoss)Build("y-aware")).Options.Should().Be(((YAwareInfoNceLoss)Old("y-aware")).Options);
        ((YAwareInfoNceLoss)Build("y-aware")).Options.Sigma.Should().Be(0.25f * scale);
        ((TripletLoss)Build("triplet")).Options.Should().Be(((TripletLoss)Old("triplet")).Options);
        ((InfoNceLoss)Build("infonce")).Options.Should().Be(((InfoNceLoss)Old("infonce")).Options);
        ((SupConLoss)Build("supcon")).Options.Should().Be(((SupConLoss)Old("supcon")).Options);
        ((RankNContrastLoss)Build("rnc")).Options.Should().Be(((RankNContrastLoss)Old("rnc")).Options);
    }

    [Fact]
    public void The_old_composite_name_parses_to_the_same_composite()
    {
        var built = (CompositeObjective)Build("mse+weighted-contrastive");
        var old = (CompositeObjective)Old("mse+weighted-contrastive");
        built.Terms.Select(t => (t.Name, t.Weight)).Should().Equal(old.Terms.Select(t => (t.Name, t.Weight)));
        ((MseScoreRegression)built.Terms[0].Objective).Options.Should().Be(((MseScoreRegression)old.Terms[0].Objective).Options);
        ((WeightedContrastiveLoss)built.Terms[1].Objective).Options.Should().Be(((WeightedContrastiveLoss)old.Terms[1].Objective).Options with { UseProvidedPairs = true, MarginByGap = true, Margin = 0.25f });
    }

    [Fact]
    public void Option_overrides_reach_the_built_objective_and_keep_the_other_scaled_defaults()
    {
        var o = ((WeightedContrastiveLoss)Build("weighted-contrastive(marginByGap=true,marginSlope=2)")).Options;
        o.MarginByGap.Should().BeTrue();
        o.MarginSlope.Should().Be(2f);
        o.GapScale.Should().Be(((WeightedContrastiveLoss)Build("weighted-contrastive")).Options.GapScale);

        var t = ((TripletLoss)Build("triplet(SELECTION=semihard, penalty=SoftPlus, margin=0.3, reduction=MeanOverActive)")).Options;
        (t.Selection, t.Penalty, t.Margin, t.Reduction).Should().Be((TripletSelection.SemiHard, TripletPenalty.SoftPlus, 0.3f, Learner.Objectives.Reducers.Reduction.MeanOverActive));

        var m = ((MseScoreRegression)Build("mse(initSeed=42, embeddingDimension=16, scoreOffset=-1.5e+2)")).Options;
        (m.InitSeed, m.EmbeddingDimension, m.ScoreOffset).Should().Be((42UL, 16, -150f));
        ((SupConLoss)Build("supcon(temperature=0.07)")).Options.Temperature.Should().Be(0.07f);
        ((InfoNceLoss)Build("infonce(variant=ntxent)")).Options.Variant.Should().Be(InfoNceVariant.NtXent);
    }

    [Fact]
    public void Composites_carry_weights_and_distinct_term_names()
    {
        var c = (CompositeObjective)Build("mse + 0.5*weighted-contrastive + 0.25*mse(scoreScale=2)");
        c.Terms.Select(t => t.Name).Should().Equal("mse", "weighted-contrastive", "mse#2");
        c.Terms.Select(t => t.Weight).Should().Equal(1, 0.5, 0.25);
        ((MseScoreRegression)c.Terms[2].Objective).Options.ScoreScale.Should().Be(2f);
        ((MseScoreRegression)c.Terms[0].Objective).Options.ScoreScale.Should().Be(Context.CohortStatistics.ScoreScale is var s ? (float)s : 0);

        var single = (CompositeObjective)Build("2*supcon");
        single.Terms.Should().ContainSingle().Which.Weight.Should().Be(2);
        Build("1*supcon").Should().BeOfType<SupConLoss>();
    }

    [Fact]
    public void An_objective_registered_only_in_the_registry_builds_with_and_without_options()
    {
        var registry = ObjectiveRegistry.CreateDefault();
        registry.Register<ToyOptions>("toy", o => new ToyObjective(o));
        registry.OptionsTypeOf("TOY").Should().Be(typeof(ToyOptions));

        ((ToyObjective)Build("toy", registry: registry)).Options.Should().BeNull("no recipe and no overrides: the registry's own defaults");
        ObjectiveRecipes.Default.ResolveOptions(new ObjectiveSpecTerm("toy"), Context, registry).Should().BeNull();

        var built = (ToyObjective)Build("toy(scale=3, mode=doubled, power=4, cap=0.5)", registry: registry);
        built.Options.Should().Be(new ToyOptions { Scale = 3, Mode = ToyMode.Doubled, Power = 4, Cap = 0.5 });
        ((ToyObjective)Build("toy(cap=null)", registry: registry)).Options!.Cap.Should().BeNull();

        var composite = (CompositeObjective)Build("toy(scale=2)+toy", registry: registry);
        composite.Terms.Select(t => t.Name).Should().Equal("toy", "toy#2");
        ((ToyObjective)composite.Terms[1].Objective).Options.Should().BeNull();
    }

    [Fact]
    public void Options_that_cannot_be_set_from_text_are_refused_and_left_out_of_the_list()
    {
        var registry = ObjectiveRegistry.CreateDefault();
        registry.Register<ToyOptions>("toy", o => new ToyObjective(o));
        var ex = Assert.Throws<ObjectiveSpecException>(() => Build("toy(hook=x)", registry: registry));
        ex.Message.Should().Be("Objective spec 'toy(hook=x)' term 'toy' option 'hook' (ToyOptions.Hook, of type Func<Double, Double>) cannot be set from text; set it in code. The options that can be set are: cap, mode, power, scale.");
        Assert.Throws<ObjectiveSpecException>(() => Build("toy(items=1)", registry: registry)).Message.Should().Contain("ToyOptions.Items, of type IReadOnlyList<Int32>");
        Assert.Throws<ObjectiveSpecException>(() => Build("weighted-contrastive(customGapFunction=sqrt)")).Message
            .Should().Contain("option 'customGapFunction' (WeightedContrastiveOptions.CustomGapFunction, of type Func<Double, Double>) cannot be set from text");
    }

    [Fact]
    public void An_unknown_option_names_the_spec_term_and_option_and_lists_the_settable_ones()
    {
        var ex = Assert.Throws<ObjectiveSpecException>(() => Build("mse + weighted-contrastive(marginByGapp=true)"));
        ex.Message.Should().Be("Objective spec 'mse + weighted-contrastive(marginByGapp=true)' term 'weighted-contrastive' has the unknown option 'marginByGapp'; " +
            "the options of weighted-contrastive (WeightedContrastiveOptions) that can be set are: distance, gapFunction, gapScale, interPatientOnly, margin, " +
            "marginByGap, marginSlope, normalizeWeights, positiveThreshold, positivesFromPairs, reduction, targetDistance, useProvidedPairs, weightByGap.");
        (ex.Spec, ex.Term, ex.Option).Should().Be(("mse + weighted-contrastive(marginByGapp=true)", "weighted-contrastive", "marginByGapp"));
    }

    [Theory]
    [InlineData("weighted-contrastive(marginByGap=yes)", "option 'marginByGap' has the value 'yes', which is not true or false.")]
    [InlineData("supcon(temperature=fast)", "option 'temperature' has the value 'fast', which is not a number (Single, invariant culture, e.g. 0.5 or 1e-2).")]
    [InlineData("supcon(temperature=0,5)", "expected an option name")]
    [InlineData("triplet(selection=hardest)", "option 'selection' has the value 'hardest', which is not one of BatchAll, BatchHard, SemiHard, Provided (case-insensitive).")]
    [InlineData("triplet(selection=1)", "option 'selection' has the value '1', which is not one of BatchAll")]
    [InlineData("mse(initSeed=-1)", "option 'initSeed' has the value '-1', which is not an integer (UInt64).")]
    [InlineData("mse(embeddingDimension=2.5)", "option 'embeddingDimension' has the value '2.5', which is not an integer (Int32).")]
    public void An_unparsable_value_names_the_option_the_value_and_the_expected_type(string spec, string message)
    {
        var ex = Assert.Throws<ObjectiveSpecException>(() => Build(spec));
        ex.Message.Should().Contain($"'{spec}'").And.Contain(message);
    }

    [Fact]
    public void Validation_errors_of_the_options_are_wrapped_naming_the_spec_and_term()
    {
        var ex = Assert.Throws<ObjectiveSpecException>(() => Build("mse+supcon(temperature=0)"));
        ex.Message.Should().StartWith("Objective spec 'mse + supcon(temperature=0)' term 'supcon' has invalid options: SupConOptions.Temperature must be a finite number > 0, got 0.");
        ex.InnerException.Should().BeOfType<ArgumentOutOfRangeException>();
        ex.Option.Should().Be("Temperature");
        Assert.Throws<ObjectiveSpecException>(() => Build("weighted-contrastive(weightByGap=false,marginByGap=false)")).Message
            .Should().Contain("term 'weighted-contrastive' has invalid options: WeightedContrastiveOptions: at least one of WeightByGap and MarginByGap must be true");
        Assert.Throws<ObjectiveSpecException>(() => Build("y-aware(sigma=nan)")).Message.Should().Contain("YAwareOptions.Sigma must be a finite number > 0, got NaN");
    }

    [Fact]
    public void Unknown_names_and_composite_as_a_name_are_refused()
    {
        var ex = Assert.Throws<ObjectiveSpecException>(() => Build("mse+msee"));
        ex.Message.Should().Be("Objective spec 'mse + msee' term 'msee': no recipe or objective is registered as 'msee'. Known: contrastive, infonce, mse, mse-within-patient, ntxent, pml-contrastive, pml-triplet, rnc, supcon, triplet, weighted-contrastive, weighted-ranking, y-aware.");
        ex.Term.Should().Be("msee");
        Assert.Throws<ObjectiveSpecException>(() => Build("composite")).Message.Should().Contain("a composite is written as terms joined by '+'");
        var noComposite = new ObjectiveRegistry();
        noComposite.Register<SupConOptions>("supcon", o => new SupConLoss(o));
        Build("supcon", registry: noComposite).Should().BeOfType<SupConLoss>();
        Assert.Throws<ObjectiveSpecException>(() => Build("supcon+supcon", registry: noComposite)).Message.Should().Contain("needs a 'composite' objective, but the registry has none");
    }

    [Fact]
    public void A_replaced_registry_entry_is_what_the_spec_builds_with()
    {
        var registry = ObjectiveRegistry.CreateDefault();
        var seen = new List<MseOptions?>();
        registry.Register<MseOptions>("mse", o => { seen.Add(o); return new MseScoreRegression(o!); });
        Build("mse", registry: registry);
        Build("0.5*mse(scoreScale=3)+supcon", registry: registry);
        seen.Should().HaveCount(2);
        seen[0].Should().Be(((MseScoreRegression)Build("mse")).Options);
        seen[1]!.ScoreScale.Should().Be(3f);
    }

    [Fact]
    public void Label_only_objectives_build_on_a_cohort_without_scores_and_score_objectives_name_themselves()
    {
        var stats = CohortStatistics.FromDataset(SpecCohorts.LabelOnly());
        stats.HasScores.Should().BeFalse();
        var context = new ObjectiveContext(D, Seed, stats);
        Build("supcon", context).Should().BeOfType<SupConLoss>();
        Build("contrastive", context).Should().BeOfType<ContrastiveLoss>();
        Build("triplet(selection=batchall)", context).Should().BeOfType<TripletLoss>();
        Build("infonce", context).Should().BeOfType<InfoNceLoss>();
        Build("supcon+0.5*triplet", context).Should().BeOfType<CompositeObjective>();
        foreach (var name in new[] { "mse", "weighted-contrastive", "y-aware" })
        {
            // From a dataset: a data error naming the first scan and the objective.
            var ex = Assert.Throws<Learner.Data.MissingScoreException>(() => Build($"supcon+{name}", context));
            ex.Message.Should().Contain(SpecCohorts.LabelOnly().Scans[0].Id).And.Contain($"objective '{name}', whose defaults scale from the training cohort's health scores");
            // Without a dataset behind the statistics: the spec error.
            var bare = new ObjectiveContext(D, Seed, CohortStatistics.LabelsOnly(3));
            var spec = Assert.Throws<ObjectiveSpecException>(() => Build($"supcon+{name}", bare));
            spec.Message.Should().Contain($"Objective spec 'supcon + {name}' term '{name}' cannot be built for this cohort: Objective '{name}' scales its defaults from the training cohort's health scores, but no training scan has a finite score");
            spec.InnerException.Should().BeOfType<InvalidOperationException>();
            spec.Term.Should().Be(name);
        }
    }

    [Fact]
    public void Recipes_can_be_added_to_a_copy_but_not_to_the_shared_default()
    {
        var recipes = ObjectiveRecipes.CreateDefault();
        var registry = ObjectiveRegistry.CreateDefault();
        registry.Register<ToyOptions>("toy", o => new ToyObjective(o));
        recipes.Register("toy", c => new ToyOptions { Scale = (float)c.CohortStatistics.ScoreScale });
        recipes.Register("learner", "weighted-contrastive", c => new WeightedContrastiveOptions { MarginByGap = true, GapScale = (float)c.CohortStatistics.ScoreScale });
        recipes.Names.Should().Contain(new[] { "toy", "learner", "mse" });

        ((ToyObjective)Build("toy(power=3)", registry: registry, recipes: recipes)).Options.Should().Be(new ToyOptions { Scale = (float)Context.CohortStatistics.ScoreScale, Power = 3 });
        var learner = (CompositeObjective)Build("mse+learner(marginSlope=1)", recipes: recipes);
        learner.Terms[1].Name.Should().Be("learner");
        var options = ((WeightedContrastiveLoss)learner.Terms[1].Objective).Options;
        (options.MarginByGap, options.MarginSlope).Should().Be((true, 1f));

        Assert.Throws<InvalidOperationException>(() => ObjectiveRecipes.Default.Register("toy", _ => null)).Message.Should().Contain("'toy'");
        Assert.Throws<ArgumentException>(() => recipes.Register("bad name", _ => null)).Message.Should().Contain("'bad name'");
        ObjectiveRecipes.Default.Contains("toy").Should().BeFalse();

        recipes.Register("mse", _ => new SupConOptions());
        Assert.Throws<ObjectiveSpecException>(() => Build("mse", recipes: recipes)).Message.Should().Contain("its recipe gave SupConOptions, but 'mse' takes MseOptions");
        recipes.Register("ghost", "nowhere", _ => null);
        Assert.Throws<ObjectiveSpecException>(() => Build("ghost", recipes: recipes)).Message.Should().Contain("its recipe builds 'nowhere', which the registry does not have");
    }

    [Fact]
    public void Validate_checks_names_and_options_without_a_cohort()
    {
        ObjectiveSpec.Parse("mse+0.5*weighted-contrastive(marginByGap=true)").Validate(ObjectiveRecipes.Default, Registry);
        ObjectiveSpec.Parse("y-aware(sigma=2)").Validate(ObjectiveRecipes.Default, Registry);
        Assert.Throws<ObjectiveSpecException>(() => ObjectiveSpec.Parse("mse(scoreScale=0)").Validate(ObjectiveRecipes.Default, Registry))
            .Message.Should().Contain("term 'mse' has invalid options: MseOptions.ScoreScale must be a finite number > 0, got 0");
        Assert.Throws<ObjectiveSpecException>(() => ObjectiveSpec.Parse("toy").Validate(ObjectiveRecipes.Default, Registry))
            .Message.Should().Contain("no recipe or objective is registered as 'toy'");
        Assert.Throws<ObjectiveSpecException>(() => ObjectiveSpec.Parse("supcon(temprature=1)").Validate(ObjectiveRecipes.Default, Registry))
            .Message.Should().Contain("unknown option 'temprature'");
        ObjectiveContext.ForValidation().Should().Be(new ObjectiveContext(8, 0, CohortStatistics.FromMoments(0, 1)));
    }

    [Fact]
    public void OptionsTypeOf_names_the_unknown_objective()
    {
        Registry.OptionsTypeOf("weighted-contrastive").Should().Be(typeof(WeightedContrastiveOptions));
        Registry.TryGetOptionsType("nope", out var type).Should().BeFalse();
        type.Should().BeNull();
        Assert.Throws<KeyNotFoundException>(() => Registry.OptionsTypeOf("nope")).Message.Should().Contain("'nope'").And.Contain("mse");
    }
}
