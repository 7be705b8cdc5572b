using System.Runtime.InteropServices;

namespace Learner.TorchSharp;

/// <summary>How libtorch's OpenMP threads wait for work.</summary>
/// <remarks>libtorch's bundled libgomp spins its idle threads by default: fastest on an otherwise idle machine (one
/// TSM-ResNet step 157 ms on 2 cores against 204–216 ms passive), but when another process wants a core the steps swing
/// between 0.5 s and 4.4 s. libgomp reads <c>OMP_WAIT_POLICY</c> once, when it is loaded — with libtorch, on the first
/// TorchSharp call — from the native environment, which <see cref="Environment.SetEnvironmentVariable(string, string)"/>
/// does not change on Linux or macOS.</remarks>
public static partial class LibTorchThreads
{
    /// <summary>The environment variable libgomp reads.</summary>
    public const string WaitPolicyVariable = "OMP_WAIT_POLICY";

    /// <summary>Sets <c>OMP_WAIT_POLICY=PASSIVE</c> in the native environment unless the process was started with a
    /// wait policy. Call it before the first TorchSharp call (later it changes nothing). Returns the policy in effect
    /// for libgomp when it loads.</summary>
    public static string UsePassiveWaitUnlessSet()
    {
        if (Environment.GetEnvironmentVariable(WaitPolicyVariable) is { Length: > 0 } given) return given;
        if (OperatingSystem.IsWindows()) Environment.SetEnvironmentVariable(WaitPolicyVariable, "PASSIVE");
        else if (setenv(WaitPolicyVariable, "PASSIVE", 0) != 0) return "default (setenv failed)";
        return "PASSIVE";
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
