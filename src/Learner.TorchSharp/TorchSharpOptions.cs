using Learner.Objectives;
using Learner.TorchSharp.Objectives;
using TorchSharp;
using static TorchSharp.torch;

namespace Learner.TorchSharp;

/// <summary>Settings of the TorchSharp backend.</summary>
public sealed class TorchSharpOptions
{
    /// <summary>The device: <c>auto</c> (CUDA when TorchSharp finds a GPU, else the CPU), <c>cpu</c>, <c>cuda</c> or
    /// <c>cuda:N</c>. Default <c>auto</c>.</summary>
    public string Device { get; set; } = "auto";

    /// <summary>Compute the objectives on the device: true, the experiment's, the pretrainer factory's and the container's
    /// <see cref="ObjectiveRegistry"/> resolve the built-in names to <see cref="TorchSharpObjectives"/>; false keeps the
    /// managed objectives on the host; null (default) means true on a GPU and false on the CPU device, where the managed
    /// objectives are faster (docs/performance.md). The embeddings cross to the host each step either way.</summary>
    public bool? DeviceObjectives { get; set; }

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
