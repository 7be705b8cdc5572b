using Learner.Objectives;
using Learner.Objectives.Options;
using static TorchSharp.torch;

namespace Learner.TorchSharp.Objectives;

/// <summary>The device objectives by their registry names — the same names and options types as
/// <see cref="ObjectiveRegistry.CreateDefault"/>, so an experiment configured for the managed engine runs its objective
/// on the device unchanged.</summary>
public static class TorchSharpObjectives
{
    /// <summary>The names this package computes on a device.</summary>
    public static IReadOnlyList<string> Names { get; } = new[] { "mse", "contrastive", "weighted-contrastive", "triplet", "infonce", "supcon", "ntxent", "rnc", "y-aware" };

    /// <summary>Creates the device objective registered as <paramref name="name"/>.</summary>
    /// <param name="name">A name of <see cref="Names"/> (case-insensitive).</param>
    /// <param name="options">Its options (of the managed objective's options type), or null for the defaults.</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <returns>The objective.</returns>
    /// <exception cref="KeyNotFoundException">The name is not one of <see cref="Names"/>.</exception>
    /// <exception cref="ArgumentException">The options have the wrong type or are invalid.</exception>
    public static TorchSharpObjective Create(string name, ObjectiveOptions? options = null, Device? device = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var registry = new ObjectiveRegistry();
        RegisterAll(registry, device);
        if (!registry.Contains(name))
            throw new KeyNotFoundException($"No device objective is named '{name}'. Known: {string.Join(", ", Names)}.");
        return (TorchSharpObjective)registry.Create(name, options);
    }

    /// <summary>Registers (replacing) every device objective in <paramref name="registry"/>. A composite created by the
    /// registry afterwards is made of device objectives.</summary>
    /// <param name="registry">The registry (e.g. <see cref="ObjectiveRegistry.CreateDefault"/>).</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <returns>The registry.</returns>
    public static ObjectiveRegistry RegisterAll(ObjectiveRegistry registry, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var d = device ?? TorchSharpEncoder.DefaultDevice();
        registry.Register<MseOptions>("mse", o => new TorchSharpMseScoreRegression(o ?? throw new ArgumentException("The 'mse' objective needs MseOptions with EmbeddingDimension set (its linear head has D inputs).", "options"), d));
        registry.Register<ContrastiveOptions>("contrastive", o => new TorchSharpContrastiveLoss(o, d));
        registry.Register<WeightedContrastiveOptions>("weighted-contrastive", o => new TorchSharpWeightedContrastiveLoss(o, d));
        registry.Register<TripletOptions>("triplet", o => new TorchSharpTripletLoss(o, d));
        registry.Register<InfoNceOptions>("infonce", o => new TorchSharpInfoNceLoss(o, d));
        registry.Register<SupConOptions>("supcon", o => new TorchSharpSupConLoss(o, d));
        registry.Register<NtXentOptions>("ntxent", o => new TorchSharpNtXentLoss(o, d));
        registry.Register<RankNContrastOptions>("rnc", o => new TorchSharpRankNContrastLoss(o, d));
        registry.Register<YAwareOptions>("y-aware", o => new TorchSharpYAwareInfoNceLoss(o, d));
        return registry;
    }

    /// <summary>The default registry (<see cref="ObjectiveRegistry.CreateDefault"/>) with every built-in objective
    /// computed on <paramref name="device"/>; "composite" composes device objectives.</summary>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <returns>The registry.</returns>
    public static ObjectiveRegistry CreateRegistry(Device? device = null) => RegisterAll(ObjectiveRegistry.CreateDefault(), device);
}
