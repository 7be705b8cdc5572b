using Learner.Data;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Objectives;
using Learner.Sampling;
using Learner.Training;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

// In the container's namespace, as Microsoft.Extensions extensions are: `using Microsoft.Extensions.DependencyInjection;`
// finds AddLearner without a Learner using.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Learner with a Microsoft.Extensions.DependencyInjection container.</summary>
public static class LearnerServiceCollectionExtensions
{
    /// <summary>
    /// Registers the experiment settings (<see cref="ExperimentOptions"/>, validated when first resolved and at host start
    /// with messages naming the invalid option), the objectives by name (<c>AddLearnerObjectives</c>), an encoder factory
    /// (<see cref="Func{TResult}"/> of <see cref="IEncoder"/> built from <see cref="ExperimentOptions.Encoder"/> by the registered
    /// <see cref="ComputeBackend"/>, <see cref="ComputeBackend.Managed"/> unless a backend package registered its own), a batch
    /// sampler factory (<see cref="Func{T, TResult}"/> from <see cref="LongitudinalDataset"/> to <see cref="IBatchSampler"/>),
    /// the <see cref="PretrainerFactory"/> (with loggers from the container when it has an <see cref="ILoggerFactory"/>) and
    /// <see cref="LearnerExperiment"/>.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="configure">Adjusts the settings (e.g. from configuration).</param>
    /// <returns>A builder for the rest of the setup (<see cref="LearnerBuilder.AddObjective{TOptions}"/>,
    /// <see cref="LearnerBuilder.Configure"/>, a backend's <c>UseTorchSharp()</c>); its <see cref="LearnerBuilder.Services"/>
    /// is the container.</returns>
    public static LearnerBuilder AddLearner(this IServiceCollection services, Action<ExperimentOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<ExperimentOptions>()
            .Configure(o => configure?.Invoke(o))
            .ValidateOnStart();
        // Added once however often AddLearner is called; reports every invalid option, not only the first.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ExperimentOptions>, ExperimentOptionsValidator>());
        // The objective registry: the defaults plus every LearnerBuilder.AddObjective registration, applied when the
        // registry is first resolved, so the order of the builder's calls does not matter.
        services.TryAddSingleton(sp =>
        {
            var registry = ObjectiveRegistry.CreateDefault();
            foreach (var registration in sp.GetServices<LearnerBuilder.ObjectiveRegistration>()) registration.Apply(registry);
            return registry;
        });
        services.AddLearnerObjectives();
        services.TryAddSingleton(ComputeBackend.Managed);
        services.TryAddSingleton(ObjectiveRecipes.Default);
        services.TryAddTransient<Func<IEncoder>>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ExperimentOptions>>().Value;
            var backend = sp.GetRequiredService<ComputeBackend>();
            return () => backend.CreateEncoder(options.Encoder);
        });
        services.TryAddSingleton(sp => new PretrainerFactory(sp.GetRequiredService<IOptions<ExperimentOptions>>().Value, sp.GetService<ILoggerFactory>(), Backend(sp), sp.GetRequiredService<ObjectiveRecipes>()));
        services.TryAddTransient<Func<LongitudinalDataset, IBatchSampler>>(sp => sp.GetRequiredService<PretrainerFactory>().CreateSampler);
        services.TryAddTransient(sp => new LearnerExperiment(sp.GetRequiredService<IOptions<ExperimentOptions>>().Value, Backend(sp), sp.GetRequiredService<ObjectiveRecipes>()));
        return new LearnerBuilder(services);
    }

    /// <summary>The container's backend; with objectives added through the builder, the same encoders with the
    /// container's registry (the backend's own registry does not know them).</summary>
    private static ComputeBackend Backend(IServiceProvider sp)
    {
        var backend = sp.GetRequiredService<ComputeBackend>();
        return sp.GetServices<LearnerBuilder.ObjectiveRegistration>().Any()
            ? new ComputeBackend(backend.Name, backend.CreateEncoder, sp.GetRequiredService<ObjectiveRegistry>()) { RunsSideBySide = backend.RunsSideBySide }
            : backend;
    }

    /// <summary>
    /// Registers Learner like <see cref="AddLearner(IServiceCollection, Action{ExperimentOptions}?)"/>, with the settings
    /// bound from a configuration section (e.g. <c>builder.Configuration.GetSection("Learner")</c>). Lists in the section
    /// (<c>Objectives</c> — objective specs in the grammar of <see cref="ObjectiveSpec"/>, e.g.
    /// <c>"mse+0.5*weighted-contrastive(marginByGap=true)"</c> —, <c>Seeds</c>, <c>Search:LearningRates</c>,
    /// <c>Protocol:TestPatients</c>) replace the defaults instead of being appended to them, as the plain binder would.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="configuration">The section holding <see cref="ExperimentOptions"/>' properties.</param>
    /// <param name="configure">Further adjustments after binding, or null.</param>
    /// <returns>The builder (see <see cref="AddLearner(IServiceCollection, Action{ExperimentOptions}?)"/>).</returns>
    public static LearnerBuilder AddLearner(this IServiceCollection services, IConfiguration configuration, Action<ExperimentOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddLearner(o =>
        {
            BindExperimentOptions(configuration, o);
            configure?.Invoke(o);
        });
    }

    /// <summary>Binds <paramref name="options"/> from a configuration section (the <c>Learner</c> section of an
    /// <c>appsettings.json</c>, or a file given to <c>learner experiment --config</c>): property names as in
    /// <see cref="ExperimentOptions"/>, nested sections for <c>Pretraining</c>, <c>BatchSource</c>, <c>Protocol</c>,
    /// <c>Search</c>, <c>Encoder</c> and <c>Classifier</c>. Lists (<c>Objectives</c> — objective specs such as
    /// <c>"mse+0.5*weighted-contrastive(marginByGap=true)"</c> —, <c>Seeds</c>, <c>Search:LearningRates</c>,
    /// <c>Protocol:TestPatients</c>) replace the defaults instead of being appended to them.</summary>
    /// <param name="configuration">The section.</param>
    /// <param name="options">The options to update.</param>
    /// <exception cref="InvalidOperationException">A value does not convert to its property's type (the binder's message
    /// names the key).</exception>
    public static void BindExperimentOptions(IConfiguration configuration, ExperimentOptions options)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        var objectives = options.Objectives;
        var seeds = options.Seeds;
        var rates = options.Search.LearningRates;
        var changeThresholds = options.ChangeThresholds;
        // ChangeThresholds is immutable (built by its constructor) and read explicitly below; during the plain binding it
        // holds a placeholder instance so that the binder neither constructs one nor rejects its keys as unknown.
        options.ChangeThresholds = ChangeThresholds.Absolute(1);
        configuration.Bind(options, b => b.ErrorOnUnknownConfiguration = true);
        options.ChangeThresholds = changeThresholds;
        options.Objectives = configuration.GetSection(nameof(ExperimentOptions.Objectives)).Get<string[]>() ?? objectives;
        options.Seeds = configuration.GetSection(nameof(ExperimentOptions.Seeds)).Get<int[]>() ?? seeds;
        options.Search.LearningRates = configuration.GetSection("Search:LearningRates").Get<double[]>() ?? rates;
        if (configuration.GetSection("Protocol:TestPatients").Get<string[]>() is { } test) options.Protocol.TestPatients = test;
        // ChangeThresholds has no setters (it is built from its constructor): read its keys explicitly.
        var thresholds = configuration.GetSection(nameof(ExperimentOptions.ChangeThresholds));
        if (thresholds.Exists())
        {
            double? improvement = thresholds.GetValue<double?>(nameof(ChangeThresholds.Improvement));
            double? worsening = thresholds.GetValue<double?>(nameof(ChangeThresholds.Worsening));
            var mode = thresholds.GetValue<ThresholdMode?>(nameof(ChangeThresholds.Mode)) ?? ThresholdMode.Absolute;
            if (improvement is null && worsening is null)
                throw new InvalidOperationException($"'{thresholds.Path}' must set Improvement (and optionally Worsening and Mode), e.g. {{ \"Improvement\": 20 }}.");
            try { options.ChangeThresholds = new ChangeThresholds(improvement ?? worsening!.Value, worsening ?? improvement!.Value, mode); }
            catch (ArgumentException e) { throw new InvalidOperationException($"'{thresholds.Path}': {e.Message}", e); }
        }
    }

    /// <summary>Reports every invalid option of <see cref="ExperimentOptions"/>, not only the first: the whole options, then
    /// each section alone (so that a bad <c>Protocol</c> does not hide a bad <c>Encoder</c>), each message naming its option.</summary>
    /// <param name="registry">The container's objectives (with those added through <see cref="LearnerBuilder.AddObjective{TOptions}"/>).</param>
    /// <param name="recipes">The container's objective recipes.</param>
    private sealed class ExperimentOptionsValidator(ObjectiveRegistry registry, ObjectiveRecipes recipes) : IValidateOptions<ExperimentOptions>
    {
        public ValidateOptionsResult Validate(string? name, ExperimentOptions options)
        {
            var failures = new List<string>();
            void Check(string section, Action validate)
            {
                try { validate(); }
                catch (ArgumentException e) { failures.Add($"Learner option '{(section.Length == 0 ? e.ParamName : section + ":" + e.ParamName)}': {e.Message}"); }
            }
            Check("", () =>
            {
                if (options.Objectives is null || options.Objectives.Count == 0) throw new ArgumentException("Objectives must name at least one objective spec.", nameof(options.Objectives));
                foreach (var spec in options.Objectives) ObjectiveSpec.Parse(spec).Validate(recipes, registry);
            });
            if (options.Encoder is not null) Check("Encoder", options.Encoder.Validate);
            if (options.BatchSource is not null) Check("BatchSource", options.BatchSource.Validate);
            if (options.Protocol is not null) Check("Protocol", options.Protocol.Validate);
            if (options.Search is not null) Check("Search", options.Search.Validate);
            if (options.Classifier is not null) Check("Classifier", options.Classifier.Validate);
            if (options.Pretraining is not null) Check("Pretraining", options.Pretraining.Validate);
            // The cross-section rules (and anything the sections above missed), once, only when no section failed.
            if (failures.Count == 0) Check("", () => options.Validate(recipes, registry));
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures.Distinct(StringComparer.Ordinal));
        }
    }
}
