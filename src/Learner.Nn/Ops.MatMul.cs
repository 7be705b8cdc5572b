using Learner.Nn.Kernels;

namespace Learner.Nn;

public static partial class Ops
{
    /// <summary>
    /// Matrix product over the last two axes, batched over the leading axes with broadcasting:
    /// <c>[..., m, k] × [..., k, n] → [..., m, n]</c>. A 1-D left operand is treated as a row, a 1-D right operand as a column
    /// (and that axis is dropped from the result), as in numpy.
    /// </summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    /// <returns>The product.</returns>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Rank == 0 || b.Rank == 0) throw new ShapeMismatchException($"MatMul needs tensors of rank ≥ 1, got {Tensor.ShapeString(a.Shape)} and {Tensor.ShapeString(b.Shape)}.");
        if (a.Rank == 1) return Squeeze(MatMul(Unsqueeze(a, 0), b), -2);
        if (b.Rank == 1) return Squeeze(MatMul(a, Unsqueeze(b, 1)), -1);
        int m = a.Shape[^2], k = a.Shape[^1], k2 = b.Shape[^2], n = b.Shape[^1];
        if (k != k2) throw new ShapeMismatchException($"MatMul: inner dimensions differ: {Tensor.ShapeString(a.Shape)} × {Tensor.ShapeString(b.Shape)} ({k} vs {k2}).");

        var aBatch = a.ShapeArray[..^2]; var bBatch = b.ShapeArray[..^2];
        // Fast path: b is one matrix shared by the batch → a single GEMM over all rows of a.
        if (bBatch.Length == 0)
        {
            int rows = (int)(ShapeUtil.Product(aBatch) * m);
            var outShape0 = a.ShapeArray; outShape0[^1] = n;
            var o0 = Tensor.CreateOwned(outShape0, clear: false);
            Gemm.Sgemm(false, false, rows, n, k, 1f, a.Data, k, b.Data, n, 0f, o0.Data, n);
            if (!Autograd.ShouldRecord(a, b)) return o0;
            return Autograd.Record(o0, "MatMul", new[] { a, b }, g =>
            {
                Tensor? ga = null, gb = null;
                if (a.RequiresGrad)
                {
                    ga = Tensor.CreateOwned(a.ShapeArray, clear: false);
                    Gemm.Sgemm(false, true, rows, k, n, 1f, g.Data, n, b.Data, n, 0f, ga.Data, k);
                }
                if (b.RequiresGrad)
                {
                    gb = Tensor.CreateOwned(b.ShapeArray, clear: false);
                    Gemm.Sgemm(true, false, k, n, rows, 1f, a.Data, k, g.Data, n, 0f, gb.Data, n);
                }
                return new[] { ga, gb };
            });
        }

