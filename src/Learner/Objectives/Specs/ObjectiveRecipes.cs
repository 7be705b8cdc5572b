using Learner.Objectives.Options;

namespace Learner.Objectives;

/// <summary>
/// The one registry of objective recipes: for each name, the objective it builds (a name of an
/// <see cref="ObjectiveRegistry"/>) and its defaults, scaled from the training cohort (<see cref="ObjectiveContext"/>).
/// <see cref="Build"/> turns an <see cref="ObjectiveSpec"/> into an objective through whichever registry it is given (the
/// managed one, or a backend's with the same names and options types): each term starts from its recipe's defaults — or,
/// for a registry name without a recipe, from a default-constructed options record — and then takes the term's option
/// overrides, and the result is validated. One term of weight 1 builds the plain objective; anything else builds the
/// registry's "composite", with repeated names told apart as <c>mse</c>, <c>mse#2</c>, ….
/// <para>The built-in recipes (<see cref="CreateDefault"/>), with s = the training cohort's score standard deviation
/// (1 when it is 0) and μ its mean score:</para>
/// <list type="bullet">
/// <item><c>mse</c>: EmbeddingDimension = D, ScoreOffset = μ, ScoreScale = s, InitSeed = the context's seed (needs scores).</item>
/// <item><c>mse-within-patient</c>: <c>mse</c> with the within-patient term, WithinPatientWeight = λ =
/// <see cref="WithinPatientWeight"/> (needs scores and patient ids).</item>
/// <item><c>weighted-contrastive</c>: PositiveThreshold = 0.1·s, GapScale = s, UseProvidedPairs = true, MarginByGap = true,
/// m₀ = 0.25, α = 0.5 (the margin m₀ + α·Δ/s grows with the score gap; m₀ and α as the validation search on the
/// development LUS cohort selected them, docs/results.md; needs scores).</item>
/// <item><c>weighted-ranking</c>: the weighted contrastive loss in its ranking form — every inter-patient cosine distance
/// regressed to the target α·Δ/s (TargetDistance = true, MarginByGap = true, WeightByGap = false, m₀ = 0, α = 0.125 as
/// selected by the same search), positives (Δ ≤ 0.1·s) to 0; needs scores.</item>
/// <item><c>contrastive</c>: InterPatientOnly = true, UseProvidedPairs = true.</item>
/// <item><c>y-aware</c>: Sigma = 0.25·s (needs scores).</item>
/// <item><c>triplet</c>, <c>infonce</c>, <c>supcon</c>, <c>rnc</c>, <c>ntxent</c>: the options' own defaults.</item>
/// <item><c>pml-contrastive</c>, <c>pml-triplet</c>: the registry's "contrastive" and "triplet" with
/// pytorch-metric-learning's defaults (<see cref="ContrastiveOptions.PytorchMetricLearning"/>,
/// <see cref="TripletOptions.PytorchMetricLearning"/>).</item>
/// </list>
/// </summary>
public sealed class ObjectiveRecipes
{
    private readonly Dictionary<string, Recipe> _recipes = new(StringComparer.OrdinalIgnoreCase);
    private readonly bool _readOnly;

    private sealed record Recipe(string Objective, Func<ObjectiveContext, ObjectiveOptions?> Defaults);

    /// <summary>The paper's recipe, MSE + λ·weighted contrastive, with the weight λ = 3 that the validation search on the
    /// development LUS cohort selected (four trials per objective, the same budget as MSE; docs/results.md, "Every
    /// objective after its own search"); the term's margin m₀ = 0.25 and slope α = 0.5 are the recipe's defaults. The
    /// same search selected <see cref="PaperRecipeLearningRate"/> for it. On 28 validation patients the composites'
    /// trials scored within 0.02 of each other and of MSE, so these are the search's choice, not a proven optimum.</summary>
    public const string PaperRecipe = "mse+3*weighted-contrastive";

