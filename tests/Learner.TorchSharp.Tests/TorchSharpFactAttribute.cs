namespace Learner.TorchSharp.Tests;

/// <summary>A fact that is skipped, with the reason, when the TorchSharp native library (LibTorchSharp + libtorch)
/// cannot be loaded on this machine.</summary>
public sealed class TorchSharpFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Unavailable = new(() =>
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

    /// <summary>Creates the attribute.</summary>
    public TorchSharpFactAttribute()
    {
        if (Unavailable.Value is { } reason) Skip = reason;
    }
}
