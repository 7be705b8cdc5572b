using Learner.Encoders;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TorchSharp;
using static TorchSharp.torch;

namespace Learner.TorchSharp;

/// <summary>Settings of the TorchSharp backend.</summary>
public sealed class TorchSharpOptions
{
    /// <summary>The device: <c>auto</c> (CUDA when TorchSharp finds a GPU, else the CPU), <c>cpu</c>, <c>cuda</c> or
    /// <c>cuda:N</c>. Default <c>auto</c>.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>The device the setting names.</summary>
    /// <returns>The device.</returns>
    /// <exception cref="ArgumentException">The setting is not one of the allowed forms, or names CUDA where TorchSharp
    /// finds no CUDA device.</exception>
    public Device ResolveDevice()
    {
        string d = (Device ?? "").Trim().ToLowerInvariant();
        if (d == "auto") return TorchSharpEncoder.DefaultDevice();
        if (d == "cpu") return CPU;
        if (d == "cuda" || d.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(d.AsSpan(5), out _))
        {
            if (!cuda.is_available())
                throw new ArgumentException($"Device '{Device}' asks for CUDA, but TorchSharp finds no CUDA device (install a TorchSharp-cuda package and a driver, or use 'cpu' / 'auto').", nameof(Device));
            return device(d);
        }
        throw new ArgumentException($"Device '{Device}' is not allowed; use auto, cpu, cuda or cuda:N.", nameof(Device));
    }
}

/// <summary>Registers the TorchSharp backend with a Microsoft.Extensions.DependencyInjection container.</summary>
public static class TorchSharpServiceCollectionExtensions
{
    /// <summary>
    /// Makes Learner run on TorchSharp: registers <see cref="TorchSharpBackend.Create(Device?)"/> as the container's
    /// <see cref="ComputeBackend"/>, so the encoder factory (<see cref="Func{TResult}"/> of <see cref="IEncoder"/>), the
    /// <see cref="Training.PretrainerFactory"/> and the <see cref="Experiments.LearnerExperiment"/> registered by
    /// <c>AddLearner</c> build the built-in encoders from <see cref="Experiments.ExperimentOptions.Encoder"/> on the device
    /// <see cref="TorchSharpOptions.Device"/> names (validated at start, naming the option). Call it before or after
    /// <c>AddLearner</c>.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="configure">Adjusts the settings, or null.</param>
    /// <returns>The container, for chaining.</returns>
    public static IServiceCollection AddLearnerTorchSharp(this IServiceCollection services, Action<TorchSharpOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.AddBackend(configure, TorchSharpBackend.Create);
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
        return services.AddBackend(configure, device => TorchSharpBackend.Create(moduleFactory, embeddingDimension, device));
    }

    private static IServiceCollection AddBackend(this IServiceCollection services, Action<TorchSharpOptions>? configure, Func<Device, ComputeBackend> create)
    {
        services.AddOptions<TorchSharpOptions>().Configure(o => configure?.Invoke(o)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TorchSharpOptions>, Validator>());
        services.RemoveAll<ComputeBackend>();
        services.AddSingleton(sp => create(sp.GetRequiredService<IOptions<TorchSharpOptions>>().Value.ResolveDevice()));
        return services;
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