    /// <summary>The peak learning rate the validation search selected for <see cref="PaperRecipe"/> (3·10⁻³; MSE's
    /// selection is the library default, 6·10⁻³). Use it with <see cref="Experiments.ExperimentOptions.ObjectiveLearningRates"/>.</summary>
    public const double PaperRecipeLearningRate = 3e-3;

    /// <summary>λ of the recipe <c>mse-within-patient</c> (<see cref="MseOptions.WithinPatientWeight"/>): 16, as the
    /// validation search on the development LUS cohort selected it (four trials from λ ∈ {16, 64, 256} × the four
    /// learning rates, the same budget as every objective; docs/results.md, "The within-patient term"), with
    /// <see cref="WithinPatientLearningRate"/>. The trials scored within 0.035 of each other.</summary>
    public const double WithinPatientWeight = 16;

    /// <summary>The peak learning rate the same search selected for <c>mse-within-patient</c> (3·10⁻³).</summary>
    public const double WithinPatientLearningRate = 3e-3;

    /// <summary>
    /// The peak learning rate that the library's validation searches selected for each objective spec they selected
    /// (development LUS cohort, four trials of the same 120-step budget per objective; docs/results.md, "Every objective
    /// after its own search" and "The within-patient term"), keyed by the spec's canonical text: <c>mse</c> 6·10⁻³ (the
    /// library default), <see cref="PaperRecipe"/> and <c>mse-within-patient</c> 3·10⁻³, <c>mse + 0.3*weighted-ranking</c>
    /// 6·10⁻³, <c>weighted-contrastive(marginSlope=1)</c> 1.5·10⁻³, <c>y-aware(temperature=0.1)</c> and
    /// <c>rnc(temperature=2)</c> 1.2·10⁻², and the within-patient term combined with the weighted contrastive one at
    /// 3·10⁻³. Each is listed as the search's results spell it (every searched option written out) and with the options
    /// that equal the recipe's defaults left out. An experiment uses them with
    /// <see cref="Experiments.ExperimentOptions.UseSelectedLearningRates"/>; a spec not listed (another weight, option
    /// value or spelling) was not selected and has no entry.
    /// </summary>
    public static IReadOnlyDictionary<string, double> SelectedLearningRates { get; } = SelectedRates();

    private static IReadOnlyDictionary<string, double> SelectedRates()
    {
        // Each selection under two spellings: as the search's results name it (every searched option written out) and
        // with the options that equal the recipe's defaults left out (the constants above).
        var rates = new Dictionary<string, double>();
        void Add(double rate, params string[] specs) { foreach (string spec in specs) rates.Add(Canonical(spec), rate); }
        Add(6e-3, "mse");
        Add(PaperRecipeLearningRate, PaperRecipe, "mse+3*weighted-contrastive(margin=0.25, marginSlope=0.5)");
        Add(WithinPatientLearningRate, "mse-within-patient", "mse-within-patient(withinPatientWeight=16)");
        Add(6e-3, "mse+0.3*weighted-ranking", "mse+0.3*weighted-ranking(marginSlope=0.125)");
        Add(1.5e-3, "weighted-contrastive(marginSlope=1)", "weighted-contrastive(margin=0.25, marginSlope=1)");
        Add(1.2e-2, "y-aware(temperature=0.1)");
        Add(1.2e-2, "rnc(temperature=2)");
        Add(3e-3, "mse-within-patient(withinPatientWeight=256)+0.3*weighted-contrastive(margin=0.5)",
            "mse-within-patient(withinPatientWeight=256)+0.3*weighted-contrastive(margin=0.5, marginSlope=0.5)");
        return rates.AsReadOnly();
    }

    /// <summary>The peak learning rate the library's validation search selected for <paramref name="spec"/> (see
    /// <see cref="SelectedLearningRates"/>; the spec is compared in its canonical form), or null when no search selected it.</summary>
    /// <param name="spec">An objective spec.</param>
    /// <returns>The selected rate, or null.</returns>
    public static double? SelectedLearningRate(ObjectiveSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        // By spec equality (option names compare case-insensitively), as ObjectiveLearningRates keys do.
        foreach (var (key, rate) in SelectedLearningRates)
            if (ObjectiveSpec.Parse(key).Equals(spec)) return rate;
        return null;
    }

