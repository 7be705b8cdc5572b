namespace Learner.Nn;

public static partial class Ops
{
    /// <summary>
    /// Temporal shift (TSM, Lin et al. 2019) for clips laid out as [N·T, C, ...] with T = <paramref name="clipLength"/>
    /// consecutive frames per clip. With fold = C / <paramref name="foldDivisor"/>: channels [0, fold) take the value of
    /// the next frame (t + 1; zero at the last frame), channels [fold, 2·fold) take the value of the previous frame
    /// (t − 1; zero at the first frame), the remaining channels are unchanged. Frames never mix across clips.
    /// </summary>
    /// <param name="x">Input [N·T, C, ...] (rank ≥ 2; typically [N·T, C, H, W]).</param>
    /// <param name="clipLength">Frames per clip, T (≥ 1); the leading axis must be a multiple of it.</param>
    /// <param name="foldDivisor">Channel fraction divisor (≥ 2): 1/foldDivisor of the channels shift each way.</param>
    /// <returns>The shifted tensor, same shape.</returns>
    /// <exception cref="ShapeMismatchException">The rank is below 2, the leading axis is not a multiple of the clip length,
    /// or a parameter is out of range.</exception>
    public static Tensor TemporalShift(Tensor x, int clipLength, int foldDivisor = 8)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 2)
            throw new ShapeMismatchException($"TemporalShift: input must be [N·T, C, ...] (rank ≥ 2), got shape {Tensor.ShapeString(x.Shape)}.");
        if (clipLength < 1)
            throw new ShapeMismatchException($"TemporalShift: clipLength must be ≥ 1, got {clipLength}.");
        if (foldDivisor < 2)
            throw new ShapeMismatchException($"TemporalShift: foldDivisor must be ≥ 2 (two folds of C / foldDivisor channels must fit), got {foldDivisor}.");
        int nt = x.Shape[0];
        if (nt % clipLength != 0)
            throw new ShapeMismatchException($"TemporalShift: the leading axis N·T = {nt} of input {Tensor.ShapeString(x.Shape)} is not divisible by clipLength = {clipLength}.");
        int c = x.Shape[1];
        int fold = c / foldDivisor;
        int plane = (int)ShapeUtil.Product(x.Shape, 2, x.Rank);
        var o = Tensor.CreateOwned(x.ShapeArray, clear: false);
        // Forward: fold 0 reads frame t + 1, fold 1 reads frame t − 1.
        Shift(x.Storage, o.Storage, nt, clipLength, c, plane, fold, firstFoldDelta: +1);
        if (!Autograd.ShouldRecord(x)) return o;
        return Autograd.Record(o, "TemporalShift", new[] { x }, g =>
        {
            var gx = Tensor.CreateOwned(x.ShapeArray, clear: false);
            // The adjoint moves gradients the opposite way: fold 0 receives from frame t − 1, fold 1 from t + 1.
            Shift(g.Storage, gx.Storage, nt, clipLength, c, plane, fold, firstFoldDelta: -1);
            return new Tensor?[] { gx };
        });
    }

    /// <summary>dst[frame t, channel block] = src[frame t + δ] (zero when t + δ leaves the clip), with δ = firstFoldDelta for
    /// channels [0, fold), −firstFoldDelta for [fold, 2·fold) and 0 (copy) for the rest. Frames are split over the cores
    /// when the tensor is large (each frame is written by one thread; the copies are the same whatever the split).</summary>
    private static void Shift(float[] src, float[] dst, int nt, int clipLength, int c, int plane, int fold, int firstFoldDelta) =>
        Kernels.RowParallel.For(nt, (long)c * plane, (s, e) => ShiftFrames(src, dst, s, e, clipLength, c, plane, fold, firstFoldDelta));

    private static void ShiftFrames(ReadOnlySpan<float> src, Span<float> dst, int f0, int f1, int clipLength, int c, int plane, int fold, int firstFoldDelta)
    {
        int frame = c * plane, foldLen = fold * plane;
        for (int f = f0; f < f1; f++)
        {
            int t = f % clipLength;
            int start = f * frame;
            for (int block = 0; block < 2; block++)
            {
                int delta = block == 0 ? firstFoldDelta : -firstFoldDelta;
                Span<float> d = dst.Slice(start + block * foldLen, foldLen);
                int ts = t + delta;
                if (ts < 0 || ts >= clipLength) d.Clear();
                else src.Slice((f + delta) * frame + block * foldLen, foldLen).CopyTo(d);
            }
            src.Slice(start + 2 * foldLen, frame - 2 * foldLen).CopyTo(dst.Slice(start + 2 * foldLen, frame - 2 * foldLen));
        }
    }
}
