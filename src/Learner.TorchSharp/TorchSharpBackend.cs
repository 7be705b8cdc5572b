using Learner.Encoders;
using Learner.Objectives;
using Learner.TorchSharp.Encoders;
using Learner.TorchSharp.Objectives;
using TorchSharp;
using static TorchSharp.torch;

namespace Learner.TorchSharp;

/// <summary>
/// The TorchSharp <see cref="ComputeBackend"/>: hand it to <see cref="Experiments.LearnerExperiment"/> or
/// <see cref="Training.PretrainerFactory"/> (or register it with <c>services.AddLearnerTorchSharp()</c>) and the built-in
/// encoders run on libtorch — CUDA when TorchSharp finds a GPU, else the CPU — with the same architectures, weights
/// and checkpoints as the managed engine, and on a GPU the objectives are computed there too
/// (<see cref="TorchSharpObjectives"/>).
/// </summary>
public static class TorchSharpBackend
{
    /// <summary>The built-in encoders (<see cref="TorchSharpEncoders"/>) on a device.</summary>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <param name="deviceObjectives">True: compute the objectives on the device (<see cref="TorchSharpObjectives.CreateRegistry"/>);
    /// false: the managed objectives on the host; null (default): on the device when it is a GPU, on the host for the
    /// CPU device, where the managed objectives' fused kernels are faster than libtorch's (docs/performance.md).</param>
    /// <returns>The backend, named <c>torchsharp:&lt;device&gt;</c>.</returns>
    public static ComputeBackend Create(Device? device = null, bool? deviceObjectives = null)
    {
        var d = device ?? TorchSharpEncoder.DefaultDevice();
        return new ComputeBackend($"torchsharp:{d}", o => TorchSharpEncoders.Create(o, d), Objectives(d, deviceObjectives));
    }

    /// <summary>The objectives a TorchSharp backend resolves names to.</summary>
    /// <param name="device">The device.</param>
    /// <param name="deviceObjectives">Device objectives, the managed ones, or null for <see cref="UsesDeviceObjectives"/>.</param>
    /// <returns>The registry.</returns>
    private static ObjectiveRegistry Objectives(Device device, bool? deviceObjectives) =>
        UsesDeviceObjectives(device, deviceObjectives) ? TorchSharpObjectives.CreateRegistry(device) : ObjectiveRegistry.CreateDefault();

    /// <summary>Whether a backend on <paramref name="device"/> computes the objectives there: as asked, or (null) when
    /// the device is not the CPU.</summary>
    /// <param name="device">The device.</param>
    /// <param name="deviceObjectives">The setting.</param>
    /// <returns>True for device objectives.</returns>
    public static bool UsesDeviceObjectives(Device device, bool? deviceObjectives)
    {
        ArgumentNullException.ThrowIfNull(device);
        return deviceObjectives ?? device.type != DeviceType.CPU;
    }

    /// <summary>Encoders around modules from <paramref name="moduleFactory"/> on a device, whatever architecture the
    /// settings name; before each module is built the libtorch generator is seeded with <see cref="EncoderOptions.Seed"/>,
    /// so a seed gives the same initial weights every time. The generator is libtorch's process-wide one: build encoders
    /// from one thread at a time.</summary>
    /// <param name="moduleFactory">Creates a fresh network mapping <c>[B, …]</c> to <c>[B, embeddingDimension]</c>.</param>
    /// <param name="embeddingDimension">D.</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <param name="name">The encoders' name in logs and checkpoints.</param>
    /// <param name="deviceObjectives">As in <see cref="Create(Device?, bool?)"/>: true, false, or null for the device's default.</param>
    /// <returns>The backend.</returns>
    public static ComputeBackend Create(Func<nn.Module<Tensor, Tensor>> moduleFactory, int embeddingDimension, Device? device = null, string name = "torchsharp", bool? deviceObjectives = null)
    {
        ArgumentNullException.ThrowIfNull(moduleFactory);
        ArgumentOutOfRangeException.ThrowIfLessThan(embeddingDimension, 1);
        var d = device ?? TorchSharpEncoder.DefaultDevice();
        return new ComputeBackend($"torchsharp:{d}", o =>
        {
            _ = manual_seed(unchecked((long)o.Seed));
            return new TorchSharpEncoder(moduleFactory(), embeddingDimension, name, d);
        }, Objectives(d, deviceObjectives));
    }
}