    private static string Canonical(string spec) => ObjectiveSpec.Parse(spec).ToString();

    /// <summary>An empty set of recipes: every spec name then resolves to the registry's options defaults.</summary>
    public ObjectiveRecipes() { }

    private ObjectiveRecipes(bool readOnly) { _readOnly = readOnly; }

    /// <summary>The built-in recipes, shared and read-only (<see cref="Register(string, Func{ObjectiveContext, ObjectiveOptions?})"/>
    /// throws); use <see cref="CreateDefault"/> for a copy that takes more.</summary>
    public static ObjectiveRecipes Default { get; } = AddBuiltIns(new ObjectiveRecipes(readOnly: true));

    /// <summary>A new set holding the built-in recipes (see the type's summary), to which more can be registered.</summary>
    /// <returns>The recipes.</returns>
    public static ObjectiveRecipes CreateDefault() => AddBuiltIns(new ObjectiveRecipes());

    private static ObjectiveRecipes AddBuiltIns(ObjectiveRecipes r)
    {
        r.Add("mse", "mse", c => Mse(c, "mse"));
        r.Add("mse-within-patient", "mse", c => Mse(c, "mse-within-patient") with { WithinPatientWeight = WithinPatientWeight });
        r.Add("weighted-contrastive", "weighted-contrastive", c =>
        {
            float scale = (float)Scores(c, "weighted-contrastive").ScoreScale;
            return new WeightedContrastiveOptions { UseProvidedPairs = true, PositiveThreshold = 0.1f * scale, GapScale = scale, MarginByGap = true, Margin = 0.25f, MarginSlope = 0.5f };
        });
        r.Add("weighted-ranking", "weighted-contrastive", c =>
        {
            float scale = (float)Scores(c, "weighted-ranking").ScoreScale;
            return new WeightedContrastiveOptions
            {
                UseProvidedPairs = true, PositiveThreshold = 0.1f * scale, GapScale = scale,
                WeightByGap = false, MarginByGap = true, TargetDistance = true, Margin = 0f, MarginSlope = 0.125f,
            };
        });
        r.Add("contrastive", "contrastive", _ => new ContrastiveOptions { UseProvidedPairs = true, InterPatientOnly = true });
        r.Add("y-aware", "y-aware", c => new YAwareOptions { Sigma = 0.25f * (float)Scores(c, "y-aware").ScoreScale });
        foreach (string name in new[] { "triplet", "infonce", "supcon", "rnc", "ntxent" })
            r.Add(name, name, _ => null);
        r.Add("pml-contrastive", "contrastive", _ => ContrastiveOptions.PytorchMetricLearning);
        r.Add("pml-triplet", "triplet", _ => TripletOptions.PytorchMetricLearning);
        return r;
    }

    private static MseOptions Mse(ObjectiveContext c, string recipe)
    {
        var s = Scores(c, recipe);
        return new MseOptions { EmbeddingDimension = c.EmbeddingDimension, ScoreOffset = (float)s.ScoreMean, ScoreScale = (float)s.ScoreScale, InitSeed = c.Seed };
    }

    private static CohortStatistics Scores(ObjectiveContext c, string objective)
    {
        c.CohortStatistics.RequireScores(objective);
        return c.CohortStatistics;
    }

    /// <summary>The recipe names.</summary>
    public IReadOnlyCollection<string> Names => _recipes.Keys;

    /// <summary>Whether <paramref name="name"/> has a recipe (case-insensitive).</summary>
    /// <param name="name">The name.</param>
    /// <returns>True if it has one.</returns>
    public bool Contains(string name) => name is not null && _recipes.ContainsKey(name);

