namespace Learner.Nn;

public static partial class Ops
{
    /// <summary>A view with a new shape (no copy). One entry may be −1 and is inferred.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="shape">The new shape.</param>
    /// <returns>The view.</returns>
    public static Tensor Reshape(Tensor a, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(shape);
        var s = (int[])shape.Clone();
        int infer = -1; long known = 1;
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == -1)
            {
                if (infer >= 0) throw new ShapeMismatchException($"Reshape to {Tensor.ShapeString(shape)}: only one dimension can be −1.");
                infer = i;
            }
            else if (s[i] < 0) throw new ShapeMismatchException($"Reshape to {Tensor.ShapeString(shape)}: negative dimension {s[i]}.");
            else known *= s[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || a.Size % known != 0)
                throw new ShapeMismatchException($"Reshape of {Tensor.ShapeString(a.Shape)} ({a.Size} elements) to {Tensor.ShapeString(shape)}: cannot infer the −1 dimension.");
            s[infer] = (int)(a.Size / known);
        }
        else if (known != a.Size)
            throw new ShapeMismatchException($"Reshape of {Tensor.ShapeString(a.Shape)} ({a.Size} elements) to {Tensor.ShapeString(shape)} ({known} elements).");
        var o = new Tensor(a.Storage, s, register: true, owner: a.Base ?? a);
        if (!Autograd.ShouldRecord(a)) return o;
        var inShape = a.ShapeArray;
        return Autograd.Record(o, "Reshape", new[] { a }, g => new[] { new Tensor(g.Storage, inShape, register: true, owner: g.Base ?? g) });
    }

    /// <summary>Inserts an axis of length 1 at <paramref name="axis"/>.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="axis">Position of the new axis (negative counts from the end of the result).</param>
    /// <returns>The view.</returns>
    public static Tensor Unsqueeze(Tensor a, int axis)
    {
        ArgumentNullException.ThrowIfNull(a);
        int ax = ShapeUtil.NormalizeAxis(axis, a.Rank + 1, "Unsqueeze");
        var s = new List<int>(a.ShapeArray);
        s.Insert(ax, 1);
        return Reshape(a, s.ToArray());
    }

    /// <summary>Removes an axis of length 1.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="axis">The axis.</param>
    /// <returns>The view.</returns>
    public static Tensor Squeeze(Tensor a, int axis)
    {
        ArgumentNullException.ThrowIfNull(a);
        int ax = ShapeUtil.NormalizeAxis(axis, a.Rank, "Squeeze");
        if (a.Shape[ax] != 1) throw new ShapeMismatchException($"Squeeze: axis {axis} of shape {Tensor.ShapeString(a.Shape)} has length {a.Shape[ax]}, not 1.");
        var s = new List<int>(a.ShapeArray);
        s.RemoveAt(ax);
        return Reshape(a, s.ToArray());
    }

    /// <summary>Flattens axes from <paramref name="startAxis"/> on into one.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="startAxis">First axis to flatten.</param>
    /// <returns>The view.</returns>
    public static Tensor Flatten(Tensor a, int startAxis = 1)
    {
        ArgumentNullException.ThrowIfNull(a);
        int ax = ShapeUtil.NormalizeAxis(startAxis, a.Rank, "Flatten");
        var s = new int[ax + 1];
        for (int i = 0; i < ax; i++) s[i] = a.Shape[i];
        s[ax] = (int)ShapeUtil.Product(a.Shape, ax, a.Rank);
        return Reshape(a, s);
    }

    /// <summary>Reorders the axes (a copy): result axis i is input axis <paramref name="axes"/>[i].</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="axes">A permutation of 0..rank−1 (negative entries count from the end).</param>
    /// <returns>The permuted tensor.</returns>
    public static Tensor Permute(Tensor a, params int[] axes)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(axes);
        if (axes.Length != a.Rank) throw new ShapeMismatchException($"Permute: {axes.Length} axes given for a tensor of shape {Tensor.ShapeString(a.Shape)}.");
        var perm = new int[axes.Length];
        var seen = new bool[axes.Length];
        for (int i = 0; i < axes.Length; i++)
        {
            perm[i] = ShapeUtil.NormalizeAxis(axes[i], a.Rank, "Permute");
            if (seen[perm[i]]) throw new ShapeMismatchException($"Permute: axes {Tensor.ShapeString(axes)} are not a permutation.");
            seen[perm[i]] = true;
        }
        var o = PermuteRaw(a, perm);
        if (!Autograd.ShouldRecord(a)) return o;
        var inv = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++) inv[perm[i]] = i;
        return Autograd.Record(o, "Permute", new[] { a }, g => new[] { PermuteRaw(g, inv) });
    }

    internal static Tensor PermuteRaw(Tensor a, int[] perm)
    {
        int rank = a.Rank;
        var outShape = new int[rank];
        for (int i = 0; i < rank; i++) outShape[i] = a.Shape[perm[i]];
        var o = Tensor.CreateOwned(outShape, clear: false);
        if (o.Size == 0) return o;
        var inStrides = ShapeUtil.Strides(a.Shape);
        var src = new int[rank]; // stride in input for each output axis
        for (int i = 0; i < rank; i++) src[i] = inStrides[perm[i]];
        var x = a.Data; var y = o.Data;
        if (rank == 0) { y[0] = x[0]; return o; }
        int inner = outShape[rank - 1], innerStride = src[rank - 1];
        Span<int> counter = stackalloc int[rank];
        int off = 0;
        for (int w = 0; w < y.Length; w += inner)
        {
            if (innerStride == 1) x.Slice(off, inner).CopyTo(y.Slice(w, inner));
            else for (int j = 0, p = off; j < inner; j++, p += innerStride) y[w + j] = x[p];
            for (int d = rank - 2; d >= 0; d--)
            {
                off += src[d];
                if (++counter[d] < outShape[d]) break;
                off -= src[d] * outShape[d];
                counter[d] = 0;
            }
        }
        return o;
    }

    /// <summary>Swaps two axes (a copy).</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="axis0">First axis.</param>
    /// <param name="axis1">Second axis.</param>
    /// <returns>The transposed tensor.</returns>
    public static Tensor Transpose(Tensor a, int axis0 = -2, int axis1 = -1)
    {
        ArgumentNullException.ThrowIfNull(a);
        int x0 = ShapeUtil.NormalizeAxis(axis0, a.Rank, "Transpose"), x1 = ShapeUtil.NormalizeAxis(axis1, a.Rank, "Transpose");
        var perm = new int[a.Rank];
        for (int i = 0; i < perm.Length; i++) perm[i] = i;
        (perm[x0], perm[x1]) = (perm[x1], perm[x0]);
        return Permute(a, perm);
    }

    /// <summary>Joins tensors along an existing axis; all other axes must match.</summary>
    /// <param name="tensors">The tensors (at least one).</param>
    /// <param name="axis">The axis.</param>
    /// <returns>The concatenation.</returns>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ArgumentException("Concat needs at least one tensor.", nameof(tensors));
        var first = tensors[0];
        int rank = first.Rank;
        int ax = ShapeUtil.NormalizeAxis(axis, rank, "Concat");
        int total = 0;
        foreach (var t in tensors)
        {
            ArgumentNullException.ThrowIfNull(t);
            bool ok = t.Rank == rank;
            for (int i = 0; ok && i < rank; i++) if (i != ax && t.Shape[i] != first.Shape[i]) ok = false;
            if (!ok) throw new ShapeMismatchException($"Concat along axis {axis}: shapes {ShapeUtil.Join(tensors.Select(x => x.ShapeArray))} differ off that axis.");
            total += t.Shape[ax];
        }
        var outShape = first.ShapeArray; outShape[ax] = total;
        var o = Tensor.CreateOwned(outShape, clear: false);
        int outer = (int)ShapeUtil.Product(outShape, 0, ax), inner = (int)ShapeUtil.Product(outShape, ax + 1, rank);
        var y = o.Data;
        int offset = 0;
        foreach (var t in tensors)
        {
            int len = t.Shape[ax] * inner;
            var x = t.Data;
            for (int p = 0; p < outer; p++) x.Slice(p * len, len).CopyTo(y.Slice(p * total * inner + offset, len));
            offset += len;
        }
        var inputs = tensors.ToArray();
        if (!Autograd.ShouldRecord(inputs)) return o;
        return Autograd.Record(o, "Concat", inputs, g =>
        {
            var grads = new Tensor?[inputs.Length];
            int off = 0;
            var gd = g.Data;
            for (int k = 0; k < inputs.Length; k++)
            {
                var t = inputs[k];
                int len = t.Shape[ax] * inner;
                if (t.RequiresGrad)
                {
                    var gi = Tensor.CreateOwned(t.ShapeArray, clear: false);
                    var gid = gi.Data;
                    for (int p = 0; p < outer; p++) gd.Slice(p * total * inner + off, len).CopyTo(gid.Slice(p * len, len));
                    grads[k] = gi;
                }
                off += len;
            }
            return grads;
        });
    }

    /// <summary>Stacks tensors of equal shape along a new axis.</summary>
    /// <param name="tensors">The tensors.</param>
    /// <param name="axis">Position of the new axis.</param>
    /// <returns>The stacked tensor.</returns>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int axis = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ArgumentException("Stack needs at least one tensor.", nameof(tensors));
        return Concat(tensors.Select(t => Unsqueeze(t, axis < 0 ? axis + t.Rank + 1 : axis)).ToArray(), axis);
    }

    /// <summary>The sub-range [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>) of an axis (a copy).</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="axis">The axis.</param>
    /// <param name="start">First index.</param>
    /// <param name="length">Number of indices.</param>
    /// <returns>The slice.</returns>
    public static Tensor Slice(Tensor a, int axis, int start, int length)
    {
        ArgumentNullException.ThrowIfNull(a);
        int ax = ShapeUtil.NormalizeAxis(axis, a.Rank, "Slice");
        int n = a.Shape[ax];
        if (start < 0 || length < 0 || start > n - length)
            throw new ShapeMismatchException($"Slice [{start}, {start}+{length}) is outside axis {axis} of length {n} (shape {Tensor.ShapeString(a.Shape)}).");
        int outer = (int)ShapeUtil.Product(a.Shape, 0, ax), inner = (int)ShapeUtil.Product(a.Shape, ax + 1, a.Rank);
        var outShape = a.ShapeArray; outShape[ax] = length;
        var o = Tensor.CreateOwned(outShape, clear: false);
        var x = a.Data; var y = o.Data;
        int len = length * inner;
        for (int p = 0; p < outer; p++) x.Slice(p * n * inner + start * inner, len).CopyTo(y.Slice(p * len, len));
        if (!Autograd.ShouldRecord(a)) return o;
        return Autograd.Record(o, "Slice", new[] { a }, g =>
        {
            var gi = Tensor.CreateOwned(a.ShapeArray, clear: true);
            var gd = g.Data; var gid = gi.Data;
            for (int p = 0; p < outer; p++) gd.Slice(p * len, len).CopyTo(gid.Slice(p * n * inner + start * inner, len));
            return new[] { gi };
        });
    }

    /// <summary>Gathers entries of an axis by index (a copy; indices may repeat). The backward scatter-adds.</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="axis">The axis.</param>
    /// <param name="indices">Indices into the axis.</param>
    /// <returns>The gathered tensor, with the axis's length equal to the number of indices.</returns>
    public static Tensor IndexSelect(Tensor a, int axis, ReadOnlySpan<int> indices)
    {
        ArgumentNullException.ThrowIfNull(a);
        int ax = ShapeUtil.NormalizeAxis(axis, a.Rank, "IndexSelect");
        int n = a.Shape[ax];
        var idx = indices.ToArray();
        for (int i = 0; i < idx.Length; i++)
            if ((uint)idx[i] >= (uint)n) throw new ShapeMismatchException($"IndexSelect: index {idx[i]} (position {i}) is outside axis {axis} of length {n} (shape {Tensor.ShapeString(a.Shape)}).");
        int outer = (int)ShapeUtil.Product(a.Shape, 0, ax), inner = (int)ShapeUtil.Product(a.Shape, ax + 1, a.Rank);
        var outShape = a.ShapeArray; outShape[ax] = idx.Length;
        var o = Tensor.CreateOwned(outShape, clear: false);
        var x = a.Data; var y = o.Data;
        for (int p = 0; p < outer; p++)
            for (int i = 0; i < idx.Length; i++)
                x.Slice((p * n + idx[i]) * inner, inner).CopyTo(y.Slice((p * idx.Length + i) * inner, inner));
        if (!Autograd.ShouldRecord(a)) return o;
        return Autograd.Record(o, "IndexSelect", new[] { a }, g =>
        {
            var gi = Tensor.CreateOwned(a.ShapeArray, clear: true);
            var gd = g.Data; var gid = gi.Data;
            for (int p = 0; p < outer; p++)
                for (int i = 0; i < idx.Length; i++)
                {
                    var dst = gid.Slice((p * n + idx[i]) * inner, inner);
                    System.Numerics.Tensors.TensorPrimitives.Add(dst, gd.Slice((p * idx.Length + i) * inner, inner), dst);
                }
            return new[] { gi };
        });
    }
}

public partial class Tensor
{
    /// <summary>A view with a new shape (one entry may be −1).</summary>
    /// <param name="shape">The new shape.</param>
    /// <returns>The view.</returns>
    public Tensor Reshape(params int[] shape) => Ops.Reshape(this, shape);

    /// <summary>Reorders the axes (a copy).</summary>
    /// <param name="axes">The permutation.</param>
    /// <returns>The permuted tensor.</returns>
    public Tensor Permute(params int[] axes) => Ops.Permute(this, axes);

    /// <summary>Swaps two axes (a copy).</summary>
    /// <param name="axis0">First axis.</param>
    /// <param name="axis1">Second axis.</param>
    /// <returns>The transposed tensor.</returns>
    public Tensor Transpose(int axis0 = -2, int axis1 = -1) => Ops.Transpose(this, axis0, axis1);
}
