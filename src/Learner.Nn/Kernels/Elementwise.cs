using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Learner.Nn.Kernels;

/// <summary>The binary elementwise operations the broadcasting kernel implements.</summary>
internal enum BinaryOp { Add, Sub, Mul, Div }

/// <summary>Elementwise kernels: broadcasting binary operations and broadcast reduction.</summary>
internal static class Elementwise
{
    /// <summary>dst += src.</summary>
    internal static void AddInPlace(Span<float> dst, ReadOnlySpan<float> src) => TensorPrimitives.Add(dst, src, dst);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RunVV(BinaryOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> o)
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(a, b, o); break;
            case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, o); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(a, b, o); break;
            default: TensorPrimitives.Divide(a, b, o); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RunVS(BinaryOp op, ReadOnlySpan<float> a, float b, Span<float> o)
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(a, b, o); break;
            case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, o); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(a, b, o); break;
            default: TensorPrimitives.Divide(a, b, o); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RunSV(BinaryOp op, float a, ReadOnlySpan<float> b, Span<float> o)
    {
        switch (op)
        {
            case BinaryOp.Add: TensorPrimitives.Add(b, a, o); break;
            case BinaryOp.Sub: TensorPrimitives.Subtract(a, b, o); break;
            case BinaryOp.Mul: TensorPrimitives.Multiply(b, a, o); break;
            default: TensorPrimitives.Divide(a, b, o); break;
        }
    }

    private static float Apply(BinaryOp op, float a, float b) => op switch
    {
        BinaryOp.Add => a + b,
        BinaryOp.Sub => a - b,
        BinaryOp.Mul => a * b,
        _ => a / b,
    };

    /// <summary>Collapses adjacent axes that are contiguous for every operand, to lengthen the inner runs.</summary>
    private static int Coalesce(int[] shape, int[] sa, int[] sb)
    {
        int rank = shape.Length;
        int w = 0;
        for (int i = 0; i < rank; i++)
        {
            if (shape[i] == 1) continue; // size-1 axes contribute nothing
            if (w > 0 && sa[w - 1] == sa[i] * shape[i] && sb[w - 1] == sb[i] * shape[i])
            {
                shape[w - 1] *= shape[i];
                sa[w - 1] = sa[i];
                sb[w - 1] = sb[i];
            }
            else
            {
                shape[w] = shape[i]; sa[w] = sa[i]; sb[w] = sb[i];
                w++;
            }
        }
        return w;
    }

    /// <summary>o = a (op) b with numpy broadcasting; <paramref name="outShape"/> is the broadcast shape.</summary>
    internal static void Binary(BinaryOp op, ReadOnlySpan<float> a, int[] aShape, ReadOnlySpan<float> b, int[] bShape, Span<float> o, int[] outShape)
    {
        if (o.Length == 0) return;
        if (a.Length == o.Length && b.Length == o.Length) { RunVV(op, a, b, o); return; }
        if (b.Length == 1 && a.Length == o.Length) { RunVS(op, a, b[0], o); return; }
        if (a.Length == 1 && b.Length == o.Length) { RunSV(op, a[0], b, o); return; }

        var shape = (int[])outShape.Clone();
        var sa = ShapeUtil.BroadcastStrides(aShape, outShape);
        var sb = ShapeUtil.BroadcastStrides(bShape, outShape);
        int rank = Coalesce(shape, sa, sb);
        int inner = shape[rank - 1];
        int ia = sa[rank - 1], ib = sb[rank - 1];
        Span<int> counter = stackalloc int[rank];
        int offA = 0, offB = 0;
        for (int offO = 0; offO < o.Length; offO += inner)
        {
            var dst = o.Slice(offO, inner);
            if (ia == 1 && ib == 1) RunVV(op, a.Slice(offA, inner), b.Slice(offB, inner), dst);
            else if (ia == 1 && ib == 0) RunVS(op, a.Slice(offA, inner), b[offB], dst);
            else if (ia == 0 && ib == 1) RunSV(op, a[offA], b.Slice(offB, inner), dst);
            else if (ia == 0 && ib == 0) dst.Fill(Apply(op, a[offA], b[offB]));
            else for (int j = 0; j < inner; j++) dst[j] = Apply(op, a[offA + j * ia], b[offB + j * ib]);
            // advance the outer counter
            for (int d = rank - 2; d >= 0; d--)
            {
                offA += sa[d]; offB += sb[d];
                if (++counter[d] < shape[d]) break;
                offA -= sa[d] * shape[d]; offB -= sb[d] * shape[d];
                counter[d] = 0;
            }
        }
    }

    /// <summary>dst (of shape <paramref name="dstShape"/>) += the sum of <paramref name="g"/> (of shape <paramref name="gShape"/>) over
    /// the axes along which <paramref name="dstShape"/> was broadcast to <paramref name="gShape"/>.</summary>
    internal static void ReduceToShape(ReadOnlySpan<float> g, int[] gShape, Span<float> dst, int[] dstShape)
    {
        if (g.Length == 0) return;
        if (dst.Length == g.Length) { TensorPrimitives.Add(dst, g, dst); return; }
        if (dst.Length == 1) { dst[0] += (float)Simd.Sum(g); return; }
        var shape = (int[])gShape.Clone();
        var sd = ShapeUtil.BroadcastStrides(dstShape, gShape);
        var sg = ShapeUtil.Strides(gShape);
        int rank = Coalesce(shape, sd, sg);
        int inner = shape[rank - 1];
        int id = sd[rank - 1];
        Span<int> counter = stackalloc int[rank];
        int offD = 0;
        for (int offG = 0; offG < g.Length; offG += inner)
        {
            var src = g.Slice(offG, inner);
            if (id == 1) { var d = dst.Slice(offD, inner); TensorPrimitives.Add(d, src, d); }
            else if (id == 0) dst[offD] += TensorPrimitives.Sum(src);
            else for (int j = 0; j < inner; j++) dst[offD + j * id] += src[j];
            for (int d = rank - 2; d >= 0; d--)
            {
                offD += sd[d];
                if (++counter[d] < shape[d]) break;
                offD -= sd[d] * shape[d];
                counter[d] = 0;
            }
        }
    }
}