    /// <summary>Registers (or replaces) the recipe of the registry objective <paramref name="name"/>.</summary>
    /// <param name="name">The objective's registry name, which is also the spec name (a letter, then letters, digits, '-').</param>
    /// <param name="defaults">Its defaults for a context; null (the function's result) for the registry's defaults. It
    /// may throw <see cref="InvalidOperationException"/> or <see cref="ArgumentException"/> when the cohort does not suit
    /// the objective (see <see cref="CohortStatistics.RequireScores"/>).</param>
    /// <exception cref="ArgumentException">The name is malformed.</exception>
    /// <exception cref="InvalidOperationException">This is the shared, read-only <see cref="Default"/>.</exception>
    public void Register(string name, Func<ObjectiveContext, ObjectiveOptions?> defaults) => Register(name, name, defaults);

    /// <summary>Registers (or replaces) a recipe named <paramref name="name"/> that builds the registry objective
    /// <paramref name="objective"/> with its own defaults (an alias such as "learner" for a tuned weighted contrastive).</summary>
    /// <param name="name">The spec name (a letter, then letters, digits, '-').</param>
    /// <param name="objective">The registry name it builds.</param>
    /// <param name="defaults">Its defaults for a context (null result: the registry's defaults).</param>
    /// <exception cref="ArgumentException">A name is malformed.</exception>
    /// <exception cref="InvalidOperationException">This is the shared, read-only <see cref="Default"/>.</exception>
    public void Register(string name, string objective, Func<ObjectiveContext, ObjectiveOptions?> defaults)
    {
        if (_readOnly)
            throw new InvalidOperationException($"ObjectiveRecipes.Default is shared and read-only; register '{name}' on ObjectiveRecipes.CreateDefault() instead.");
        Add(name, objective, defaults);
    }

