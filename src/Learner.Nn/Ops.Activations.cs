using System.Numerics.Tensors;
using Learner.Nn.Kernels;

namespace Learner.Nn;

public static partial class Ops
{
    /// <summary>Runs a vectorized activation and records its backward, computed from the input
    /// (or from the output when <paramref name="backwardFromOutput"/>).</summary>
    private static Tensor Activation<TForward, TBackward>(Tensor x, string name, TForward forward, TBackward backward, bool backwardFromOutput)
        where TForward : struct, IVectorOp1 where TBackward : struct, IVectorOp2
    {
        ArgumentNullException.ThrowIfNull(x);
        var o = Tensor.CreateOwned(x.ShapeArray, clear: false);
        VectorMap.MapParallel(forward, x.Storage, o.Storage, x.Size);
        return RecordActivation(x, o, name, backward, backwardFromOutput);
    }

    private static Tensor RecordActivation<TBackward>(Tensor x, Tensor o, string name, TBackward backward, bool backwardFromOutput) where TBackward : struct, IVectorOp2
    {
        if (!Autograd.ShouldRecord(x)) return o;
        return Autograd.Record(o, name, new[] { x }, g =>
        {
            var gi = Tensor.CreateOwned(x.ShapeArray, clear: false);
            VectorMap.MapParallel(backward, g.Storage, backwardFromOutput ? o.Storage : x.Storage, gi.Storage, x.Size);
            return new[] { gi };
        });
    }

    /// <summary>Rectified linear unit, max(x, 0); NaN propagates. The gradient is 1 where x &gt; 0 and 0 elsewhere.</summary>
    /// <param name="x">The input.</param>
    /// <returns>relu(x), same shape.</returns>
    public static Tensor Relu(Tensor x) => Activation(x, "Relu", new ReluForward(), new ReluBackward(), backwardFromOutput: false);

