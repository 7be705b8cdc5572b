using Learner.Nn.Kernels;

namespace Learner.Objectives.Kernels;

/// <summary>Long sums accumulated in double precision: the objectives' names for the engine's SIMD reductions
/// (<see cref="Simd"/>, the full 512/256/128/scalar ladder).</summary>
internal static class Accumulate
{
    /// <summary>Σ x, accumulated in double.</summary>
    public static double Sum(ReadOnlySpan<float> x) => Simd.Sum(x);

    /// <summary>Σ x·y, accumulated in double.</summary>
    public static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => Simd.Dot(x, y);

    /// <summary>Σ (x − y)², accumulated in double (exact squared Euclidean distance, no cancellation).</summary>
    public static double SquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => Simd.SquaredDistance(x, y);
}