    private void Add(string name, string objective, Func<ObjectiveContext, ObjectiveOptions?> defaults)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(objective);
        ArgumentNullException.ThrowIfNull(defaults);
        if (!ObjectiveSpecTerm.IsName(name))
            throw new ArgumentException($"Recipe name '{name}' is invalid: expected a letter followed by letters, digits or '-'.", nameof(name));
        _recipes[name] = new Recipe(objective, defaults);
    }

    /// <summary>Builds <paramref name="spec"/>: resolves each term's options (<see cref="ResolveOptions"/>) and creates
    /// the plain objective (one term of weight 1) or the registry's "composite".</summary>
    /// <param name="spec">The spec.</param>
    /// <param name="context">The embedding dimension, seed and training-cohort statistics.</param>
    /// <param name="registry">The objectives to build with (the managed registry or a backend's).</param>
    /// <returns>A new objective.</returns>
    /// <exception cref="ObjectiveSpecException">A name or option is unknown, a value does not convert or validate, an
    /// objective needs scores the cohort lacks, or the registry cannot build it; the message names the spec and term.</exception>
    public IObjective Build(ObjectiveSpec spec, ObjectiveContext context, ObjectiveRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(registry);
        var resolved = ResolveAll(spec, context, registry);
        string text = spec.ToString();
        if (!spec.IsComposite)
            return Create(registry, resolved[0].Objective, resolved[0].Options, text, spec.Terms[0].Name);
        if (!registry.Contains("composite"))
            throw new ObjectiveSpecException($"Objective spec '{text}' has {spec.Terms.Count} term(s) with weights, which needs a 'composite' objective, but the registry has none.", text, null, null, null);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var terms = new List<CompositeTermOptions>(spec.Terms.Count);
        for (int i = 0; i < spec.Terms.Count; i++)
        {
            var term = spec.Terms[i];
            int n = counts[term.Name] = counts.GetValueOrDefault(term.Name) + 1;
            terms.Add(new CompositeTermOptions(resolved[i].Objective, term.Weight, resolved[i].Options, n == 1 ? term.Name : $"{term.Name}#{n}"));
        }
        return Create(registry, "composite", new CompositeOptions { Terms = terms }, text, null);
    }

    private static IObjective Create(ObjectiveRegistry registry, string objective, ObjectiveOptions? options, string spec, string? term)
    {
        try
        {
            return registry.Create(objective, options);
        }
        catch (Exception e) when (e is ArgumentException or KeyNotFoundException && e is not ObjectiveSpecException)
        {
            throw new ObjectiveSpecException($"Objective spec '{spec}'{(term is null ? "" : $" term '{term}'")}: the registry could not create '{objective}': {e.Message}", spec, null, term, null, e);
        }
    }

    /// <summary>The options term <paramref name="term"/> builds with: its recipe's defaults for
    /// <paramref name="context"/> (or a default-constructed options record of the registry's type for that name, when the
    /// name has no recipe), with the term's overrides applied, validated. Null when the name has no recipe defaults and
    /// the term no overrides: the registry's own defaults.</summary>
    /// <param name="term">The term.</param>
    /// <param name="context">The embedding dimension, seed and training-cohort statistics.</param>
    /// <param name="registry">The objectives the term will be built with (for the options type).</param>
    /// <returns>The options, or null for the registry's defaults.</returns>
    /// <exception cref="ObjectiveSpecException">See <see cref="Build"/>.</exception>
    public ObjectiveOptions? ResolveOptions(ObjectiveSpecTerm term, ObjectiveContext context, ObjectiveRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(term);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(registry);
        return Resolve(term, context, registry, term.ToString()).Options;
    }

    internal (string Objective, ObjectiveOptions? Options)[] ResolveAll(ObjectiveSpec spec, ObjectiveContext context, ObjectiveRegistry registry)
    {
        string text = spec.ToString();
        return spec.Terms.Select(t => Resolve(t, context, registry, text)).ToArray();
    }

    private (string Objective, ObjectiveOptions? Options) Resolve(ObjectiveSpecTerm term, ObjectiveContext context, ObjectiveRegistry registry, string spec)
    {
        string name = term.Name;
        if (name == "composite")
            throw new ObjectiveSpecException($"Objective spec '{spec}' term '{name}': a composite is written as terms joined by '+' (e.g. 'mse+0.5*weighted-contrastive'), not by name.", spec, null, name, null);
        _recipes.TryGetValue(name, out var recipe);
        string objective = recipe?.Objective ?? name;
        if (!registry.TryGetOptionsType(objective, out var optionsType))
        {
            string known = string.Join(", ", _recipes.Keys.Concat(registry.Names).Where(n => !n.Equals("composite", StringComparison.OrdinalIgnoreCase))
                .Select(n => n.ToLowerInvariant()).Distinct().Order(StringComparer.Ordinal));
            throw new ObjectiveSpecException(recipe is null
                ? $"Objective spec '{spec}' term '{name}': no recipe or objective is registered as '{name}'. Known: {known}."
                : $"Objective spec '{spec}' term '{name}': its recipe builds '{objective}', which the registry does not have. Known: {known}.", spec, null, name, null);
        }

        ObjectiveOptions? options;
        try
        {
            options = recipe?.Defaults(context);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException && e is not ObjectiveSpecException)
        {
            throw new ObjectiveSpecException($"Objective spec '{spec}' term '{name}' cannot be built for this cohort: {e.Message}", spec, null, name, null, e);
        }
        if (options is not null && !optionsType.IsInstanceOfType(options))
            throw new ObjectiveSpecException($"Objective spec '{spec}' term '{name}': its recipe gave {options.GetType().Name}, but '{objective}' takes {optionsType.Name}.", spec, null, name, null);
        if (term.Options.Count == 0 && options is null) return (objective, null);
        if (options is null)
        {
            if (optionsType.IsAbstract || optionsType.GetConstructor(Type.EmptyTypes) is null)
                throw new ObjectiveSpecException($"Objective spec '{spec}' term '{name}': its options type {optionsType.Name} has no public parameterless constructor, so options cannot be set from a spec.", spec, null, name, null);
            options = (ObjectiveOptions)Activator.CreateInstance(optionsType)!;
        }
        if (term.Options.Count > 0) options = OptionOverrides.Apply(options, term.Options, spec, name);
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ObjectiveSpecException($"Objective spec '{spec}' term '{name}' has invalid options: {e.Message}", spec, null, name, e.ParamName, e);
        }
        return (objective, options);
    }
}
