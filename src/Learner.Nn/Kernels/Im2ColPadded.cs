using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Learner.Nn.Kernels;

/// <summary>
/// im2col and col2im of whole samples through one zero-padded channel at a time: a channel is copied into a scratch
/// volume of (D + 2·PD) × (H + 2·PH) × (W + 2·PW) floats (or, for the gradient, accumulated there), after which every
/// row of every window tap is a plain copy (an add, for the gradient) of OW floats with no bounds to test. On the deep,
/// small feature maps of ResNet-18 (8×8, 4×4 outputs) the bounds logic of <see cref="Im2Col"/> costs more than the moves;
/// here it is gone.
/// </summary>
/// <remarks>
/// Bit-identical to <see cref="Im2Col.Unfold"/> and <see cref="Im2Col.FoldAdd"/> over a whole sample: the unfolded
/// matrix holds the same values, and the folded gradient adds the same terms to each element in the same tap order,
/// starting from +0 (positions a tap never reaches stay untouched, which equals adding nothing; the padding border
/// collects the terms of taps that fall outside the input and is dropped). Each call touches its channel range only,
/// so channel ranges of one sample can run on different threads.
/// </remarks>
internal static class Im2ColPadded
{
    [ThreadStatic] private static float[]? _scratch;

    /// <summary>Floats of one padded channel.</summary>
    internal static long PaddedChannel(in ConvGeometry g) =>
        (long)(g.D + 2 * g.PD) * (g.H + 2 * g.PH) * (g.W + 2 * g.PW);

    /// <summary>Whether a block of <paramref name="cols"/> output positions per sample goes through the padded channel:
    /// it covers whole samples, the window is not pointwise and the scratch channel stays small (4 MiB).</summary>
    internal static bool Applies(in ConvGeometry g, int cols) => cols == g.OutSpatial && !g.IsPointwise && PaddedChannel(g) <= 1 << 20;

    private static bool HasPadding(in ConvGeometry g) => g.PD != 0 || g.PH != 0 || g.PW != 0;

    private static Span<float> Scratch(long length)
    {
        if (_scratch is null || _scratch.Length < length) _scratch = new float[Math.Max(length, 1024)];
        return _scratch.AsSpan(0, (int)length);
    }

    /// <summary>Writes the im2col rows of channels [c0, c1) of one whole sample <paramref name="x"/> ([C, D, H, W]) into
    /// <paramref name="col"/> (K × OutSpatial, rows <paramref name="ld"/> apart).</summary>
    internal static void Unfold(in ConvGeometry g, ReadOnlySpan<float> x, Span<float> col, int ld, int c0, int c1)
    {
        int wp = g.W + 2 * g.PW, hp = g.H + 2 * g.PH, plane = hp * wp, inS = g.InSpatial;
        // Without padding the channel itself is the padded volume (1×1 stride-2 shortcuts): no copy.
        bool padded = HasPadding(g);
        Span<float> pad = padded ? Scratch(PaddedChannel(g)) : default;
        // The border is zero once and stays so: only the interior is rewritten per channel.
        pad.Clear();
        int r = c0 * g.KernelVolume;
        for (int c = c0; c < c1; c++)
        {
            ReadOnlySpan<float> xc = x.Slice(c * inS, inS);
            ref float xr = ref MemoryMarshal.GetReference(xc);
            if (!padded) pad = MemoryMarshal.CreateSpan(ref xr, inS);
            else
                for (int d = 0; d < g.D; d++)
                    for (int h = 0; h < g.H; h++)
                        Im2Col.Copy(ref Unsafe.Add(ref xr, (d * g.H + h) * g.W),
                            ref Unsafe.Add(ref MemoryMarshal.GetReference(pad), (d + g.PD) * plane + (h + g.PH) * wp + g.PW), g.W);
            Walk<CopyIn>(g, ref MemoryMarshal.GetReference(pad), pad.Length, col, ld, ref r);
        }
    }

