using System.Runtime.Intrinsics;

namespace Learner.Nn.Kernels;

// Elementwise activation functions and their derivatives as vector operations (see VectorMap).
// Each struct carries its constants; the Invoke overloads hold the same math at every rung of the ladder (scalar,
// Vector128, Vector256, Vector512).

/// <summary>relu(x) = x &lt; 0 ? 0 : x (NaN propagates).</summary>
internal readonly struct ReluForward : IVectorOp1
{
    public float Invoke(float x) => x < 0f ? 0f : x;
    public Vector512<float> Invoke(Vector512<float> x) => Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), Vector512<float>.Zero, x);
    public Vector256<float> Invoke(Vector256<float> x) => Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), Vector256<float>.Zero, x);
    public Vector128<float> Invoke(Vector128<float> x) => Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128<float>.Zero), Vector128<float>.Zero, x);
}

/// <summary>(a, b) ↦ relu(a + b): the sum rounded once, then <see cref="ReluForward"/>'s rule — the same bits as the two
/// maps one after the other.</summary>
internal readonly struct AddReluForward : IVectorOp2
{
    public float Invoke(float a, float b) => new ReluForward().Invoke(a + b);
    public Vector512<float> Invoke(Vector512<float> a, Vector512<float> b) => new ReluForward().Invoke(a + b);
    public Vector256<float> Invoke(Vector256<float> a, Vector256<float> b) => new ReluForward().Invoke(a + b);
    public Vector128<float> Invoke(Vector128<float> a, Vector128<float> b) => new ReluForward().Invoke(a + b);
}

/// <summary>(g, x) ↦ x &gt; 0 ? g : 0.</summary>
internal readonly struct ReluBackward : IVectorOp2
{
    public float Invoke(float g, float x) => x > 0f ? g : 0f;
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), g, Vector512<float>.Zero);
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), g, Vector256<float>.Zero);
    public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x) => Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), g, Vector128<float>.Zero);
}

/// <summary>leaky_relu(x) = x &gt; 0 ? x : slope·x.</summary>
internal readonly struct LeakyReluForward(float slope) : IVectorOp1
{
    public float Invoke(float x) => x > 0f ? x : x * slope;
    public Vector512<float> Invoke(Vector512<float> x) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x, x * slope);
    public Vector256<float> Invoke(Vector256<float> x) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x, x * slope);
    public Vector128<float> Invoke(Vector128<float> x) => Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), x, x * slope);
}

/// <summary>(g, x) ↦ x &gt; 0 ? g : slope·g.</summary>
internal readonly struct LeakyReluBackward(float slope) : IVectorOp2
{
    public float Invoke(float g, float x) => x > 0f ? g : g * slope;
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), g, g * slope);
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), g, g * slope);
    public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x) => Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), g, g * slope);
}

/// <summary>(g, y) ↦ g·y·(1 − y), the sigmoid derivative from its output.</summary>
internal readonly struct SigmoidBackward : IVectorOp2
{
    public float Invoke(float g, float y) => g * y * (1f - y);
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> y) => g * y * (Vector512<float>.One - y);
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> y) => g * y * (Vector256<float>.One - y);
    public Vector128<float> Invoke(Vector128<float> g, Vector128<float> y) => g * y * (Vector128<float>.One - y);
}

/// <summary>(g, y) ↦ g·(1 − y²), the tanh derivative from its output.</summary>
internal readonly struct TanhBackward : IVectorOp2
{
    public float Invoke(float g, float y) => g * (1f - y * y);
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> y) => g * (Vector512<float>.One - y * y);
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> y) => g * (Vector256<float>.One - y * y);
    public Vector128<float> Invoke(Vector128<float> g, Vector128<float> y) => g * (Vector128<float>.One - y * y);
}

