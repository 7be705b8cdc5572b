using Learner.Objectives.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Learner.Objectives;

/// <summary>Registers objectives with Microsoft.Extensions.DependencyInjection.</summary>
public static class ObjectiveServiceCollectionExtensions
{
    /// <summary>Adds the default <see cref="ObjectiveRegistry"/> as a singleton (once), optionally extending it.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Registers extra objectives.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddLearnerObjectives(this IServiceCollection services, Action<ObjectiveRegistry>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(_ =>
        {
            var r = ObjectiveRegistry.CreateDefault();
            configure?.Invoke(r);
            return r;
        });
        return services;
    }

    /// <summary>Registers <see cref="IObjective"/> as the objective named <paramref name="name"/> (transient: objectives
    /// own workspaces and are not thread-safe). The options are validated now.</summary>
    /// <param name="services">The services.</param>
    /// <param name="name">The registry name, e.g. "weighted-contrastive".</param>
    /// <param name="options">Its options, or null for the defaults.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddObjective(this IServiceCollection services, string name, ObjectiveOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        options?.Validate();
        services.AddLearnerObjectives();
        services.AddTransient<IObjective>(sp => sp.GetRequiredService<ObjectiveRegistry>().Create(name, options));
        return services;
    }
}
