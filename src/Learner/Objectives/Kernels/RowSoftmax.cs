using Learner.Nn.Kernels;

namespace Learner.Objectives.Kernels;

/// <summary>
/// The two sweeps of a softmax row, from the engine's SIMD layer: the maximum (<see cref="Max"/>, which assumes no NaN —
/// the objectives reject non-finite input), then x ← exp(x − m) and its sum accumulated in double (<see cref="ExpShiftSum"/>).
/// </summary>
internal static class RowSoftmax
{
    /// <summary>max x over a row without NaN (−∞ entries allowed). An empty row gives −∞.</summary>
    public static float Max(ReadOnlySpan<float> x) => Simd.MaxNoNaN(x);

    /// <summary>x ← exp(x − <paramref name="shift"/>) in place; returns Σ of the new values, accumulated in double.</summary>
    public static double ExpShiftSum(Span<float> x, float shift) => RowKernels.ExpShiftSum(x, shift);
}