        var batch = ShapeUtil.Broadcast(aBatch, bBatch, "MatMul (batch axes)");
        int nb = (int)ShapeUtil.Product(batch);
        var outShape = new int[batch.Length + 2];
        batch.CopyTo(outShape, 0); outShape[^2] = m; outShape[^1] = n;
        var o = Tensor.CreateOwned(outShape, clear: false);
        var aIdx = BatchOffsets(aBatch, batch); var bIdx = BatchOffsets(bBatch, batch);
        int aMat = m * k, bMat = k * n, oMat = m * n;
        for (int i = 0; i < nb; i++)
            Gemm.Sgemm(false, false, m, n, k, 1f, a.Data.Slice(aIdx[i] * aMat, aMat), k, b.Data.Slice(bIdx[i] * bMat, bMat), n, 0f, o.Data.Slice(i * oMat, oMat), n);
        if (!Autograd.ShouldRecord(a, b)) return o;
        return Autograd.Record(o, "MatMul", new[] { a, b }, g =>
        {
            Tensor? ga = null, gb = null;
            if (a.RequiresGrad) ga = Tensor.CreateOwned(a.ShapeArray, clear: true);
            if (b.RequiresGrad) gb = Tensor.CreateOwned(b.ShapeArray, clear: true);
            for (int i = 0; i < nb; i++)
            {
                var gi = g.Data.Slice(i * oMat, oMat);
                if (ga is not null)
                    Gemm.Sgemm(false, true, m, k, n, 1f, gi, n, b.Data.Slice(bIdx[i] * bMat, bMat), n, 1f, ga.Data.Slice(aIdx[i] * aMat, aMat), k);
                if (gb is not null)
                    Gemm.Sgemm(true, false, k, n, m, 1f, a.Data.Slice(aIdx[i] * aMat, aMat), k, gi, n, 1f, gb.Data.Slice(bIdx[i] * bMat, bMat), n);
            }
            return new[] { ga, gb };
        });
    }

    /// <summary>For each flat index of the broadcast batch, the flat index into an operand's own batch.</summary>
    private static int[] BatchOffsets(int[] own, int[] batch)
    {
        int nb = (int)ShapeUtil.Product(batch);
        var strides = ShapeUtil.BroadcastStrides(own, batch);
        var r = new int[nb];
        var counter = new int[batch.Length];
        int off = 0;
        for (int i = 0; i < nb; i++)
        {
            r[i] = off;
            for (int d = batch.Length - 1; d >= 0; d--)
            {
                off += strides[d];
                if (++counter[d] < batch[d]) break;
                off -= strides[d] * batch[d];
                counter[d] = 0;
            }
        }
        return r;
    }

    /// <summary>Affine map <c>y = x · Wᵀ + b</c> over the last axis of <paramref name="x"/> (PyTorch's layout: W is [out, in]).</summary>
    /// <param name="x">Input [..., in].</param>
    /// <param name="weight">Weight [out, in].</param>
    /// <param name="bias">Optional bias [out].</param>
    /// <returns>Output [..., out].</returns>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2) throw new ShapeMismatchException($"Linear: weight must be [out, in], got {Tensor.ShapeString(weight.Shape)}.");
        int outF = weight.Shape[0], inF = weight.Shape[1];
        if (x.Rank == 0 || x.Shape[^1] != inF)
            throw new ShapeMismatchException($"Linear: input {Tensor.ShapeString(x.Shape)} does not end in {inF} (weight {Tensor.ShapeString(weight.Shape)}).");
        if (bias is not null && (bias.Rank != 1 || bias.Shape[0] != outF))
            throw new ShapeMismatchException($"Linear: bias must be [{outF}], got {Tensor.ShapeString(bias.Shape)}.");
        int rows = inF == 0 ? (int)ShapeUtil.Product(x.Shape, 0, x.Rank - 1) : x.Size / inF;
        var outShape = x.ShapeArray; outShape[^1] = outF;
        var o = Tensor.CreateOwned(outShape, clear: false);
        var y = o.Data;
        if (bias is not null)
        {
            var bd = bias.Data;
            for (int r = 0; r < rows; r++) bd.CopyTo(y.Slice(r * outF, outF));
        }
        Gemm.Sgemm(false, true, rows, outF, inF, 1f, x.Data, inF, weight.Data, inF, bias is null ? 0f : 1f, y, outF);
        var inputs = bias is null ? new[] { x, weight } : new[] { x, weight, bias };
        if (!Autograd.ShouldRecord(inputs)) return o;
        return Autograd.Record(o, "Linear", inputs, g =>
        {
            var grads = new Tensor?[inputs.Length];
            if (x.RequiresGrad)
            {
                var gx = Tensor.CreateOwned(x.ShapeArray, clear: false);
                Gemm.Sgemm(false, false, rows, inF, outF, 1f, g.Data, outF, weight.Data, inF, 0f, gx.Data, inF);
                grads[0] = gx;
            }
            if (weight.RequiresGrad)
            {
                var gw = Tensor.CreateOwned(weight.ShapeArray, clear: false);
                Gemm.Sgemm(true, false, outF, inF, rows, 1f, g.Data, outF, x.Data, inF, 0f, gw.Data, inF);
                grads[1] = gw;
            }
            if (bias is not null && bias.RequiresGrad)
            {
                var gb = Tensor.CreateOwned(bias.ShapeArray, clear: true);
                Elementwise.ReduceToShape(g.Data, g.ShapeRef, gb.Data, bias.ShapeRef);
                grads[2] = gb;
            }
            return grads;
        });
    }
}

public partial class Tensor
{
    /// <summary>Matrix product (see <see cref="Ops.MatMul"/>).</summary>
    /// <param name="other">Right operand.</param>
    /// <returns>The product.</returns>
    public Tensor MatMul(Tensor other) => Ops.MatMul(this, other);
}