    /// <summary>Overwrites channels [c0, c1) of one whole sample's input gradient <paramref name="dx"/> ([C, D, H, W]) with
    /// the col2im of their rows of <paramref name="col"/> (K × OutSpatial, rows <paramref name="ld"/> apart).</summary>
    internal static void Fold(in ConvGeometry g, ReadOnlySpan<float> col, Span<float> dx, int ld, int c0, int c1)
    {
        int wp = g.W + 2 * g.PW, hp = g.H + 2 * g.PH, plane = hp * wp, inS = g.InSpatial;
        // Without padding the terms are added into the gradient's channel directly.
        bool padded = HasPadding(g);
        Span<float> pad = padded ? Scratch(PaddedChannel(g)) : default;
        int r = c0 * g.KernelVolume;
        for (int c = c0; c < c1; c++)
        {
            if (!padded) pad = dx.Slice(c * inS, inS);
            pad.Clear();
            ref float pr = ref MemoryMarshal.GetReference(pad);
            Walk<AddOut>(g, ref pr, pad.Length, col, ld, ref r);
            if (!padded) continue;
            ref float xr = ref MemoryMarshal.GetReference(dx.Slice(c * inS, inS));
            for (int d = 0; d < g.D; d++)
                for (int h = 0; h < g.H; h++)
                    Im2Col.Copy(ref Unsafe.Add(ref pr, (d + g.PD) * plane + (h + g.PH) * wp + g.PW),
                        ref Unsafe.Add(ref xr, (d * g.H + h) * g.W), g.W);
        }
    }

    /// <summary>Moves one row segment of a window tap between the padded channel and the matrix.</summary>
    private interface IRowMove
    {
        /// <summary>Moves the OW outputs of one row: padded-channel elements rowBase + o·SW ↔ row[o].</summary>
        static abstract void Move(in ConvGeometry g, ref float pad, int padLength, int rowBase, ref float row);
    }

    /// <summary>im2col: the padded channel's window row into the matrix row.</summary>
    private readonly struct CopyIn : IRowMove
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Move(in ConvGeometry g, ref float pad, int padLength, int rowBase, ref float row)
        {
            if (g.SW == 1) Im2Col.Copy(ref Unsafe.Add(ref pad, rowBase), ref row, g.OW);
            else if (g.SW == 2) Im2Col.GatherStride2(ref pad, padLength, rowBase, ref row, 0, 0, g.OW);
            else
                for (int o = 0; o < g.OW; o++) Unsafe.Add(ref row, o) = Unsafe.Add(ref pad, rowBase + o * g.SW);
        }
    }

    /// <summary>col2im: the matrix row added into the padded channel's window row.</summary>
    private readonly struct AddOut : IRowMove
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Move(in ConvGeometry g, ref float pad, int padLength, int rowBase, ref float row)
        {
            if (g.SW == 1) Im2Col.AddTo(ref row, ref Unsafe.Add(ref pad, rowBase), g.OW);
            else if (g.SW == 2) Im2Col.AddStride2(ref row, ref pad, padLength, rowBase, g.OW);
            else
                for (int o = 0; o < g.OW; o++) Unsafe.Add(ref pad, rowBase + o * g.SW) += Unsafe.Add(ref row, o);
        }
    }

    /// <summary>Every window tap of one padded channel, in (kd, kh, kw) order, against matrix rows <paramref name="r"/>
    /// on (advanced past them): each tap's output rows, one <typeparamref name="TMove"/> per row segment.</summary>
    private static void Walk<TMove>(in ConvGeometry g, ref float pad, int padLength, ReadOnlySpan<float> col, int ld, ref int r)
        where TMove : struct, IRowMove
    {
        int wp = g.W + 2 * g.PW, plane = (g.H + 2 * g.PH) * wp;
        for (int kd = 0; kd < g.KD; kd++)
            for (int kh = 0; kh < g.KH; kh++)
                for (int kw = 0; kw < g.KW; kw++, r++)
                {
                    ref float mr = ref MemoryMarshal.GetReference(col.Slice(r * ld, g.OutSpatial));
                    int j = 0;
                    for (int od = 0; od < g.OD; od++)
                    {
                        int dBase = (od * g.SD + kd * g.DD) * plane + kw * g.DW;
                        for (int oh = 0; oh < g.OH; oh++, j += g.OW)
                            TMove.Move(g, ref pad, padLength, dBase + (oh * g.SH + kh * g.DH) * wp, ref Unsafe.Add(ref mr, j));
                    }
                }
    }
}
