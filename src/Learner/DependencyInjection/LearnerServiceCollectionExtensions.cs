using Learner.Data;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Objectives;
using Learner.Sampling;
using Learner.Training;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Learner.DependencyInjection;

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
    /// <returns>The container, for chaining.</returns>
    public static IServiceCollection AddLearner(this IServiceCollection services, Action<ExperimentOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<ExperimentOptions>()
            .Configure(o => configure?.Invoke(o))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ExperimentOptions>, ExperimentOptionsValidator>();
        services.AddLearnerObjectives();
        services.TryAddSingleton(ComputeBackend.Managed);
        services.TryAddSingleton(ObjectiveRecipes.Default);
        services.AddTransient<Func<IEncoder>>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ExperimentOptions>>().Value;
            var backend = sp.GetRequiredService<ComputeBackend>();
            return () => backend.CreateEncoder(options.Encoder);
        });
        services.AddSingleton(sp => new PretrainerFactory(sp.GetRequiredService<IOptions<ExperimentOptions>>().Value, sp.GetService<ILoggerFactory>(), sp.GetRequiredService<ComputeBackend>(), sp.GetRequiredService<ObjectiveRecipes>()));
        services.AddTransient<Func<LongitudinalDataset, IBatchSampler>>(sp => sp.GetRequiredService<PretrainerFactory>().CreateSampler);
        services.AddTransient(sp => new LearnerExperiment(sp.GetRequiredService<IOptions<ExperimentOptions>>().Value, sp.GetRequiredService<ComputeBackend>(), sp.GetRequiredService<ObjectiveRecipes>()));
        return services;
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
    /// <returns>The container, for chaining.</returns>
    public static IServiceCollection AddLearner(this IServiceCollection services, IConfiguration configuration, Action<ExperimentOptions>? configure = null)
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

    /// <summary>Turns <see cref="ExperimentOptions.Validate()"/>'s exception into an options validation failure.</summary>
    private sealed class ExperimentOptionsValidator : IValidateOptions<ExperimentOptions>
    {
        public ValidateOptionsResult Validate(string? name, ExperimentOptions options)
        {
            try
            {
                options.Validate();
                return ValidateOptionsResult.Success;
            }
            catch (ArgumentException e)
            {
                return ValidateOptionsResult.Fail($"Learner option '{e.ParamName}': {e.Message}");
            }
        }
    }
}
