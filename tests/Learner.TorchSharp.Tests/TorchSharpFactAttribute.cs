namespace Learner.TorchSharp.Tests;

/// <summary>Why the TorchSharp tests cannot run here, or null when they can.</summary>
internal static class TorchSharpAvailability
{
    private static readonly Lazy<string?> Reason = new(() =>
    {
        try
        {
            using var t = global::TorchSharp.torch.ones(1);
            return null;
        }
        catch (Exception e)
        {
            return $"TorchSharp's native library could not be loaded ({e.GetType().Name}: {e.Message}); put LibTorchSharp and libtorch on the library path (docs/torchsharp.md).";
        }
    });

    /// <summary>The reason to skip, or null.</summary>
    public static string? Unavailable => Reason.Value;
}

/// <summary>A fact that is skipped, with the reason, when the TorchSharp native library (LibTorchSharp + libtorch)
/// cannot be loaded on this machine.</summary>
public sealed class TorchSharpFactAttribute : FactAttribute
{
    /// <summary>Creates the attribute.</summary>
    public TorchSharpFactAttribute()
    {
        if (TorchSharpAvailability.Unavailable is { } reason) Skip = reason;
    }
}

/// <summary>A theory that is skipped, with the reason, when the TorchSharp native library cannot be loaded.</summary>
public sealed class TorchSharpTheoryAttribute : TheoryAttribute
{
    /// <summary>Creates the attribute.</summary>
    public TorchSharpTheoryAttribute()
    {
        if (TorchSharpAvailability.Unavailable is { } reason) Skip = reason;
    }
}