/// <summary>
/// The standard normal CDF Φ(x) = ½(1 + erf(x/√2)) and density, in float with relative accuracy of a few 1e-7 on both
/// tails: erfc(z) for z = |x|/√2 uses the Chebyshev-fitted form t·exp(−z² + P(t)), t = 1/(1 + z/2), published in
/// Press et al., Numerical Recipes §6.2 (fractional error below 1.2e-7 for all z ≥ 0); then Φ(x) = 1 − ½erfc(z) for
/// x ≥ 0 and ½erfc(z) for x &lt; 0, so the small side never suffers cancellation.
/// </summary>
internal static class NormalCdf
{
    private const float InvSqrt2 = 0.70710678118654752f;
    internal const float InvSqrt2Pi = 0.39894228040143268f;
    private const float C0 = -1.26551223f, C1 = 1.00002368f, C2 = 0.37409196f, C3 = 0.09678418f, C4 = -0.18628806f,
        C5 = 0.27886807f, C6 = -1.13520398f, C7 = 1.48851587f, C8 = -0.82215223f, C9 = 0.17087277f;

    internal static float Phi(float x)
    {
        float z = MathF.Abs(x) * InvSqrt2;
        float t = 1f / MathF.FusedMultiplyAdd(z, 0.5f, 1f);
        float t2 = t * t;
        float t4 = t2 * t2;
        float p01 = MathF.FusedMultiplyAdd(C1, t, C0);
        float p23 = MathF.FusedMultiplyAdd(C3, t, C2);
        float p45 = MathF.FusedMultiplyAdd(C5, t, C4);
        float p67 = MathF.FusedMultiplyAdd(C7, t, C6);
        float p89 = MathF.FusedMultiplyAdd(C9, t, C8);
        float p = MathF.FusedMultiplyAdd(MathF.FusedMultiplyAdd(p67, t2, p45), t4, MathF.FusedMultiplyAdd(p23, t2, p01));
        p = MathF.FusedMultiplyAdd(p89, t4 * t4, p);
        float halfErfc = 0.5f * t * MathF.Exp(p - z * z);
        return x >= 0f ? 1f - halfErfc : halfErfc;
    }

    internal static Vector512<float> Phi(Vector512<float> x)
    {
        var half = Vector512.Create(0.5f);
        var z = Vector512.Abs(x) * InvSqrt2;
        var t = Vector512<float>.One / Vector512.FusedMultiplyAdd(z, half, Vector512<float>.One);
        // P(t) by Estrin's scheme: a dependency chain of 4 multiply-adds instead of Horner's 9.
        var t2 = t * t;
        var t4 = t2 * t2;
        var p01 = Vector512.FusedMultiplyAdd(Vector512.Create(C1), t, Vector512.Create(C0));
        var p23 = Vector512.FusedMultiplyAdd(Vector512.Create(C3), t, Vector512.Create(C2));
        var p45 = Vector512.FusedMultiplyAdd(Vector512.Create(C5), t, Vector512.Create(C4));
        var p67 = Vector512.FusedMultiplyAdd(Vector512.Create(C7), t, Vector512.Create(C6));
        var p89 = Vector512.FusedMultiplyAdd(Vector512.Create(C9), t, Vector512.Create(C8));
        var p = Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(p67, t2, p45), t4, Vector512.FusedMultiplyAdd(p23, t2, p01));
        p = Vector512.FusedMultiplyAdd(p89, t4 * t4, p);
        var halfErfc = half * t * Vector512.Exp(p - z * z);
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), Vector512<float>.One - halfErfc, halfErfc);
    }

    internal static Vector256<float> Phi(Vector256<float> x)
    {
        var half = Vector256.Create(0.5f);
        var z = Vector256.Abs(x) * InvSqrt2;
        var t = Vector256<float>.One / Vector256.FusedMultiplyAdd(z, half, Vector256<float>.One);
        // P(t) by Estrin's scheme: a dependency chain of 4 multiply-adds instead of Horner's 9.
        var t2 = t * t;
        var t4 = t2 * t2;
        var p01 = Vector256.FusedMultiplyAdd(Vector256.Create(C1), t, Vector256.Create(C0));
        var p23 = Vector256.FusedMultiplyAdd(Vector256.Create(C3), t, Vector256.Create(C2));
        var p45 = Vector256.FusedMultiplyAdd(Vector256.Create(C5), t, Vector256.Create(C4));
        var p67 = Vector256.FusedMultiplyAdd(Vector256.Create(C7), t, Vector256.Create(C6));
        var p89 = Vector256.FusedMultiplyAdd(Vector256.Create(C9), t, Vector256.Create(C8));
        var p = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(p67, t2, p45), t4, Vector256.FusedMultiplyAdd(p23, t2, p01));
        p = Vector256.FusedMultiplyAdd(p89, t4 * t4, p);
        var halfErfc = half * t * Vector256.Exp(p - z * z);
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), Vector256<float>.One - halfErfc, halfErfc);
    }

    internal static Vector128<float> Phi(Vector128<float> x)
    {
        var half = Vector128.Create(0.5f);
        var z = Vector128.Abs(x) * InvSqrt2;
        var t = Vector128<float>.One / Vector128.FusedMultiplyAdd(z, half, Vector128<float>.One);
        // P(t) by Estrin's scheme: a dependency chain of 4 multiply-adds instead of Horner's 9.
        var t2 = t * t;
        var t4 = t2 * t2;
        var p01 = Vector128.FusedMultiplyAdd(Vector128.Create(C1), t, Vector128.Create(C0));
        var p23 = Vector128.FusedMultiplyAdd(Vector128.Create(C3), t, Vector128.Create(C2));
        var p45 = Vector128.FusedMultiplyAdd(Vector128.Create(C5), t, Vector128.Create(C4));
        var p67 = Vector128.FusedMultiplyAdd(Vector128.Create(C7), t, Vector128.Create(C6));
        var p89 = Vector128.FusedMultiplyAdd(Vector128.Create(C9), t, Vector128.Create(C8));
        var p = Vector128.FusedMultiplyAdd(Vector128.FusedMultiplyAdd(p67, t2, p45), t4, Vector128.FusedMultiplyAdd(p23, t2, p01));
        p = Vector128.FusedMultiplyAdd(p89, t4 * t4, p);
        var halfErfc = half * t * Vector128.Exp(p - z * z);
        return Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(x, Vector128<float>.Zero), Vector128<float>.One - halfErfc, halfErfc);
    }
}

