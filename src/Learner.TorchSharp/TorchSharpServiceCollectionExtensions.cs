using Learner.Encoders;
using Microsoft.Extensions.DependencyInjection;
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
    /// Makes the container's encoder factory (<see cref="Func{TResult}"/> of <see cref="IEncoder"/>, registered by
    /// <c>AddLearner</c>) build <see cref="TorchSharpEncoder"/>s around modules from <paramref name="moduleFactory"/>, on
    /// the device <see cref="TorchSharpOptions.Device"/> names (validated at start, naming the option). Call it after
    /// <c>AddLearner</c>; the latest registration of the factory wins.
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
        services.AddOptions<TorchSharpOptions>().Configure(o => configure?.Invoke(o)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TorchSharpOptions>, Validator>();
        services.AddTransient<Func<IEncoder>>(sp =>
        {
            var device = sp.GetRequiredService<IOptions<TorchSharpOptions>>().Value.ResolveDevice();
            return () => new TorchSharpEncoder(moduleFactory(), embeddingDimension, "torchsharp", device);
        });
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