    /// <summary>
    /// <c>Relu(Add(a, b))</c> in one op, for two tensors of one shape (the residual join of a ResNet block): the sum goes
    /// through relu as it is written, and the backward hands the one masked gradient to both inputs — one pass over the
    /// tensor each way instead of two, and one tensor fewer. The same bits as the two ops composed. Shapes that
    /// broadcast are computed as the two ops.
    /// </summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    /// <returns>relu(a + b).</returns>
    /// <exception cref="ShapeMismatchException">The shapes do not broadcast.</exception>
    public static Tensor AddRelu(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!ShapeUtil.SameShape(a.Shape, b.Shape)) return Relu(Add(a, b));
        var o = Tensor.CreateOwned(a.ShapeArray, clear: false);
        VectorMap.MapParallel(new AddReluForward(), a.Storage, b.Storage, o.Storage, a.Size);
        if (!Autograd.ShouldRecord(a, b)) return o;
        return Autograd.Record(o, "AddRelu", new[] { a, b }, g =>
        {
            var gi = Tensor.CreateOwned(o.ShapeArray, clear: false);
            VectorMap.MapParallel(new ReluBackward(), g.Storage, o.Storage, gi.Storage, o.Size);
            return new[] { a.RequiresGrad ? gi : null, b.RequiresGrad ? gi : null };
        });
    }

    /// <summary>Leaky rectified linear unit: x where x &gt; 0, <paramref name="slope"/>·x elsewhere.</summary>
    /// <param name="x">The input.</param>
    /// <param name="slope">Slope for non-positive inputs (PyTorch's negative_slope); must be finite.</param>
    /// <returns>leaky_relu(x), same shape.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="slope"/> is NaN or infinite.</exception>
    public static Tensor LeakyRelu(Tensor x, float slope = 0.01f)
    {
        if (!float.IsFinite(slope)) throw new ArgumentOutOfRangeException(nameof(slope), slope, FormattableString.Invariant($"LeakyRelu: slope must be finite, got {slope}."));
        return Activation(x, "LeakyRelu", new LeakyReluForward(slope), new LeakyReluBackward(slope), backwardFromOutput: false);
    }

    /// <summary>Gaussian error linear unit, x·Φ(x) with Φ the standard normal CDF (PyTorch's default, exact erf form),
    /// or, when <paramref name="approximateTanh"/>, ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (PyTorch's approximate='tanh').</summary>
    /// <param name="x">The input.</param>
    /// <param name="approximateTanh">Use the tanh approximation instead of the exact form.</param>
    /// <returns>gelu(x), same shape.</returns>
    public static Tensor Gelu(Tensor x, bool approximateTanh = false) => approximateTanh
        ? Activation(x, "GeluTanh", new GeluTanhForward(), new GeluTanhBackward(), backwardFromOutput: false)
        : Activation(x, "Gelu", new GeluForward(), new GeluBackward(), backwardFromOutput: false);

    /// <summary>Logistic sigmoid, 1/(1 + e^(−x)).</summary>
    /// <param name="x">The input.</param>
    /// <returns>σ(x), same shape.</returns>
    public static Tensor Sigmoid(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var o = Tensor.CreateOwned(x.ShapeArray, clear: false);
        float[] xs = x.Storage, os = o.Storage;
        RowParallel.For(x.Size, 1, (s, e) => TensorPrimitives.Sigmoid(xs.AsSpan(s, e - s), os.AsSpan(s, e - s)));
        return RecordActivation(x, o, "Sigmoid", new SigmoidBackward(), backwardFromOutput: true);
    }

    /// <summary>Hyperbolic tangent.</summary>
    /// <param name="x">The input.</param>
    /// <returns>tanh(x), same shape.</returns>
    public static Tensor Tanh(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var o = Tensor.CreateOwned(x.ShapeArray, clear: false);
        float[] xs = x.Storage, os = o.Storage;
        RowParallel.For(x.Size, 1, (s, e) => TensorPrimitives.Tanh(xs.AsSpan(s, e - s), os.AsSpan(s, e - s)));
        return RecordActivation(x, o, "Tanh", new TanhBackward(), backwardFromOutput: true);
    }

    /// <summary>Softplus, log(1 + e^(βx))/β, a smooth relu; as in PyTorch it returns x itself where βx &gt; 20.</summary>
    /// <param name="x">The input.</param>
    /// <param name="beta">Sharpness β; must be positive and finite.</param>
    /// <returns>softplus(x), same shape.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="beta"/> is not positive and finite.</exception>
    public static Tensor Softplus(Tensor x, float beta = 1f)
    {
        if (!(beta > 0f) || !float.IsFinite(beta)) throw new ArgumentOutOfRangeException(nameof(beta), beta, FormattableString.Invariant($"Softplus: beta must be positive and finite, got {beta}."));
        const float Threshold = 20f;
        return Activation(x, "Softplus", new SoftplusForward(beta, Threshold), new SoftplusBackward(beta, Threshold), backwardFromOutput: false);
    }
}

public partial class Tensor
{
    /// <summary>Rectified linear unit (see <see cref="Ops.Relu"/>).</summary>
    /// <returns>relu(this).</returns>
    public Tensor Relu() => Ops.Relu(this);

    /// <summary>Leaky rectified linear unit (see <see cref="Ops.LeakyRelu"/>).</summary>
    /// <param name="slope">Slope for non-positive inputs.</param>
    /// <returns>leaky_relu(this).</returns>
    public Tensor LeakyRelu(float slope = 0.01f) => Ops.LeakyRelu(this, slope);

    /// <summary>Gaussian error linear unit (see <see cref="Ops.Gelu"/>).</summary>
    /// <param name="approximateTanh">Use the tanh approximation.</param>
    /// <returns>gelu(this).</returns>
    public Tensor Gelu(bool approximateTanh = false) => Ops.Gelu(this, approximateTanh);

    /// <summary>Logistic sigmoid (see <see cref="Ops.Sigmoid"/>).</summary>
    /// <returns>σ(this).</returns>
    public Tensor Sigmoid() => Ops.Sigmoid(this);

    /// <summary>Hyperbolic tangent (see <see cref="Ops.Tanh"/>).</summary>
    /// <returns>tanh(this).</returns>
    public Tensor Tanh() => Ops.Tanh(this);

    /// <summary>Softplus (see <see cref="Ops.Softplus"/>).</summary>
    /// <param name="beta">Sharpness β.</param>
    /// <returns>softplus(this).</returns>
    public Tensor Softplus(float beta = 1f) => Ops.Softplus(this, beta);
}
