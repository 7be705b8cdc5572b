using TorchSharp;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp;

/// <summary>
/// The scalars the device code passes to libtorch, kept alive for as long as libtorch reads them.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 does not keep a <see cref="Scalar"/> argument reachable during its native call: a temporary — the
/// <c>0</c> in <c>t.ne(0)</c>, the <c>2f</c> in <c>t * 2f</c> (converted inside TorchSharp's operator), the exponent in
/// <c>t.square()</c> — can be finalised by a garbage collection in the middle of the call, and libtorch then reads a
/// freed scalar ("Unknown scalar type", or a crash). So the device code converts no number on the way into a TorchSharp
/// call: constants are the fields below, alive for the process, and a value known only at run time goes through the
/// operations below, which hold it in a <c>using</c> local until libtorch has returned. ScalarLifetimeTests checks the
/// compiled code for any other conversion.
/// </remarks>
internal static class DeviceScalars
{
    /// <summary>0 (an integer: <c>ne</c> compares any dtype with it).</summary>
    public static readonly Scalar Zero = 0;
    /// <summary>1 (an integer: the <c>alpha</c> of <c>add</c>, as TorchSharp's own overloads pass it).</summary>
    public static readonly Scalar One = 1;
    /// <summary>0f.</summary>
    public static readonly Scalar ZeroF = 0f;
    /// <summary>1f.</summary>
    public static readonly Scalar OneF = 1f;
    /// <summary>2f, the exponent of <see cref="Square"/> and the factor of the Gram term.</summary>
    public static readonly Scalar TwoF = 2f;
    /// <summary>16f.</summary>
    public static readonly Scalar SixteenF = 16f;
    /// <summary>−1.</summary>
    public static readonly Scalar MinusOne = -1.0;
    /// <summary>−∞.</summary>
    public static readonly Scalar NegativeInfinity = double.NegativeInfinity;
    /// <summary>+∞.</summary>
    public static readonly Scalar PositiveInfinity = double.PositiveInfinity;

    /// <summary>x² elementwise (TorchSharp's <c>square()</c> makes its exponent a temporary scalar).</summary>
    public static TTensor Square(this TTensor x) => x.pow(TwoF);

    /// <summary>x · c.</summary>
    public static TTensor Times(this TTensor x, double c)
    {
        using Scalar s = c;
        return x.mul(s);
    }

    /// <summary>x · c.</summary>
    public static TTensor Times(this TTensor x, float c)
    {
        using Scalar s = c;
        return x.mul(s);
    }

    /// <summary>x + c.</summary>
    public static TTensor Plus(this TTensor x, double c)
    {
        using Scalar s = c;
        return x.add(s, One);
    }

    /// <summary>x + c.</summary>
    public static TTensor Plus(this TTensor x, float c)
    {
        using Scalar s = c;
        return x.add(s, One);
    }

    /// <summary>x + y (TorchSharp's <c>+</c> and <c>add(y)</c> pass <c>alpha</c> = 1 as a temporary scalar).</summary>
    public static TTensor Plus(this TTensor x, TTensor y) => x.add(y, One);

    /// <summary>c − x, as TorchSharp's operator computes it (−x + c).</summary>
    public static TTensor SubtractedFrom(this TTensor x, float c)
    {
        using Scalar s = c;
        using var negated = x.negative();
        return negated.add(s, One);
    }

    /// <summary>x − c.</summary>
    public static TTensor Minus(this TTensor x, int c)
    {
        using Scalar s = c;
        return x.sub(s);
    }

    /// <summary>max(x, c).</summary>
    public static TTensor ClampMin(this TTensor x, double c)
    {
        using Scalar s = c;
        return x.clamp_min(s);
    }
}
