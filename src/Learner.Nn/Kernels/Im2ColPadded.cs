using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
        var table = TapTable.For(g, ld);
        try
        {
            for (int c = c0; c < c1; c++)
            {
                ReadOnlySpan<float> xc = x.Slice(c * inS, inS);
                ref float xr = ref MemoryMarshal.GetReference(xc);
                if (!padded) pad = MemoryMarshal.CreateSpan(ref xr, inS);
                else
                    for (int d = 0; d < g.D; d++)
                        Im2Col.CopyRows(ref Unsafe.Add(ref xr, d * g.H * g.W), g.W,
                            ref Unsafe.Add(ref MemoryMarshal.GetReference(pad), (d + g.PD) * plane + g.PH * wp + g.PW), wp, g.H, g.W);
                if (table.IsEmpty) Walk<CopyIn>(g, ref MemoryMarshal.GetReference(pad), pad.Length, col, ld, ref r);
                else table.Walk<CopyIn>(g, ref MemoryMarshal.GetReference(pad), pad.Length, col, ld, ref r);
            }
        }
        finally
        {
            table.Return();
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
        var table = TapTable.For(g, ld);
        try
        {
            for (int c = c0; c < c1; c++)
            {
                if (!padded) pad = dx.Slice(c * inS, inS);
                pad.Clear();
                ref float pr = ref MemoryMarshal.GetReference(pad);
                if (table.IsEmpty) Walk<AddOut>(g, ref pr, pad.Length, col, ld, ref r);
                else table.Walk<AddOut>(g, ref pr, pad.Length, col, ld, ref r);
                if (!padded) continue;
                ref float xr = ref MemoryMarshal.GetReference(dx.Slice(c * inS, inS));
                for (int d = 0; d < g.D; d++)
                    Im2Col.CopyRows(ref Unsafe.Add(ref pr, (d + g.PD) * plane + g.PH * wp + g.PW), wp,
                        ref Unsafe.Add(ref xr, d * g.H * g.W), g.W, g.H, g.W);
            }
        }
        finally
        {
            table.Return();
        }
    }

    /// <summary>Moves one row segment of a window tap between the padded channel and the matrix.</summary>
    private interface IRowMove
    {
        /// <summary>Moves the OW outputs of one row: padded-channel elements rowBase + o·SW ↔ row[o].</summary>
        static abstract void Move(in ConvGeometry g, ref float pad, int padLength, int rowBase, ref float row);

        /// <summary>Moves one element between the padded channel and the matrix.</summary>
        static abstract void Element(ref float pad, ref float cell);

        /// <summary>Moves two consecutive output rows of eight stride-2 outputs each (16 contiguous matrix elements)
        /// with one 512-bit permute: padded-channel elements base0 + 2·o ↔ row[o] and base1 + 2·o ↔ row[8 + o]. Both
        /// rows' 16-float spans lie inside the padded channel and do not overlap (see <see cref="PairsRows"/>).</summary>
        static abstract void MoveTwo(ref float pad, int base0, int base1, ref float row);

        /// <summary>Moves four consecutive output rows of four stride-2 outputs each (16 contiguous matrix elements):
        /// padded-channel elements base0 + r·step + 2·o ↔ row[4·r + o] for r, o &lt; 4, with four 256-bit loads (stores)
        /// and one (two) 512-bit permutes. The rows' 8-float spans lie inside the padded channel and do not overlap
        /// (see <see cref="QuadsRows"/>).</summary>
        static abstract void MoveFour(ref float pad, int base0, int step, ref float row);
    }

    /// <summary>Whether <see cref="Walk"/> moves the rows four at a time (<see cref="IRowMove.MoveFour"/>): AVX-512,
    /// stride 2 along the row, four outputs per row and at least four rows (ResNet-18's 8 × 8 → 4 × 4 stride-2 stage
    /// entry, which the per-element <see cref="TapTable"/> served before), and rows of the padded channel at least 8
    /// floats apart.</summary>
    private static bool QuadsRows(in ConvGeometry g, int wp) => Avx512F.IsSupported && g.SW == 2 && g.OW == 4 && g.OH >= 4 && g.SH * wp >= 8;

    /// <summary>Whether <see cref="Walk"/> moves the rows two at a time (<see cref="IRowMove.MoveTwo"/>): AVX-512, stride
    /// 2 along the row, eight outputs per row (ResNet-18's 16 × 16 → 8 × 8 stride-2 stage entries), and rows of the
    /// padded channel at least 16 floats apart, so that a row pair's two 16-float spans never overlap.</summary>
    private static bool PairsRows(in ConvGeometry g, int wp) => Avx512F.IsSupported && g.SW == 2 && g.OW == 8 && g.SH * wp >= 16;

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

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Element(ref float pad, ref float cell) => cell = pad;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void MoveTwo(ref float pad, int base0, int base1, ref float row)
        {
            var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            Avx512F.PermuteVar16x32x2(Vector512.LoadUnsafe(ref pad, (nuint)base0), even, Vector512.LoadUnsafe(ref pad, (nuint)base1)).StoreUnsafe(ref row);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void MoveFour(ref float pad, int base0, int step, ref float row)
        {
            var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            ref float p0 = ref Unsafe.Add(ref pad, base0);
            var a = Vector512.Create(Vector256.LoadUnsafe(ref p0), Vector256.LoadUnsafe(ref p0, (nuint)step));
            var b = Vector512.Create(Vector256.LoadUnsafe(ref p0, (nuint)(2 * step)), Vector256.LoadUnsafe(ref p0, (nuint)(3 * step)));
            Avx512F.PermuteVar16x32x2(a, even, b).StoreUnsafe(ref row);
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

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Element(ref float pad, ref float cell) => pad += cell;

        /// <remarks>As <see cref="Im2Col.AddStride2"/>: the odd elements of each span get +0 added, as there.</remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void MoveTwo(ref float pad, int base0, int base1, ref float row)
        {
            var v = Vector512.LoadUnsafe(ref row);
            var lo = Vector512.Create(0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16);
            var hi = Vector512.Create(8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16);
            ref float p0 = ref Unsafe.Add(ref pad, base0), p1 = ref Unsafe.Add(ref pad, base1);
            (Vector512.LoadUnsafe(ref p0) + Avx512F.PermuteVar16x32x2(v, lo, Vector512<float>.Zero)).StoreUnsafe(ref p0);
            (Vector512.LoadUnsafe(ref p1) + Avx512F.PermuteVar16x32x2(v, hi, Vector512<float>.Zero)).StoreUnsafe(ref p1);
        }

        /// <remarks>The odd elements of each 8-float span get +0 added, which changes none of them: the padded channel
        /// starts at +0 and sums of terms added to +0 are never −0.</remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void MoveFour(ref float pad, int base0, int step, ref float row)
        {
            var v = Vector512.LoadUnsafe(ref row);
            var lo = Avx512F.PermuteVar16x32x2(v, Vector512.Create(0, 16, 1, 16, 2, 16, 3, 16, 4, 16, 5, 16, 6, 16, 7, 16), Vector512<float>.Zero);
            var hi = Avx512F.PermuteVar16x32x2(v, Vector512.Create(8, 16, 9, 16, 10, 16, 11, 16, 12, 16, 13, 16, 14, 16, 15, 16), Vector512<float>.Zero);
            ref float p0 = ref Unsafe.Add(ref pad, base0);
            ref float p1 = ref Unsafe.Add(ref p0, step), p2 = ref Unsafe.Add(ref p0, 2 * step), p3 = ref Unsafe.Add(ref p0, 3 * step);
            (Vector256.LoadUnsafe(ref p0) + lo.GetLower()).StoreUnsafe(ref p0);
            (Vector256.LoadUnsafe(ref p1) + lo.GetUpper()).StoreUnsafe(ref p1);
            (Vector256.LoadUnsafe(ref p2) + hi.GetLower()).StoreUnsafe(ref p2);
            (Vector256.LoadUnsafe(ref p3) + hi.GetUpper()).StoreUnsafe(ref p3);
        }
    }

    /// <summary>
    /// The moves of <see cref="Walk"/> for one channel listed once per call as (padded-channel index, matrix offset)
    /// pairs, in the same (tap, output) order, for maps whose output rows are shorter than a 256-bit vector (ResNet-18's
    /// 4 × 4, 2 × 2 and 1 × 1 stages): a vector move per row of one to seven floats cost more than the moves; here each
    /// element is one table lookup. The same values (im2col) and the same additions in the same order (col2im), so the
    /// same bits.
    /// </summary>
    private readonly struct TapTable
    {
        /// <summary>Most entries (kernel volume × output positions) a table holds.</summary>
        internal const int MaxEntries = 4096;

        private readonly int[]? _entries;
        private readonly int _count, _maxSource, _maxOffset;

        private TapTable(int[] entries, int count, int maxSource, int maxOffset)
        {
            _entries = entries; _count = count; _maxSource = maxSource; _maxOffset = maxOffset;
        }

        public bool IsEmpty => _entries is null;

        /// <summary>The table for <paramref name="g"/> with matrix rows <paramref name="ld"/> apart, or an empty one
        /// where the rows are long enough for <see cref="Walk"/>'s vector moves.</summary>
        public static TapTable For(in ConvGeometry g, int ld)
        {
            long count = (long)g.KernelVolume * g.OutSpatial;
            int wp = g.W + 2 * g.PW, plane = (g.H + 2 * g.PH) * wp, n = (int)count, t = 0, maxS = 0, maxO = 0;
            if (g.OW >= 8 || count > MaxEntries || QuadsRows(g, wp)) return default;
            int[] e = ArrayPool<int>.Shared.Rent(2 * n);
            for (int kd = 0, tap = 0; kd < g.KD; kd++)
                for (int kh = 0; kh < g.KH; kh++)
                    for (int kw = 0; kw < g.KW; kw++, tap++)
                        for (int od = 0, j = 0; od < g.OD; od++)
                            for (int oh = 0; oh < g.OH; oh++)
                                for (int ow = 0; ow < g.OW; ow++, j++, t++)
                                {
                                    e[t] = (od * g.SD + kd * g.DD) * plane + kw * g.DW + (oh * g.SH + kh * g.DH) * wp + ow * g.SW;
                                    e[n + t] = tap * ld + j;
                                    maxS = Math.Max(maxS, e[t]);
                                    maxO = Math.Max(maxO, e[n + t]);
                                }
            return new TapTable(e, n, maxS, maxO);
        }

        /// <summary>Every move of one padded channel against matrix rows <paramref name="r"/> on (advanced past them).</summary>
        public void Walk<TMove>(in ConvGeometry g, ref float pad, int padLength, ReadOnlySpan<float> col, int ld, ref int r)
            where TMove : struct, IRowMove
        {
            long start = (long)r * ld;
            if (_maxSource >= padLength || start + _maxOffset >= col.Length)
                throw new InvalidOperationException("The tap table reaches outside the padded channel or the matrix.");
            ref float m = ref Unsafe.Add(ref MemoryMarshal.GetReference(col), (nint)start);
            int[] e = _entries!;
            int n = _count;
            for (int t = 0; t < n; t++) TMove.Element(ref Unsafe.Add(ref pad, e[t]), ref Unsafe.Add(ref m, e[n + t]));
            r += g.KernelVolume;
        }

        public void Return()
        {
            if (_entries is not null) ArrayPool<int>.Shared.Return(_entries);
        }
    }

    /// <summary>Every window tap of one padded channel, in (kd, kh, kw) order, against matrix rows <paramref name="r"/>
    /// on (advanced past them): each tap's output rows, one <typeparamref name="TMove"/> per row segment.</summary>
    private static void Walk<TMove>(in ConvGeometry g, ref float pad, int padLength, ReadOnlySpan<float> col, int ld, ref int r)
        where TMove : struct, IRowMove
    {
        int wp = g.W + 2 * g.PW, plane = (g.H + 2 * g.PH) * wp;
        bool pairs = PairsRows(g, wp), quads = QuadsRows(g, wp);
        int step = g.SH * wp;
        for (int kd = 0; kd < g.KD; kd++)
            for (int kh = 0; kh < g.KH; kh++)
                for (int kw = 0; kw < g.KW; kw++, r++)
                {
                    ref float mr = ref MemoryMarshal.GetReference(col.Slice(r * ld, g.OutSpatial));
                    int j = 0;
                    for (int od = 0; od < g.OD; od++)
                    {
                        int dBase = (od * g.SD + kd * g.DD) * plane + kw * g.DW, oh = 0;
                        if (pairs)
                            for (; oh + 2 <= g.OH; oh += 2, j += 16)
                            {
                                int base0 = dBase + (oh * g.SH + kh * g.DH) * wp, base1 = base0 + step;
                                if (base1 + 16 > padLength) break;  // the last pair's span would leave the channel: one row at a time
                                TMove.MoveTwo(ref pad, base0, base1, ref Unsafe.Add(ref mr, j));
                            }
                        if (quads)
                            for (; oh + 4 <= g.OH; oh += 4, j += 16)
                            {
                                int base0 = dBase + (oh * g.SH + kh * g.DH) * wp;
                                if (base0 + 3 * step + 8 > padLength) break;  // the last rows' spans would leave the channel
                                TMove.MoveFour(ref pad, base0, step, ref Unsafe.Add(ref mr, j));
                            }
                        for (; oh < g.OH; oh++, j += g.OW)
                            TMove.Move(g, ref pad, padLength, dBase + (oh * g.SH + kh * g.DH) * wp, ref Unsafe.Add(ref mr, j));
                    }
                }
    }
}
