using static TorchSharp.torch;

namespace Learner.TorchSharp.Encoders;

/// <summary>The few tensor operations the encoder ports need that libtorch has no single op for.</summary>
public static class TorchOps
{
    /// <summary>
    /// Temporal shift (TSM) on <c>[N·T, C, …]</c>, the same operation as Learner.Nn's <c>Ops.TemporalShift</c>: with
    /// fold = C / <paramref name="foldDivisor"/>, channels [0, fold) take the next frame's values (zero at the last
    /// frame), channels [fold, 2·fold) the previous frame's (zero at the first), the rest are unchanged; clips never mix.
    /// Built from narrow/cat, so autograd gives the adjoint shift.
    /// </summary>
    /// <param name="x">The frames of N clips, <c>[N·T, C, …]</c>.</param>
    /// <param name="clipLength">T (≥ 1); the leading axis must be a multiple of it.</param>
    /// <param name="foldDivisor">≥ 2.</param>
    /// <returns>The shifted frames, same shape.</returns>
    /// <exception cref="Learner.Nn.ShapeMismatchException">The rank is below 2, the leading axis is not a multiple of T, or
    /// a parameter is out of range.</exception>
    public static Tensor TemporalShift(Tensor x, int clipLength, int foldDivisor)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() < 2) throw new Learner.Nn.ShapeMismatchException($"TemporalShift: input must be [N·T, C, ...] (rank ≥ 2), got {Shape(x)}.");
        if (clipLength < 1) throw new Learner.Nn.ShapeMismatchException($"TemporalShift: clipLength must be ≥ 1, got {clipLength}.");
        if (foldDivisor < 2) throw new Learner.Nn.ShapeMismatchException($"TemporalShift: foldDivisor must be ≥ 2, got {foldDivisor}.");
        long nt = x.shape[0], c = x.shape[1];
        if (nt % clipLength != 0)
            throw new Learner.Nn.ShapeMismatchException($"TemporalShift: the leading axis N·T = {nt} of input {Shape(x)} is not divisible by clipLength = {clipLength}.");
        long fold = c / foldDivisor;
        if (fold == 0) return x.alias();
        var clipShape = new long[x.dim() + 1];
        clipShape[0] = nt / clipLength;
        clipShape[1] = clipLength;
        for (int i = 1; i < x.dim(); i++) clipShape[i + 1] = x.shape[i];
        using var scope = NewDisposeScope();
        var clips = x.reshape(clipShape);                               // [N, T, C, …]
        var zeroShape = (long[])clipShape.Clone();
        zeroShape[1] = 1;
        zeroShape[2] = fold;
        var zero = zeros(zeroShape, x.dtype, x.device);
        Tensor forward, backward;
        if (clipLength == 1)
        {
            forward = zero;
            backward = zero;
        }
        else
        {
            forward = cat(new[] { clips.narrow(1, 1, clipLength - 1).narrow(2, 0, fold), zero }, 1);          // frame t reads t + 1
            backward = cat(new[] { zero, clips.narrow(1, 0, clipLength - 1).narrow(2, fold, fold) }, 1);      // frame t reads t − 1
        }
        var parts = new List<Tensor> { forward, backward };
        if (c > 2 * fold) parts.Add(clips.narrow(2, 2 * fold, c - 2 * fold));
        var shifted = cat(parts, 2).reshape(x.shape);
        return scope.MoveToOuter(shifted);
    }

    /// <summary>Mean over every axis after the first two: <c>[N, C, …]</c> → <c>[N, C]</c>.</summary>
    /// <param name="x">The input, rank ≥ 3.</param>
    /// <returns>The pooled features.</returns>
    /// <exception cref="Learner.Nn.ShapeMismatchException">The rank is below 3.</exception>
    public static Tensor GlobalAvgPool(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() < 3) throw new Learner.Nn.ShapeMismatchException($"GlobalAvgPool: input must be [N, C, spatial...] (rank ≥ 3), got {Shape(x)}.");
        var axes = new long[x.dim() - 2];
        for (int i = 0; i < axes.Length; i++) axes[i] = i + 2;
        return x.mean(axes);
    }

    /// <summary>x / max(‖x‖, ε) along the last axis, as torch.nn.functional.normalize and Learner.Nn's
    /// <c>Ops.L2Normalize</c> define it, backward included: a slice whose norm is below ε gets g/ε (Tensor.norm's
    /// backward masks a zero norm, where the square root of a sum of squares would give 0·∞ = NaN).</summary>
    /// <param name="x">The input, rank ≥ 1.</param>
    /// <param name="eps">The lower bound of the norm.</param>
    /// <returns>The normalised tensor.</returns>
    public static Tensor L2Normalize(Tensor x, double eps = 1e-12)
    {
        ArgumentNullException.ThrowIfNull(x);
        return x / x.norm((int)x.dim() - 1, true).ClampMin(eps);
    }

    /// <summary>A shape as <c>[a, b, …]</c> for messages.</summary>
    /// <param name="x">The tensor.</param>
    /// <returns>The text.</returns>
    public static string Shape(Tensor x) => "[" + string.Join(", ", x.shape) + "]";
}
