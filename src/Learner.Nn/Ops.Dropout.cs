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
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), p, $"Dropout: the drop probability must be in [0, 1), got {p}.");
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

    /// <summary>Writes 0 (probability p) or 1/(1 − p) per element; each 64-bit draw gives two 32-bit uniforms.</summary>
    private static void FillDropoutMask(Span<float> mask, float p, Rng rng)
    {
        ulong threshold = (ulong)Math.Ceiling(p * 4294967296.0);
        float scale = (float)(1.0 / (1.0 - p));
        int i = 0;
        for (; i + 1 < mask.Length; i += 2)
        {
            ulong bits = rng.NextUInt64();
            mask[i] = (bits & 0xFFFFFFFFUL) >= threshold ? scale : 0f;
            mask[i + 1] = (bits >> 32) >= threshold ? scale : 0f;
        }
        if (i < mask.Length) mask[i] = (rng.NextUInt64() & 0xFFFFFFFFUL) >= threshold ? scale : 0f;
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
