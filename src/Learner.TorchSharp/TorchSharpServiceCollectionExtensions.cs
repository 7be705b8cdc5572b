using Learner;
using Learner.Encoders;
using Learner.Objectives;
using Learner.TorchSharp;
using Learner.TorchSharp.Objectives;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TorchSharp;
using static TorchSharp.torch;

// In the container's namespace, as Microsoft.Extensions conventions ask: services.AddLearnerTorchSharp() and
// builder.UseTorchSharp() are found without a using of Learner.TorchSharp.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the TorchSharp backend with a Microsoft.Extensions.DependencyInjection container.</summary>
public static class TorchSharpServiceCollectionExtensions
{
    /// <summary>
    /// Makes Learner run on TorchSharp: registers <see cref="TorchSharpBackend.Create(Device?, bool?)"/> as the container's
    /// <see cref="ComputeBackend"/>, so the encoder factory (<see cref="Func{TResult}"/> of <see cref="IEncoder"/>), the
    /// <see cref="Learner.Training.PretrainerFactory"/> and the <see cref="Learner.Experiments.LearnerExperiment"/> registered by
    /// <c>AddLearner</c> build the built-in encoders from <see cref="Learner.Experiments.ExperimentOptions.Encoder"/> on the device
    /// <see cref="TorchSharpOptions.Device"/> names (validated at start, naming the option), and — on a GPU, or when
    /// <see cref="TorchSharpOptions.DeviceObjectives"/> is true — the objectives are computed there too: the container's
    /// <see cref="ObjectiveRegistry"/> (from <c>AddLearnerObjectives</c>, with any objectives you registered in it) gets the
    /// device objectives under the built-in names. Call it before or after <c>AddLearner</c>, and after
    /// <c>AddLearnerObjectives(configure)</c> when you extend the registry.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="configure">Adjusts the settings, or null.</param>
    /// <returns>The container, for chaining.</returns>
    public static IServiceCollection AddLearnerTorchSharp(this IServiceCollection services, Action<TorchSharpOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.AddBackend(configure, o => TorchSharpBackend.Create(o.ResolveDevice(), o.DeviceObjectives));
    }

    /// <summary>
    /// Like <see cref="AddLearnerTorchSharp(IServiceCollection, Action{TorchSharpOptions}?)"/>, with encoders around your
    /// own modules: every encoder the container builds wraps a fresh module from <paramref name="moduleFactory"/>
    /// (the libtorch generator is seeded with the encoder settings' seed first).
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="moduleFactory">Creates a fresh network mapping <c>[B, …]</c> to <c>[B, embeddingDimension]</c>.</param>
    /// <param name="embeddingDimension">D.</param>
    /// <param name="configure">Adjusts the settings, or null.</param>
    /// <returns>The container, for chaining.</returns>
    public static IServiceCollection AddLearnerTorchSharp(this IServiceCollection services, Func<nn.Module<Tensor, Tensor>> moduleFactory, int embeddingDimension, Action<TorchSharpOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(moduleFactory);
        ArgumentOutOfRangeException.ThrowIfLessThan(embeddingDimension, 1);
        return services.AddBackend(configure, o => TorchSharpBackend.Create(moduleFactory, embeddingDimension, o.ResolveDevice(), deviceObjectives: o.DeviceObjectives));
    }

    /// <summary>The builder form of <see cref="AddLearnerTorchSharp(IServiceCollection, Action{TorchSharpOptions}?)"/>:
    /// <c>services.AddLearner(...).UseTorchSharp(o =&gt; o.Device = "cuda")</c>.</summary>
    /// <param name="builder">The builder <c>AddLearner</c> returned.</param>
    /// <param name="configure">Adjusts the settings, or null.</param>
    /// <returns>The builder.</returns>
    public static LearnerBuilder UseTorchSharp(this LearnerBuilder builder, Action<TorchSharpOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddLearnerTorchSharp(configure);
        return builder;
    }

    private static IServiceCollection AddBackend(this IServiceCollection services, Action<TorchSharpOptions>? configure, Func<TorchSharpOptions, ComputeBackend> create)
    {
        services.AddOptions<TorchSharpOptions>().Configure(o => configure?.Invoke(o)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TorchSharpOptions>, Validator>());
        services.RemoveAll<ComputeBackend>();
        services.AddSingleton(sp => create(sp.GetRequiredService<IOptions<TorchSharpOptions>>().Value));
        // The container's registry: whatever was registered (AddLearnerObjectives, possibly extended), else the default,
        // with the built-in names on the device. Repeated calls wrap only the original registration.
        var existing = services.LastOrDefault(s => s.ServiceType == typeof(ObjectiveRegistry));
        if (existing?.ImplementationFactory?.Target is RegistryOnDevice) return services;
        services.RemoveAll<ObjectiveRegistry>();
        var wrapper = new RegistryOnDevice(existing);
        services.AddSingleton(wrapper.Create);
        return services;
    }

    /// <summary>Builds the container's <see cref="ObjectiveRegistry"/>: the one registered before (or the default),
    /// with the device objectives when the settings ask for them.</summary>
    private sealed class RegistryOnDevice
    {
        private readonly ServiceDescriptor? _inner;

        public RegistryOnDevice(ServiceDescriptor? inner) => _inner = inner;

        public ObjectiveRegistry Create(IServiceProvider sp)
        {
            var registry = _inner switch
            {
                null => ObjectiveRegistry.CreateDefault(),
                { ImplementationInstance: ObjectiveRegistry r } => r,
                { ImplementationFactory: { } f } => (ObjectiveRegistry)f(sp),
                _ => (ObjectiveRegistry)ActivatorUtilities.CreateInstance(sp, _inner.ImplementationType!),
            };
            var o = sp.GetRequiredService<IOptions<TorchSharpOptions>>().Value;
            var device = o.ResolveDevice();
            return TorchSharpBackend.UsesDeviceObjectives(device, o.DeviceObjectives) ? TorchSharpObjectives.RegisterAll(registry, device) : registry;
        }
    }

    private sealed class Validator : IValidateOptions<TorchSharpOptions>
    {
        public ValidateOptionsResult Validate(string? name, TorchSharpOptions options)
        {
            try
            {
                options.ResolveDevice();
                return ValidateOptionsResult.Success;
            }
            catch (ArgumentException e)
            {
                return ValidateOptionsResult.Fail($"Learner.TorchSharp option '{e.ParamName}': {e.Message}");
            }
        }
    }
}
