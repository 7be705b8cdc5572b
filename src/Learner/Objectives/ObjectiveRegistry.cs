using Learner.Objectives.Options;

namespace Learner.Objectives;

/// <summary>
/// Objectives by name, for configuration files and dependency injection. The default registry knows "mse",
/// "contrastive", "weighted-contrastive", "triplet", "infonce", "supcon", "ntxent", "rnc", "y-aware" and "composite";
/// <see cref="Register{TOptions}"/> adds more. Names are case-insensitive.
/// </summary>
public sealed class ObjectiveRegistry
{
    private readonly Dictionary<string, (Type OptionsType, Func<ObjectiveOptions?, IObjective> Factory)> _factories = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>An empty registry (see <see cref="CreateDefault"/> for one with the built-in objectives).</summary>
    public ObjectiveRegistry() { }

    /// <summary>A registry with every built-in objective.</summary>
    /// <returns>The registry.</returns>
    public static ObjectiveRegistry CreateDefault()
    {
        var r = new ObjectiveRegistry();
        r.Register<MseOptions>("mse", o => new MseScoreRegression(o ?? throw new ArgumentException("The 'mse' objective needs MseOptions with EmbeddingDimension set (its linear head has D inputs).", "options")));
        r.Register<ContrastiveOptions>("contrastive", o => new ContrastiveLoss(o));
        r.Register<WeightedContrastiveOptions>("weighted-contrastive", o => new WeightedContrastiveLoss(o));
        r.Register<TripletOptions>("triplet", o => new TripletLoss(o));
        r.Register<InfoNceOptions>("infonce", o => new InfoNceLoss(o));
        r.Register<SupConOptions>("supcon", o => new SupConLoss(o));
        r.Register<NtXentOptions>("ntxent", o => new NtXentLoss(o));
        r.Register<RankNContrastOptions>("rnc", o => new RankNContrastLoss(o));
        r.Register<YAwareOptions>("y-aware", o => new YAwareInfoNceLoss(o));
        r.Register<CompositeOptions>("composite", o =>
        {
            if (o is null) throw new ArgumentException("The 'composite' objective needs CompositeOptions with its terms.", "options");
            o.Validate();
            return new CompositeObjective(o.Terms.Select(t => new CompositeTerm(t.Name ?? t.Objective, r.Create(t.Objective, t.Options), t.Weight)));
        });
        return r;
    }

    /// <summary>The registered names.</summary>
    public IReadOnlyCollection<string> Names => _factories.Keys;

    /// <summary>Whether <paramref name="name"/> is registered.</summary>
    /// <param name="name">The name.</param>
    /// <returns>True if registered.</returns>
    public bool Contains(string name) => _factories.ContainsKey(name);

    /// <summary>The options type the factory registered as <paramref name="name"/> takes (what
    /// <see cref="Create"/> accepts for that name, e.g. <see cref="MseOptions"/> for "mse").</summary>
    /// <param name="name">The name (case-insensitive).</param>
    /// <returns>The options type.</returns>
    /// <exception cref="KeyNotFoundException">The name is not registered (the message lists the known names).</exception>
    public Type OptionsTypeOf(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return TryGetOptionsType(name, out var type)
            ? type
            : throw new KeyNotFoundException($"No objective is registered as '{name}'. Known: {string.Join(", ", _factories.Keys.Order(StringComparer.Ordinal))}.");
    }

    /// <summary>The options type the factory registered as <paramref name="name"/> takes, if registered.</summary>
    /// <param name="name">The name (case-insensitive).</param>
    /// <param name="optionsType">The options type, or null when <paramref name="name"/> is not registered.</param>
    /// <returns>True if registered.</returns>
    public bool TryGetOptionsType(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Type? optionsType)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_factories.TryGetValue(name, out var entry)) { optionsType = entry.OptionsType; return true; }
        optionsType = null;
        return false;
    }

    /// <summary>Registers (or replaces) an objective factory.</summary>
    /// <typeparam name="TOptions">The options type the factory takes.</typeparam>
    /// <param name="name">The name.</param>
    /// <param name="factory">Creates the objective from options (null: defaults).</param>
    public void Register<TOptions>(string name, Func<TOptions?, IObjective> factory) where TOptions : ObjectiveOptions
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        _factories[name] = (typeof(TOptions), o => factory((TOptions?)o));
    }

    /// <summary>Creates the objective registered as <paramref name="name"/>.</summary>
    /// <param name="name">The name.</param>
    /// <param name="options">Its options (of the registered type), or null for the defaults.</param>
    /// <returns>A new objective instance.</returns>
    /// <exception cref="KeyNotFoundException">The name is not registered (the message lists the known names).</exception>
    /// <exception cref="ArgumentException">The options have the wrong type, or are invalid (named).</exception>
    public IObjective Create(string name, ObjectiveOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!_factories.TryGetValue(name, out var entry))
            throw new KeyNotFoundException($"No objective is registered as '{name}'. Known: {string.Join(", ", _factories.Keys.Order(StringComparer.Ordinal))}.");
        if (options is not null && !entry.OptionsType.IsInstanceOfType(options))
            throw new ArgumentException($"Objective '{name}' takes {entry.OptionsType.Name}, but was given {options.GetType().Name}.", nameof(options));
        return entry.Factory(options);
    }
}