/// <summary>gelu(x) = x·Φ(x) (the exact, erf form).</summary>
internal readonly struct GeluForward : IVectorOp1
{
    public float Invoke(float x) => x * NormalCdf.Phi(x);
    public Vector512<float> Invoke(Vector512<float> x) => x * NormalCdf.Phi(x);
    public Vector256<float> Invoke(Vector256<float> x) => x * NormalCdf.Phi(x);
    public Vector128<float> Invoke(Vector128<float> x) => x * NormalCdf.Phi(x);
}

/// <summary>(g, x) ↦ g·(Φ(x) + x·φ(x)).</summary>
internal readonly struct GeluBackward : IVectorOp2
{
    public float Invoke(float g, float x)
    {
        float pdf = MathF.Exp(x * x * -0.5f) * NormalCdf.InvSqrt2Pi;
        return g * MathF.FusedMultiplyAdd(x, pdf, NormalCdf.Phi(x));
    }

    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x)
    {
        var pdf = Vector512.Exp(x * x * -0.5f) * NormalCdf.InvSqrt2Pi;
        return g * Vector512.FusedMultiplyAdd(x, pdf, NormalCdf.Phi(x));
    }

    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x)
    {
        var pdf = Vector256.Exp(x * x * -0.5f) * NormalCdf.InvSqrt2Pi;
        return g * Vector256.FusedMultiplyAdd(x, pdf, NormalCdf.Phi(x));
    }

    public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x)
    {
        var pdf = Vector128.Exp(x * x * -0.5f) * NormalCdf.InvSqrt2Pi;
        return g * Vector128.FusedMultiplyAdd(x, pdf, NormalCdf.Phi(x));
    }
}

/// <summary>Constants of the tanh approximation of gelu: ½x(1 + tanh(k(x + 0.044715x³))) = x·σ(2k(x + 0.044715x³)).</summary>
internal static class GeluTanhConst
{
    internal const float TwoK = 1.5957691216057308f;            // 2·√(2/π)
    internal const float TwoKC = TwoK * 0.044715f;              // 2·√(2/π)·0.044715
    internal const float TwoK3C = TwoK * 3f * 0.044715f;        // derivative of the inner polynomial, times 2
}

