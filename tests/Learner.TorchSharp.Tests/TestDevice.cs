using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Learner.TorchSharp.Tests;

/// <summary>The device the parity tests run the backend on: the CPU, or the one <see cref="Variable"/> names
/// (<c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>; scripts/gpu-check.sh sets <c>cuda</c>). A CUDA device that TorchSharp cannot
/// find makes every test that uses it fail with the reason, never fall back to the CPU.</summary>
internal static class TestDevice
{
    /// <summary>The environment variable that chooses the device.</summary>
    public const string Variable = "LEARNER_TORCHSHARP_TEST_DEVICE";

    private static readonly Lazy<Device> Resolved = new(Resolve);

    /// <summary>The setting, trimmed and lower-case, or null when unset (the CPU).</summary>
    public static string? Requested => Environment.GetEnvironmentVariable(Variable) is { } v && v.Trim().Length > 0 ? v.Trim().ToLowerInvariant() : null;

    /// <summary>The device.</summary>
    /// <exception cref="InvalidOperationException">The setting is not an allowed form, or names CUDA where TorchSharp
    /// finds no CUDA device.</exception>
    public static Device Current => Resolved.Value;

    private static Device Resolve()
    {
        var requested = Requested;
        if (requested is null or "cpu") return CPU;
        bool isCuda = requested == "cuda" ||
                      requested.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(requested.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out _);
        if (!isCuda) throw new InvalidOperationException($"{Variable}={requested} is not cpu, cuda or cuda:N.");
        if (!cuda.is_available())
            throw new InvalidOperationException($"{Variable}={requested} asks for CUDA, but TorchSharp finds no CUDA device: build with a CUDA runtime package " +
                                                "(-p:TorchSharpRuntimePackage=TorchSharp-cuda-linux -p:TorchSharpRuntimeVersion=…) on a machine with an NVIDIA driver.");
        // The parity tolerances (1e-5 for objectives, 1e-4 for encoders) are float32's: no TF32 in convolutions or GEMMs.
        torch.backends.cudnn.allow_tf32 = false;
        torch.backends.cuda.matmul.allow_tf32 = false;
        var device = torch.device(requested);
        if (device.index >= cuda.device_count())
            throw new InvalidOperationException($"{Variable}={requested}: TorchSharp finds {cuda.device_count()} CUDA device(s).");
        return device;
    }
}
