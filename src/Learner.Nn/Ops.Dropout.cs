using System.Runtime.Intrinsics;
using Learner.Nn.Kernels;

namespace Learner.Nn;

public static partial class Ops
{
    /// <summary>
    /// Inverted dropout: in training, each element is zeroed with probability <paramref name="p"/> and the survivors are
    /// scaled by 1/(1 − p), so the expectation is unchanged; the gradient flows through the same mask. When not training,
    /// or when p = 0, the input itself is returned. The mask is drawn from <paramref name="rng"/> (32 random bits per
    /// element, in row-major order), so a seed fixes it.
    /// </summary>
    /// <param name="x">The input.</param>
    /// <param name="p">Probability of dropping an element, in [0, 1).</param>
    /// <param name="training">Whether dropout is active.</param>
    /// <param name="rng">The generator the mask is drawn from.</param>
    /// <returns>The masked, rescaled tensor (or <paramref name="x"/>).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is not in [0, 1).</exception>
    public static Tensor Dropout(Tensor x, float p, bool training, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(rng);
        CheckDropProbability(p);
        if (!training || p == 0f) return x;

        var mask = Tensor.CreateOwned(x.ShapeArray, clear: false);
        FillDropoutMask(mask.Data, p, rng);
        var o = Tensor.CreateOwned(x.ShapeArray, clear: false);
        VectorMap.MapParallel(new MulOp(), x.Storage, mask.Storage, o.Storage, x.Size);
        if (!Autograd.ShouldRecord(x)) return o;
        return Autograd.Record(o, "Dropout", new[] { x }, g =>
        {
            var gi = Tensor.CreateOwned(x.ShapeArray, clear: false);
            VectorMap.MapParallel(new MulOp(), g.Storage, mask.Storage, gi.Storage, x.Size);
            return new[] { gi };
        });
    }

    /// <summary>Writes 0 (probability p) or 1/(1 − p) per element: element i keeps when its 32-bit uniform u_i ≥ ⌈p·2³²⌉,
    /// where u_{2k} and u_{2k+1} are the low and high halves of the k-th 64-bit draw. Branch-free: the draws are staged in
    /// blocks and compared as vectors.</summary>
    private static void FillDropoutMask(Span<float> mask, float p, Rng rng)
    {
        const int Block = 256;
        uint threshold = (uint)Math.Ceiling(p * 4294967296.0); // p < 1 as float, so this stays below 2³²
        float scale = (float)(1.0 / (1.0 - p));
        Span<uint> u = stackalloc uint[Block];
        for (int start = 0; start < mask.Length; start += Block)
        {
            int len = Math.Min(Block, mask.Length - start);
            for (int j = 0; j < len; j += 2)
            {
                ulong bits = rng.NextUInt64();
                u[j] = (uint)bits;
                u[j + 1] = (uint)(bits >> 32);
            }
            var m = mask.Slice(start, len);
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var th = Vector256.Create(threshold); var sc = Vector256.Create(scale);
                for (; i <= len - 8; i += 8)
                {
                    var keep = Vector256.GreaterThanOrEqual(Vector256.Create((ReadOnlySpan<uint>)u.Slice(i, 8)), th).AsSingle();
                    Vector256.ConditionalSelect(keep, sc, Vector256<float>.Zero).CopyTo(m.Slice(i, 8));
                }
            }
            for (; i < len; i++) m[i] = u[i] >= threshold ? scale : 0f;
        }
    }

    /// <summary>Refuses a drop probability outside [0, 1), naming the value (the op and the module share it).</summary>
    internal static void CheckDropProbability(float p)
    {
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), p, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Dropout: the drop probability must be in [0, 1), got {p}."));
    }
}

public partial class Tensor
{
    /// <summary>Inverted dropout (see <see cref="Ops.Dropout"/>).</summary>
    /// <param name="p">Drop probability in [0, 1).</param>
    /// <param name="training">Whether dropout is active.</param>
    /// <param name="rng">The generator the mask is drawn from.</param>
    /// <returns>The masked, rescaled tensor (or this tensor).</returns>
    public Tensor Dropout(float p, bool training, Rng rng) => Ops.Dropout(this, p, training, rng);
}
