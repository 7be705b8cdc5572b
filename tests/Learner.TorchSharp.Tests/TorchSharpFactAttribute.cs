using System.Runtime.InteropServices;

namespace Learner.TorchSharp.Tests;

/// <summary>Why the TorchSharp tests cannot run here, or null when they can.</summary>
internal static class TorchSharpAvailability
{
    /// <summary>The environment variable that turns a skip into a failure (CI sets it to 1: the backend's tests must
    /// run there).</summary>
    public const string RequireVariable = "LEARNER_REQUIRE_TORCHSHARP";

    private static readonly Lazy<string?> Reason = new(Probe);

    /// <summary>The reason to skip, or null.</summary>
    public static string? Unavailable => Reason.Value;

    /// <summary>Whether <see cref="RequireVariable"/> asks for the tests to run (a skip would then be a failure).</summary>
    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) is "1" or "true";

    private static string? Probe()
    {
        // The dynamic loader first: TorchSharp's own message blames a missing runtime package whatever went wrong (the
        // loader's error — a missing GLIBCXX version, a missing libtorch — is the real cause), and after a failed load
        // it copies libtorch (about 500 MB) into a "cpu" folder of the output to try again from there.
        var cause = NativeLoadError();
        if (cause is null)
        {
            try
            {
                using var t = global::TorchSharp.torch.ones(1);
                return null;
            }
            catch (Exception e)
            {
                cause = $"{e.GetType().Name}: {e.Message}";
            }
        }
        return $"TorchSharp's native library could not be loaded: {cause}. See docs/torchsharp.md (\"Native libraries\"); " +
               $"set {RequireVariable}=1 to make this a failure.";
    }

    /// <summary>Loads LibTorchSharp from the test output by path and returns the loader's error, or null when it loads
    /// (or cannot be found, in which case TorchSharp's message stands).</summary>
    internal static string? NativeLoadError()
    {
        var file = OperatingSystem.IsWindows() ? "LibTorchSharp.dll" : OperatingSystem.IsMacOS() ? "libLibTorchSharp.dylib" : "libLibTorchSharp.so";
        var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
        var rid = $"{os}-{RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant()}";
        var baseDir = AppContext.BaseDirectory;
        var candidates = new[] { Path.Combine(baseDir, file), Path.Combine(baseDir, "runtimes", rid, "native", file) };
        var path = candidates.FirstOrDefault(File.Exists);
        if (path is null) return null;   // another layout: TorchSharp finds it or says what is missing
        try
        {
            NativeLibrary.Load(path);        // kept loaded: TorchSharp loads the same file next (unloading libtorch is unsafe)
            return null;
        }
        catch (Exception e)
        {
            // .NET's message: "Unable to load shared library '…' or one of its dependencies. In order to help diagnose
            // loading problems, consider using a tool like strace. …: \n<the loader's error>\n".
            var lines = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return $"loading {path} failed: {(lines.Length > 1 ? string.Join(" ", lines.Skip(1)) : e.Message)}";
        }
    }
}

/// <summary>A fact that is skipped, with the reason, when the TorchSharp native library (LibTorchSharp + libtorch)
/// cannot be loaded on this machine — unless <c>LEARNER_REQUIRE_TORCHSHARP=1</c>, where it runs (and fails).</summary>
public sealed class TorchSharpFactAttribute : FactAttribute
{
    /// <summary>Creates the attribute.</summary>
    public TorchSharpFactAttribute()
    {
        if (!TorchSharpAvailability.Required && TorchSharpAvailability.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>A theory that is skipped, with the reason, when the TorchSharp native library cannot be loaded — unless
/// <c>LEARNER_REQUIRE_TORCHSHARP=1</c>.</summary>
public sealed class TorchSharpTheoryAttribute : TheoryAttribute
{
    /// <summary>Creates the attribute.</summary>
    public TorchSharpTheoryAttribute()
    {
        if (!TorchSharpAvailability.Required && TorchSharpAvailability.Unavailable is { } reason) Skip = reason;
    }
}
