using System.Text;

namespace Learner.Nn;

/// <summary>Shape arithmetic shared by the operations: products, strides, axes and broadcasting.</summary>
internal static class ShapeUtil
{
    internal static long Product(ReadOnlySpan<int> shape)
    {
        long p = 1;
        foreach (int d in shape) p *= d;
        return p;
    }

    internal static long Product(ReadOnlySpan<int> shape, int from, int to)
    {
        long p = 1;
        for (int i = from; i < to; i++) p *= shape[i];
        return p;
    }

    internal static bool SameShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

    internal static int NormalizeAxis(int axis, int rank, string op)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
            throw new ShapeMismatchException($"{op}: axis {axis} is out of range for a tensor of rank {rank}.");
        return a;
    }

    internal static int[] Strides(ReadOnlySpan<int> shape)
    {
        var s = new int[shape.Length];
        int acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
        return s;
    }

    internal static int FlatIndex(ReadOnlySpan<int> shape, ReadOnlySpan<int> index)
    {
        if (index.Length != shape.Length)
            throw new ShapeMismatchException($"Index of rank {index.Length} used on a tensor of shape {Tensor.ShapeString(shape)}.");
        int flat = 0;
        for (int i = 0; i < shape.Length; i++)
        {
            int ix = index[i];
            if ((uint)ix >= (uint)shape[i])
                throw new IndexOutOfRangeException($"Index {ix} is out of range for axis {i} of length {shape[i]} (shape {Tensor.ShapeString(shape)}).");
            flat = flat * shape[i] + ix;
        }
        return flat;
    }

    internal static string UnflattenString(ReadOnlySpan<int> shape, int flat)
    {
        if (shape.Length == 0) return "[]";
        var idx = new int[shape.Length];
        for (int i = shape.Length - 1; i >= 0; i--) { idx[i] = shape[i] == 0 ? 0 : flat % shape[i]; flat = shape[i] == 0 ? 0 : flat / shape[i]; }
        return Tensor.ShapeString(idx);
    }

    /// <summary>The numpy-style broadcast of two shapes.</summary>
    internal static int[] Broadcast(ReadOnlySpan<int> a, ReadOnlySpan<int> b, string op)
    {
        int rank = Math.Max(a.Length, b.Length);
        var r = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da == db || db == 1) r[i] = da;
            else if (da == 1) r[i] = db;
            else throw new ShapeMismatchException($"{op}: shapes {Tensor.ShapeString(a)} and {Tensor.ShapeString(b)} cannot be broadcast (axis {i} of the broadcast: {da} vs {db}).");
        }
        return r;
    }

    /// <summary>Strides of <paramref name="shape"/> aligned to the broadcast shape <paramref name="outShape"/>, with 0 on broadcast axes.</summary>
    internal static int[] BroadcastStrides(ReadOnlySpan<int> shape, ReadOnlySpan<int> outShape)
    {
        var s = new int[outShape.Length];
        int offset = outShape.Length - shape.Length;
        int acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            s[i + offset] = shape[i] == 1 && outShape[i + offset] != 1 ? 0 : acc;
            acc *= shape[i];
        }
        return s;
    }

    internal static string Format(ReadOnlySpan<int> shape) => Tensor.ShapeString(shape);

    internal static string Join(IEnumerable<int[]> shapes)
    {
        var sb = new StringBuilder();
        foreach (var s in shapes) { if (sb.Length > 0) sb.Append(", "); sb.Append(Tensor.ShapeString(s)); }
        return sb.ToString();
    }
}
