using System.Numerics.Tensors;
using Learner.Nn.Kernels;

namespace Learner.Nn;

/// <summary>
/// Differentiable tensor operations. Each records its backward on the autograd graph when an input requires
/// gradients and gradient mode is on (see <see cref="Autograd.NoGrad"/>).
/// </summary>
public static partial class Ops
{
    private static Tensor Binary(BinaryOp op, string name, Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var outShape = ShapeUtil.SameShape(a.Shape, b.Shape) ? a.ShapeArray : ShapeUtil.Broadcast(a.Shape, b.Shape, name);
        var o = Tensor.CreateOwned(outShape, clear: false);
        Elementwise.Binary(op, a.Data, a.ShapeRef, b.Data, b.ShapeRef, o.Data, outShape);
        if (!Autograd.ShouldRecord(a, b)) return o;
        return Autograd.Record(o, name, new[] { a, b }, g =>
        {
            Tensor? ga = null, gb = null;
            switch (op)
            {
                case BinaryOp.Add:
                    if (a.RequiresGrad) ga = ReduceTo(g, a);
                    if (b.RequiresGrad) gb = ReduceTo(g, b);
                    break;
                case BinaryOp.Sub:
                    if (a.RequiresGrad) ga = ReduceTo(g, a);
                    if (b.RequiresGrad)
                    {
                        var neg = Tensor.CreateOwned(g.ShapeArray, clear: false);
                        TensorPrimitives.Negate(g.Data, neg.Data);
                        gb = ReduceTo(neg, b);
                    }
                    break;
                case BinaryOp.Mul:
                    if (a.RequiresGrad) ga = ReduceTo(Raw(BinaryOp.Mul, g, b), a);
                    if (b.RequiresGrad) gb = ReduceTo(Raw(BinaryOp.Mul, g, a), b);
                    break;
                default:
                    // d(a/b)/da = 1/b ; d(a/b)/db = -a/b² = -(a/b)/b
                    if (a.RequiresGrad) ga = ReduceTo(Raw(BinaryOp.Div, g, b), a);
                    if (b.RequiresGrad)
                    {
                        var t = Raw(BinaryOp.Mul, g, o);
                        var t2 = Raw(BinaryOp.Div, t, b);
                        TensorPrimitives.Negate(t2.Data, t2.Data);
                        gb = ReduceTo(t2, b);
                    }
                    break;
            }
            return new[] { ga, gb };
        });
    }

    /// <summary>Broadcasting binary op without autograd (for backward passes).</summary>
    internal static Tensor Raw(BinaryOp op, Tensor a, Tensor b)
    {
        var outShape = ShapeUtil.SameShape(a.Shape, b.Shape) ? a.ShapeArray : ShapeUtil.Broadcast(a.Shape, b.Shape, op.ToString());
        var o = Tensor.CreateOwned(outShape, clear: false);
        Elementwise.Binary(op, a.Data, a.ShapeRef, b.Data, b.ShapeRef, o.Data, outShape);
        return o;
    }

    /// <summary>Sums a broadcast gradient back to the shape of <paramref name="like"/>.</summary>
    internal static Tensor ReduceTo(Tensor g, Tensor like)
    {
        if (ShapeUtil.SameShape(g.Shape, like.Shape)) return g;
        var r = Tensor.CreateOwned(like.ShapeArray, clear: true);
        Elementwise.ReduceToShape(g.Data, g.ShapeRef, r.Data, like.ShapeRef);
        return r;
    }

    /// <summary>Elementwise sum with broadcasting.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    /// <returns>a + b.</returns>
    public static Tensor Add(Tensor a, Tensor b) => Binary(BinaryOp.Add, "Add", a, b);

    /// <summary>Elementwise difference with broadcasting.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    /// <returns>a − b.</returns>
    public static Tensor Sub(Tensor a, Tensor b) => Binary(BinaryOp.Sub, "Sub", a, b);

    /// <summary>Elementwise product with broadcasting.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    /// <returns>a ⊙ b.</returns>
    public static Tensor Mul(Tensor a, Tensor b) => Binary(BinaryOp.Mul, "Mul", a, b);

    /// <summary>Elementwise quotient with broadcasting.</summary>
    /// <param name="a">Numerator.</param>
    /// <param name="b">Denominator.</param>
    /// <returns>a ⊘ b.</returns>
    public static Tensor Div(Tensor a, Tensor b) => Binary(BinaryOp.Div, "Div", a, b);

