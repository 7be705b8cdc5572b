using System.Runtime.Intrinsics;

namespace Learner.Nn.Tests;

/// <summary>
/// A theory over the machine's vector rungs of the SIMD ladder, skipped (with the reason) where no vector width is
/// hardware-accelerated — a process started with <c>DOTNET_EnableHWIntrinsic=0</c>, as the CI's scalar-rung run does —
/// since its scalar reference is then the only form there is and there is nothing to compare it with.
/// </summary>
public sealed class VectorRungsTheoryAttribute : TheoryAttribute
{
    /// <summary>Skips the theory where no vector rung runs.</summary>
    public VectorRungsTheoryAttribute()
    {
        if (!Vector128.IsHardwareAccelerated && !Vector256.IsHardwareAccelerated && !Vector512.IsHardwareAccelerated)
            Skip = "no vector width is hardware-accelerated in this process: only the scalar rung, which is these tests' reference, runs";
    }
}
