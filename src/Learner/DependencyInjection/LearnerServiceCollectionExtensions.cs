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
            configuration.Bind(o);
            if (configuration.GetSection(nameof(ExperimentOptions.Objectives)).Get<string[]>() is { } objectives) o.Objectives = objectives;
            if (configuration.GetSection(nameof(ExperimentOptions.Seeds)).Get<int[]>() is { } seeds) o.Seeds = seeds;
            if (configuration.GetSection("Search:LearningRates").Get<double[]>() is { } rates) o.Search.LearningRates = rates;
            if (configuration.GetSection("Protocol:TestPatients").Get<string[]>() is { } test) o.Protocol.TestPatients = test;
            configure?.Invoke(o);
        });
    }

    /// <summary>Turns <see cref="ExperimentOptions.Validate"/>'s exception into an options validation failure.</summary>
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