    /// <summary>Adds a constant.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The constant.</param>
    /// <returns>a + s.</returns>
    public static Tensor Add(Tensor a, float s) => Unary(a, "AddScalar", (x, y) => TensorPrimitives.Add(x, s, y), (g, x, y, gi) => g.CopyTo(gi));

    /// <summary>Multiplies by a constant.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="s">The constant.</param>
    /// <returns>a · s.</returns>
    public static Tensor Mul(Tensor a, float s) => Unary(a, "MulScalar", (x, y) => TensorPrimitives.Multiply(x, s, y), (g, x, y, gi) => TensorPrimitives.Multiply(g, s, gi));

    /// <summary>Subtracts the tensor from a constant.</summary>
    /// <param name="s">The constant.</param>
    /// <param name="a">The tensor.</param>
    /// <returns>s − a.</returns>
    public static Tensor Sub(float s, Tensor a) => Unary(a, "RSubScalar", (x, y) => TensorPrimitives.Subtract(s, x, y), (g, x, y, gi) => TensorPrimitives.Negate(g, gi));

    /// <summary>Divides a constant by the tensor.</summary>
    /// <param name="s">The constant.</param>
    /// <param name="a">The tensor.</param>
    /// <returns>s ⊘ a.</returns>
    public static Tensor Div(float s, Tensor a) => Unary(a, "RDivScalar", (x, y) => TensorPrimitives.Divide(s, x, y),
        (g, x, y, gi) => { TensorPrimitives.Multiply(g, y, gi); TensorPrimitives.Divide(gi, x, gi); TensorPrimitives.Negate(gi, gi); });

    /// <summary>Negation.</summary>
    /// <param name="a">The tensor.</param>
    /// <returns>−a.</returns>
    public static Tensor Neg(Tensor a) => Unary(a, "Neg", (x, y) => TensorPrimitives.Negate(x, y), (g, x, y, gi) => TensorPrimitives.Negate(g, gi));

    /// <summary>Elementwise exponential.</summary>
    /// <param name="a">The tensor.</param>
    /// <returns>exp(a).</returns>
    public static Tensor Exp(Tensor a) => Unary(a, "Exp", (x, y) => TensorPrimitives.Exp(x, y), (g, x, y, gi) => TensorPrimitives.Multiply(g, y, gi));

    /// <summary>Elementwise natural logarithm (−∞ at 0, NaN below).</summary>
    /// <param name="a">The tensor.</param>
    /// <returns>log(a).</returns>
    public static Tensor Log(Tensor a) => Unary(a, "Log", (x, y) => TensorPrimitives.Log(x, y), (g, x, y, gi) => TensorPrimitives.Divide(g, x, gi));

    /// <summary>Elementwise square root.</summary>
    /// <param name="a">The tensor.</param>
    /// <returns>√a.</returns>
    public static Tensor Sqrt(Tensor a) => Unary(a, "Sqrt", (x, y) => TensorPrimitives.Sqrt(x, y),
        (g, x, y, gi) => { TensorPrimitives.Divide(g, y, gi); TensorPrimitives.Multiply(gi, 0.5f, gi); });

    /// <summary>Elementwise square.</summary>
    /// <param name="a">The tensor.</param>
    /// <returns>a².</returns>
    public static Tensor Square(Tensor a) => Unary(a, "Square", (x, y) => TensorPrimitives.Multiply(x, x, y),
        (g, x, y, gi) => { TensorPrimitives.Multiply(g, x, gi); TensorPrimitives.Multiply(gi, 2f, gi); });

    /// <summary>Elementwise absolute value (subgradient 0 at 0).</summary>
    /// <param name="a">The tensor.</param>
    /// <returns>|a|.</returns>
    public static Tensor Abs(Tensor a) => Unary(a, "Abs", (x, y) => TensorPrimitives.Abs(x, y),
        (g, x, y, gi) => { for (int i = 0; i < gi.Length; i++) gi[i] = x[i] > 0 ? g[i] : x[i] < 0 ? -g[i] : 0f; });

    /// <summary>Elementwise power with a constant exponent.</summary>
    /// <param name="a">The base.</param>
    /// <param name="exponent">The exponent.</param>
    /// <returns>a^exponent.</returns>
    public static Tensor Pow(Tensor a, float exponent)
    {
        if (exponent == 2f) return Square(a);
        if (exponent == 1f) return Mul(a, 1f);
        return Unary(a, "Pow", (x, y) => TensorPrimitives.Pow(x, exponent, y),
            (g, x, y, gi) =>
            {
                // d/dx x^p = p x^(p-1)
                TensorPrimitives.Pow(x, exponent - 1f, gi);
                TensorPrimitives.Multiply(gi, exponent, gi);
                TensorPrimitives.Multiply(gi, g, gi);
            });
    }