/// <summary>gelu_tanh(x) = x·σ(u), u = 2k(x + 0.044715x³) (equal to ½x(1 + tanh(u/2))).</summary>
internal readonly struct GeluTanhForward : IVectorOp1
{
    public float Invoke(float x)
    {
        float u = x * MathF.FusedMultiplyAdd(x * x, GeluTanhConst.TwoKC, GeluTanhConst.TwoK);
        return x / (1f + MathF.Exp(-u));
    }

    public Vector512<float> Invoke(Vector512<float> x)
    {
        var u = x * Vector512.FusedMultiplyAdd(x * x, Vector512.Create(GeluTanhConst.TwoKC), Vector512.Create(GeluTanhConst.TwoK));
        return x / (Vector512<float>.One + Vector512.Exp(-u));
    }

    public Vector256<float> Invoke(Vector256<float> x)
    {
        var u = x * Vector256.FusedMultiplyAdd(x * x, Vector256.Create(GeluTanhConst.TwoKC), Vector256.Create(GeluTanhConst.TwoK));
        return x / (Vector256<float>.One + Vector256.Exp(-u));
    }

    public Vector128<float> Invoke(Vector128<float> x)
    {
        var u = x * Vector128.FusedMultiplyAdd(x * x, Vector128.Create(GeluTanhConst.TwoKC), Vector128.Create(GeluTanhConst.TwoK));
        return x / (Vector128<float>.One + Vector128.Exp(-u));
    }
}

/// <summary>(g, x) ↦ g·(σ(u) + x·σ(u)(1 − σ(u))·u′).</summary>
internal readonly struct GeluTanhBackward : IVectorOp2
{
    public float Invoke(float g, float x)
    {
        float x2 = x * x;
        float u = x * MathF.FusedMultiplyAdd(x2, GeluTanhConst.TwoKC, GeluTanhConst.TwoK);
        float du = MathF.FusedMultiplyAdd(x2, GeluTanhConst.TwoK3C, GeluTanhConst.TwoK);
        float s = 1f / (1f + MathF.Exp(-u));
        return g * MathF.FusedMultiplyAdd(x * s * (1f - s), du, s);
    }

    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x)
    {
        var x2 = x * x;
        var u = x * Vector512.FusedMultiplyAdd(x2, Vector512.Create(GeluTanhConst.TwoKC), Vector512.Create(GeluTanhConst.TwoK));
        var du = Vector512.FusedMultiplyAdd(x2, Vector512.Create(GeluTanhConst.TwoK3C), Vector512.Create(GeluTanhConst.TwoK));
        var s = Vector512<float>.One / (Vector512<float>.One + Vector512.Exp(-u));
        return g * Vector512.FusedMultiplyAdd(x * s * (Vector512<float>.One - s), du, s);
    }

    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x)
    {
        var x2 = x * x;
        var u = x * Vector256.FusedMultiplyAdd(x2, Vector256.Create(GeluTanhConst.TwoKC), Vector256.Create(GeluTanhConst.TwoK));
        var du = Vector256.FusedMultiplyAdd(x2, Vector256.Create(GeluTanhConst.TwoK3C), Vector256.Create(GeluTanhConst.TwoK));
        var s = Vector256<float>.One / (Vector256<float>.One + Vector256.Exp(-u));
        return g * Vector256.FusedMultiplyAdd(x * s * (Vector256<float>.One - s), du, s);
    }

    public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x)
    {
        var x2 = x * x;
        var u = x * Vector128.FusedMultiplyAdd(x2, Vector128.Create(GeluTanhConst.TwoKC), Vector128.Create(GeluTanhConst.TwoK));
        var du = Vector128.FusedMultiplyAdd(x2, Vector128.Create(GeluTanhConst.TwoK3C), Vector128.Create(GeluTanhConst.TwoK));
        var s = Vector128<float>.One / (Vector128<float>.One + Vector128.Exp(-u));
        return g * Vector128.FusedMultiplyAdd(x * s * (Vector128<float>.One - s), du, s);
    }
}