    /// <summary>The forward kernel of a unary op: reads x, writes y.</summary>
    internal delegate void UnaryForward(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>The backward kernel of a unary op: from g, x and y, writes the input gradient gi.</summary>
    internal delegate void UnaryBackward(ReadOnlySpan<float> g, ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> gi);

    /// <summary>Runs a unary elementwise op and records its backward.</summary>
    internal static Tensor Unary(Tensor a, string name, UnaryForward forward, UnaryBackward backward)
    {
        ArgumentNullException.ThrowIfNull(a);
        var o = Tensor.CreateOwned(a.ShapeArray, clear: false);
        forward(a.Data, o.Data);
        if (!Autograd.ShouldRecord(a)) return o;
        return Autograd.Record(o, name, new[] { a }, g =>
        {
            var gi = Tensor.CreateOwned(a.ShapeArray, clear: false);
            backward(g.Data, a.Data, o.Data, gi.Data);
            return new[] { gi };
        });
    }
}

public partial class Tensor
{
    /// <summary>Elementwise sum with broadcasting.</summary>
    /// <param name="a">Left.</param>
    /// <param name="b">Right.</param>
    /// <returns>The sum.</returns>
    public static Tensor operator +(Tensor a, Tensor b) => Ops.Add(a, b);

    /// <summary>Elementwise difference with broadcasting.</summary>
    /// <param name="a">Left.</param>
    /// <param name="b">Right.</param>
    /// <returns>The difference.</returns>
    public static Tensor operator -(Tensor a, Tensor b) => Ops.Sub(a, b);

    /// <summary>Elementwise product with broadcasting.</summary>
    /// <param name="a">Left.</param>
    /// <param name="b">Right.</param>
    /// <returns>The product.</returns>
    public static Tensor operator *(Tensor a, Tensor b) => Ops.Mul(a, b);

    /// <summary>Elementwise quotient with broadcasting.</summary>
    /// <param name="a">Numerator.</param>
    /// <param name="b">Denominator.</param>
    /// <returns>The quotient.</returns>
    public static Tensor operator /(Tensor a, Tensor b) => Ops.Div(a, b);

    /// <summary>Adds a constant.</summary>
    /// <param name="a">Tensor.</param>
    /// <param name="s">Constant.</param>
    /// <returns>a + s.</returns>
    public static Tensor operator +(Tensor a, float s) => Ops.Add(a, s);

    /// <summary>Adds a constant.</summary>
    /// <param name="s">Constant.</param>
    /// <param name="a">Tensor.</param>
    /// <returns>s + a.</returns>
    public static Tensor operator +(float s, Tensor a) => Ops.Add(a, s);

    /// <summary>Subtracts a constant.</summary>
    /// <param name="a">Tensor.</param>
    /// <param name="s">Constant.</param>
    /// <returns>a − s.</returns>
    public static Tensor operator -(Tensor a, float s) => Ops.Add(a, -s);

    /// <summary>Subtracts from a constant.</summary>
    /// <param name="s">Constant.</param>
    /// <param name="a">Tensor.</param>
    /// <returns>s − a.</returns>
    public static Tensor operator -(float s, Tensor a) => Ops.Sub(s, a);

    /// <summary>Multiplies by a constant.</summary>
    /// <param name="a">Tensor.</param>
    /// <param name="s">Constant.</param>
    /// <returns>a · s.</returns>
    public static Tensor operator *(Tensor a, float s) => Ops.Mul(a, s);

    /// <summary>Multiplies by a constant.</summary>
    /// <param name="s">Constant.</param>
    /// <param name="a">Tensor.</param>
    /// <returns>s · a.</returns>
    public static Tensor operator *(float s, Tensor a) => Ops.Mul(a, s);

    /// <summary>Divides by a constant.</summary>
    /// <param name="a">Tensor.</param>
    /// <param name="s">Constant.</param>
    /// <returns>a / s.</returns>
    public static Tensor operator /(Tensor a, float s) => Ops.Mul(a, 1f / s);

    /// <summary>Divides a constant by the tensor.</summary>
    /// <param name="s">Constant.</param>
    /// <param name="a">Tensor.</param>
    /// <returns>s / a.</returns>
    public static Tensor operator /(float s, Tensor a) => Ops.Div(s, a);

    /// <summary>Negation.</summary>
    /// <param name="a">Tensor.</param>
    /// <returns>−a.</returns>
    public static Tensor operator -(Tensor a) => Ops.Neg(a);
}