/// <summary>softplus(x) = log(1 + exp(βx))/β, and x where βx &gt; threshold (as PyTorch). log1p is evaluated with the
/// u = 1 + e, log(u)·e/(u − 1) correction so tiny values keep full relative precision.</summary>
internal readonly struct SoftplusForward(float beta, float threshold) : IVectorOp1
{
    public float Invoke(float x)
    {
        float t = x * beta;
        float e = MathF.Exp(-MathF.Abs(t));
        float u = 1f + e;
        float log1p = u == 1f ? e : MathF.Log(u) * e / (u - 1f);
        float sp = ((t > 0f ? t : 0f) + log1p) / beta;
        return t > threshold ? x : sp;
    }

    public Vector512<float> Invoke(Vector512<float> x)
    {
        var t = x * beta;
        var e = Vector512.Exp(-Vector512.Abs(t));
        var u = Vector512<float>.One + e;
        var log1p = Vector512.ConditionalSelect(Vector512.Equals(u, Vector512<float>.One), e, Vector512.Log(u) * e / (u - Vector512<float>.One));
        var sp = (Vector512.ConditionalSelect(Vector512.GreaterThan(t, Vector512<float>.Zero), t, Vector512<float>.Zero) + log1p) / beta;
        return Vector512.ConditionalSelect(Vector512.GreaterThan(t, Vector512.Create(threshold)), x, sp);
    }

    public Vector256<float> Invoke(Vector256<float> x)
    {
        var t = x * beta;
        var e = Vector256.Exp(-Vector256.Abs(t));
        var u = Vector256<float>.One + e;
        var log1p = Vector256.ConditionalSelect(Vector256.Equals(u, Vector256<float>.One), e, Vector256.Log(u) * e / (u - Vector256<float>.One));
        var sp = (Vector256.ConditionalSelect(Vector256.GreaterThan(t, Vector256<float>.Zero), t, Vector256<float>.Zero) + log1p) / beta;
        return Vector256.ConditionalSelect(Vector256.GreaterThan(t, Vector256.Create(threshold)), x, sp);
    }

    public Vector128<float> Invoke(Vector128<float> x)
    {
        var t = x * beta;
        var e = Vector128.Exp(-Vector128.Abs(t));
        var u = Vector128<float>.One + e;
        var log1p = Vector128.ConditionalSelect(Vector128.Equals(u, Vector128<float>.One), e, Vector128.Log(u) * e / (u - Vector128<float>.One));
        var sp = (Vector128.ConditionalSelect(Vector128.GreaterThan(t, Vector128<float>.Zero), t, Vector128<float>.Zero) + log1p) / beta;
        return Vector128.ConditionalSelect(Vector128.GreaterThan(t, Vector128.Create(threshold)), x, sp);
    }
}

/// <summary>(g, x) ↦ βx &gt; threshold ? g : g·σ(βx).</summary>
internal readonly struct SoftplusBackward(float beta, float threshold) : IVectorOp2
{
    public float Invoke(float g, float x)
    {
        float t = x * beta;
        float s = 1f / (1f + MathF.Exp(-t));
        return t > threshold ? g : g * s;
    }

    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x)
    {
        var t = x * beta;
        var s = Vector512<float>.One / (Vector512<float>.One + Vector512.Exp(-t));
        return Vector512.ConditionalSelect(Vector512.GreaterThan(t, Vector512.Create(threshold)), g, g * s);
    }

    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x)
    {
        var t = x * beta;
        var s = Vector256<float>.One / (Vector256<float>.One + Vector256.Exp(-t));
        return Vector256.ConditionalSelect(Vector256.GreaterThan(t, Vector256.Create(threshold)), g, g * s);
    }

    public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x)
    {
        var t = x * beta;
        var s = Vector128<float>.One / (Vector128<float>.One + Vector128.Exp(-t));
        return Vector128.ConditionalSelect(Vector128.GreaterThan(t, Vector128.Create(threshold)), g, g * s);
    }
}

/// <summary>(g, mask) ↦ g·mask (dropout's backward, and any elementwise scaling by a saved mask).</summary>
internal readonly struct MulOp : IVectorOp2
{
    public float Invoke(float a, float b) => a * b;
    public Vector512<float> Invoke(Vector512<float> a, Vector512<float> b) => a * b;
    public Vector256<float> Invoke(Vector256<float> a, Vector256<float> b) => a * b;
    public Vector128<float> Invoke(Vector128<float> a, Vector128<float> b) => a * b;
}
