using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Learner.Nn.Kernels;

/// <summary>
/// Stride-1 2-D convolutions as GEMMs over the zero-padded input itself, with no im2col matrix written out. With the
/// input plane padded to Hp × Wp and the outputs indexed <c>j = oh·Wp + ow</c> (each output row followed by Wp − OW
/// columns nobody keeps), the im2col row of tap (c, kh, kw) is the slice of the padded sample that starts at
/// <c>c·Hp·Wp + kh·dh·Wp + kw·dw</c>: the GEMM reads its B rows there (<see cref="GemmProblem.BRows"/>), packing them
/// straight from the L1/L2-resident padded planes. The extra columns cost (Wp − OW) / Wp of the work, and the outputs
/// are compacted afterwards. The input gradient is the same kind of convolution of the output gradient, padded by
/// (k − 1)·d − p, with the filters flipped and their channel axes swapped; the weight gradient is, per sample, the
/// output gradient (zero in the extra columns) times the same shifted slices of the input, transposed.
/// </summary>
/// <remarks>
/// <para>Where it pays: the narrow stride-1 convolutions of small networks (the TSM preset's 8- and 16-channel stages
/// on 32 × 32 and 16 × 16 frames), whose GEMMs have so few rows that unfolding and packing an im2col matrix cost as much
/// as the products. <see cref="Chooses"/> says when <see cref="ConvAlgorithm.Auto"/> takes it.</para>
/// <para>Numerics: the output is bit-identical to the im2col path (the same products summed in the same order, slice by
/// slice of the same reduction); the gradients are the same sums regrouped (the input gradient sums over output
/// channels and taps in one reduction instead of folding per tap; the weight gradient's reduction runs over the padded
/// columns, whose zero terms change no value but move where the KC slices fall), a few units in the last place.</para>
/// <para>Determinism: samples run side by side, each on one core, or one after another with the GEMMs split over the
/// cores; the weight gradient is summed sample by sample into at most <see cref="MaxWeightPartials"/> partials, over a
/// partition of the batch that depends only on the batch size, which are then added in order. So results are
/// bit-identical for any number of threads.</para>
/// </remarks>
internal static class ImplicitGemmConv
{
    /// <summary>Largest padded plane stack or extended output of one sample, in floats (8 MiB).</summary>
    internal const long MaxSampleFloats = 1 << 21;

    /// <summary>Most weight-gradient partials (batch parts summed separately, then in order).</summary>
    internal const int MaxWeightPartials = 8;

    /// <summary>Largest ratio of computed (extended) to kept output columns that <see cref="ConvAlgorithm.Auto"/> accepts.</summary>
    internal const double MaxWaste = 1.25;

    /// <summary>Most output channels (per group) for which <see cref="ConvAlgorithm.Auto"/> takes this path: wider
    /// convolutions amortise the im2col matrix over enough GEMM rows.</summary>
    internal const int MaxAutoChannels = 64;

    /// <summary>Whether the geometry is one this class computes: 2-D, stride 1, a window of more than one tap, padding
    /// no wider than the window's reach (the input gradient's padding (k − 1)·d − p is then ≥ 0), and one sample's
    /// padded planes and extended outputs within <see cref="MaxSampleFloats"/>.</summary>
    internal static bool Fits(in ConvGeometry g)
    {
        if (g.D != 1 || g.KD != 1 || g.SD != 1 || g.PD != 0 || g.SH != 1 || g.SW != 1 || g.KH * g.KW < 2) return false;
        if (g.N < 1 || g.C < 1 || g.Cout < 1 || g.H < 1 || g.W < 1 || g.OH < 1 || g.OW < 1) return false;
        if (g.PH > (g.KH - 1) * g.DH || g.PW > (g.KW - 1) * g.DW) return false;
        var p = new Plan(g);
        return (long)g.C * p.PlaneX <= MaxSampleFloats && (long)g.Cout * p.PlaneT <= MaxSampleFloats
            && (long)g.Cout * p.ColsY <= MaxSampleFloats && (long)g.C * p.ColsX <= MaxSampleFloats;
    }

    /// <summary>Whether <paramref name="algorithm"/> computes this geometry here: <see cref="ConvAlgorithm.ImplicitGemm"/>
    /// wherever it <see cref="Fits"/>; <see cref="ConvAlgorithm.Auto"/> when, besides, the extra columns cost at most
    /// <see cref="MaxWaste"/> and the convolution is narrow (at most <see cref="MaxAutoChannels"/> output channels per group).</summary>
    internal static bool Chooses(in ConvGeometry g, ConvAlgorithm algorithm) => algorithm switch
    {
        ConvAlgorithm.ImplicitGemm => Fits(g),
        ConvAlgorithm.Auto => Fits(g) && g.CoutG <= MaxAutoChannels && (double)new Plan(g).ColsY / g.OutSpatial <= MaxWaste,
        _ => false,
    };

    /// <summary>Fewest input channels per group for which <see cref="ConvAlgorithm.Auto"/> computes the input gradient
    /// here too: its GEMMs have one row per input channel, so a stem's (one or three channels) would fill a fraction of
    /// each register tile, and im2col's product with K = output channels serves it better.</summary>
    internal const int MinInputGradientChannels = 4;

    /// <summary>Whether, for a geometry this class <see cref="Chooses"/>, it computes the input gradient as well (else
    /// the caller computes that one by im2col).</summary>
    internal static bool TakesInputGradient(in ConvGeometry g, ConvAlgorithm algorithm) =>
        algorithm == ConvAlgorithm.ImplicitGemm || g.Cg >= MinInputGradientChannels;

    /// <summary>The padded layouts of one geometry.</summary>
    private readonly struct Plan
    {
        /// <summary>Padded input plane (forward, weight gradient): Hp × Wp = (H + 2ph) × (W + 2pw).</summary>
        public readonly int Wp, PlaneX;
        /// <summary>Extended output columns of one channel: (OH − 1)·Wp + OW.</summary>
        public readonly int ColsY;
        /// <summary>Padding of the output gradient for the input gradient: (k − 1)·d − p per axis.</summary>
        public readonly int QH, QW;
        /// <summary>Padded output-gradient plane: (OH + 2qh) × (OW + 2qw).</summary>
        public readonly int WpT, PlaneT;
        /// <summary>Extended input-gradient columns of one channel: (H − 1)·WpT + W.</summary>
        public readonly int ColsX;

        public Plan(in ConvGeometry g)
        {
            Wp = g.W + 2 * g.PW;
            PlaneX = (g.H + 2 * g.PH) * Wp;
            ColsY = (g.OH - 1) * Wp + g.OW;
            QH = (g.KH - 1) * g.DH - g.PH;
            QW = (g.KW - 1) * g.DW - g.PW;
            WpT = g.OW + 2 * QW;
            PlaneT = (g.OH + 2 * QH) * WpT;
            ColsX = (g.H - 1) * WpT + g.W;
        }

        /// <summary>Whether the input is used in place (no padding to add).</summary>
        public bool XInPlace(in ConvGeometry g) => g.PH == 0 && g.PW == 0;

        /// <summary>Whether the padded output gradient, read from its interior, is also the weight gradient's extended
        /// output gradient (rows Wp apart with zeros between): when its rows are as wide as the padded input's.</summary>
        public bool SharesGradient => WpT == Wp;
    }

    /// <summary>y = conv(x, w) + b for a geometry that <see cref="Fits"/>; y is overwritten.</summary>
    internal static void Forward(ConvGeometry g, float[] x, float[] w, float[]? b, float[] y, int threads)
    {
        var plan = new Plan(g);
        bool inPlace = plan.XInPlace(g), compact = g.KW > 1;
        nint[] rows = ArrayPool<nint>.Shared.Rent(g.K);
        TapOffsets(g.C, g.KH, g.KW, g.DH * plan.Wp, g.DW, plan.PlaneX, rows);
        int workers = Math.Min(g.N, Math.Max(1, threads)), gemmThreads = workers == 1 ? Math.Max(1, threads) : 1;
        int xSize = inPlace ? 0 : g.C * plan.PlaneX, ySize = compact ? g.Cout * plan.ColsY : 0;
        float[] xpad = ArrayPool<float>.Shared.Rent(Math.Max(1, workers * xSize));
        float[] yext = ArrayPool<float>.Shared.Rent(Math.Max(1, workers * ySize));
        float[]? packed = PackA(g.N, g.Groups, g.CoutG, g.Kg, w, threads, out int perGroup);
        try
        {
            ConvKernels.Partition(g.N, workers, (wk, n0, n1) =>
            {
                Span<float> xp = xpad.AsSpan(wk * xSize, xSize), ye = yext.AsSpan(wk * ySize, ySize);
                xp.Clear();
                int inS = g.InSpatial, os = g.OutSpatial, ld = compact ? plan.ColsY : os;
                for (int n = n0; n < n1; n++)
                {
                    ReadOnlySpan<float> src = inPlace ? x.AsSpan(n * g.C * inS, g.C * inS) : Pad(x.AsSpan(n * g.C * inS, g.C * inS), g.C, g.H, g.W, g.PH, g.PW, plan.Wp, plan.PlaneX, xp);
                    Span<float> dst = compact ? ye : y.AsSpan(n * g.Cout * os, g.Cout * os);
                    if (!compact && b is not null)
                        for (int co = 0; co < g.Cout; co++) dst.Slice(co * os, os).Fill(b[co]);
                    for (int gr = 0; gr < g.Groups; gr++)
                        Gemm.SgemmCore(Gemm.BestIsa, gemmThreads, false, false, g.CoutG, plan.ColsY, g.Kg, 1f, w.AsSpan(gr * g.CoutG * g.Kg), g.Kg,
                            src, 0, !compact && b is not null ? 1f : 0f, dst.Slice(gr * g.CoutG * ld), ld,
                            packedA: Group(packed, perGroup, gr), bRows: rows.AsSpan(gr * g.Kg, g.Kg));
                    if (compact) Compact(ye, g.Cout, plan.ColsY, g.OH, g.OW, plan.Wp, y.AsSpan(n * g.Cout * os, g.Cout * os), b);
                }
            });
        }
        finally
        {
            ArrayPool<nint>.Shared.Return(rows);
            ArrayPool<float>.Shared.Return(xpad);
            ArrayPool<float>.Shared.Return(yext);
            if (packed is not null) ArrayPool<float>.Shared.Return(packed);
        }
    }

    /// <summary>The input and weight gradients (each overwritten when non-null; the bias gradient is the caller's) of a
    /// geometry that <see cref="Fits"/>.</summary>
    internal static void Backward(ConvGeometry g, float[] gy, float[] x, float[] w, float[]? gx, float[]? gw, int threads)
    {
        if (gx is null && gw is null) return;
        var plan = new Plan(g);
        int kv = g.KH * g.KW, kt = g.CoutG * kv, inS = g.InSpatial, os = g.OutSpatial;
        bool inPlace = plan.XInPlace(g), compactX = g.KW > 1, shares = plan.SharesGradient;
        // The partition of the batch for the weight gradient's partials: by the batch size only.
        int wSize = g.Cout * g.Kg;
        int parts = (int)Math.Clamp(Math.Min(MaxWeightPartials, ConvKernels.MaxColElements / Math.Max(1, wSize)), 1, g.N);
        int workers = Math.Min(parts, Math.Max(1, threads)), gemmThreads = workers == 1 ? Math.Max(1, threads) : 1;
        nint[] rowsX = ArrayPool<nint>.Shared.Rent(g.K), rowsT = ArrayPool<nint>.Shared.Rent(g.Cout * kv);
        TapOffsets(g.C, g.KH, g.KW, g.DH * plan.Wp, g.DW, plan.PlaneX, rowsX);
        TapOffsets(g.Cout, g.KH, g.KW, g.DH * plan.WpT, g.DW, plan.PlaneT, rowsT);
        // Per worker: the padded input (weight gradient), the padded output gradient (input gradient, and the weight
        // gradient's A when it shares), the extended output gradient (weight gradient otherwise), the extended input gradient.
        bool needT = gx is not null || (gw is not null && shares);
        int xSize = gw is not null && !inPlace ? g.C * plan.PlaneX : 0;
        int tSize = needT ? g.Cout * plan.PlaneT : 0;
        int eSize = gw is not null && !shares ? g.Cout * plan.ColsY : 0;
        int gxSize = gx is not null && compactX ? g.C * plan.ColsX : 0;
        int perWorker = xSize + tSize + eSize + gxSize;
        float[] scratch = ArrayPool<float>.Shared.Rent(Math.Max(1, workers * perWorker));
        float[]? partials = gw is not null && parts > 1 ? ArrayPool<float>.Shared.Rent(parts * wSize) : null;
        float[]? wt = gx is null ? null : ArrayPool<float>.Shared.Rent(g.Groups * g.Cg * kt);
        float[]? packed = null;
        int perGroup = 0;
        try
        {
            if (wt is not null)
            {
                FlipTranspose(g, w, wt);
                packed = PackA(g.N, g.Groups, g.Cg, kt, wt, threads, out perGroup);
            }
            ConvKernels.Partition(parts, workers, (wk, p0, p1) =>
            {
                Span<float> mine = scratch.AsSpan(wk * perWorker, perWorker);
                Span<float> xp = mine.Slice(0, xSize), tp = mine.Slice(xSize, tSize), ep = mine.Slice(xSize + tSize, eSize), gxe = mine.Slice(xSize + tSize + eSize, gxSize);
                mine.Clear();
                for (int part = p0; part < p1; part++)
                {
                    int n0 = (int)((long)g.N * part / parts), n1 = (int)((long)g.N * (part + 1) / parts);
                    Span<float> gwDst = gw is null ? default : partials is null ? gw.AsSpan(0, wSize) : partials.AsSpan(part * wSize, wSize);
                    for (int n = n0; n < n1; n++)
                    {
                        ReadOnlySpan<float> gyn = gy.AsSpan(n * g.Cout * os, g.Cout * os);
                        if (needT) Pad(gyn, g.Cout, g.OH, g.OW, plan.QH, plan.QW, plan.WpT, plan.PlaneT, tp);
                        if (gw is not null)
                        {
                            ReadOnlySpan<float> xs = inPlace ? x.AsSpan(n * g.C * inS, g.C * inS) : Pad(x.AsSpan(n * g.C * inS, g.C * inS), g.C, g.H, g.W, g.PH, g.PW, plan.Wp, plan.PlaneX, xp);
                            // A: the output gradient with rows Wp apart and zeros between them.
                            ReadOnlySpan<float> a = shares ? tp.Slice(plan.QH * plan.WpT + plan.QW) : Pad(gyn, g.Cout, g.OH, g.OW, 0, 0, plan.Wp, plan.ColsY, ep);
                            int lda = shares ? plan.PlaneT : plan.ColsY;
                            for (int gr = 0; gr < g.Groups; gr++)
                                Gemm.SgemmCore(Gemm.BestIsa, gemmThreads, false, true, g.CoutG, g.Kg, plan.ColsY, 1f, a.Slice(gr * g.CoutG * lda), lda,
                                    xs, 0, n == n0 ? 0f : 1f, gwDst.Slice(gr * g.CoutG * g.Kg), g.Kg, bRows: rowsX.AsSpan(gr * g.Kg, g.Kg));
                        }
                        if (gx is null) continue;
                        Span<float> gxn = gx.AsSpan(n * g.C * inS, g.C * inS);
                        Span<float> dst = compactX ? gxe : gxn;
                        int ld = compactX ? plan.ColsX : inS;
                        for (int gr = 0; gr < g.Groups; gr++)
                            Gemm.SgemmCore(Gemm.BestIsa, gemmThreads, false, false, g.Cg, plan.ColsX, kt, 1f, wt!.AsSpan(gr * g.Cg * kt), kt,
                                tp, 0, 0f, dst.Slice(gr * g.Cg * ld), ld, packedA: Group(packed, perGroup, gr), bRows: rowsT.AsSpan(gr * kt, kt));
                        if (compactX) Compact(gxe, g.C, plan.ColsX, g.H, g.W, plan.WpT, gxn, null);
                    }
                }
            });
            if (gw is not null && partials is not null)
            {
                partials.AsSpan(0, wSize).CopyTo(gw);
                for (int p = 1; p < parts; p++) TensorPrimitives.Add(gw.AsSpan(0, wSize), partials.AsSpan(p * wSize, wSize), gw.AsSpan(0, wSize));
            }
        }
        finally
        {
            ArrayPool<nint>.Shared.Return(rowsX);
            ArrayPool<nint>.Shared.Return(rowsT);
            ArrayPool<float>.Shared.Return(scratch);
            if (partials is not null) ArrayPool<float>.Shared.Return(partials);
            if (wt is not null) ArrayPool<float>.Shared.Return(wt);
            if (packed is not null) ArrayPool<float>.Shared.Return(packed);
        }
    }

    /// <summary>offsets[(c, kh, kw)] = c·plane + kh·rowStep + kw·colStep, in (channel, kh, kw) order.</summary>
    private static void TapOffsets(int channels, int kh, int kw, int rowStep, int colStep, int plane, nint[] offsets)
    {
        int r = 0;
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < kh; i++)
                for (int j = 0; j < kw; j++) offsets[r++] = (nint)c * plane + (nint)i * rowStep + (nint)j * colStep;
    }

    /// <summary>Writes <paramref name="channels"/> planes of h × w from <paramref name="src"/> into <paramref name="dst"/>
    /// at row <paramref name="top"/>, column <paramref name="left"/> of planes <paramref name="plane"/> floats apart with
    /// rows <paramref name="width"/> apart; what lies outside them is left as it is (zero: the buffer is cleared once).</summary>
    private static Span<float> Pad(ReadOnlySpan<float> src, int channels, int h, int w, int top, int left, int width, int plane, Span<float> dst)
    {
        if (channels == 0 || h == 0 || w == 0) return dst;
        // The rows are short (a frame's width): bounds checked once for the whole move, rows moved by inlined vector
        // copies rather than a memmove call each.
        if (src.Length < channels * h * w || left + w > width || dst.Length < (channels - 1) * plane + (top + h - 1) * width + left + w)
            throw new ArgumentException("The padded planes do not hold the source planes.", nameof(dst));
        ref float s = ref MemoryMarshal.GetReference(src);
        ref float d = ref MemoryMarshal.GetReference(dst);
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < h; i++)
                Im2Col.Copy(ref Unsafe.Add(ref s, (c * h + i) * w), ref Unsafe.Add(ref d, c * plane + (top + i) * width + left), w);
        return dst;
    }

    /// <summary>Keeps the first <paramref name="w"/> of every <paramref name="width"/> extended columns: dst[c, i, :] =
    /// src[c·cols + i·width ..] (+ bias[c]).</summary>
    private static void Compact(ReadOnlySpan<float> src, int channels, int cols, int h, int w, int width, Span<float> dst, float[]? bias)
    {
        if (channels == 0 || h == 0 || w == 0) return;
        if (w > width || src.Length < (channels - 1) * cols + (h - 1) * width + w || dst.Length < channels * h * w)
            throw new ArgumentException("The extended columns do not hold the planes.", nameof(src));
        ref float s = ref MemoryMarshal.GetReference(src);
        ref float d = ref MemoryMarshal.GetReference(dst);
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < h; i++)
            {
                if (bias is null) Im2Col.Copy(ref Unsafe.Add(ref s, c * cols + i * width), ref Unsafe.Add(ref d, (c * h + i) * w), w);
                else TensorPrimitives.Add(src.Slice(c * cols + i * width, w), bias[c], dst.Slice((c * h + i) * w, w));
            }
    }

    /// <summary>The input gradient's filters: per group, Cg × (CoutG·kh·kw), wt[ci, (co, i, j)] = w[co, ci, kh−1−i, kw−1−j].</summary>
    private static void FlipTranspose(in ConvGeometry g, float[] w, float[] wt)
    {
        int kv = g.KH * g.KW, kt = g.CoutG * kv;
        for (int gr = 0; gr < g.Groups; gr++)
            for (int co = 0; co < g.CoutG; co++)
                for (int ci = 0; ci < g.Cg; ci++)
                {
                    int from = ((gr * g.CoutG + co) * g.Cg + ci) * kv, to = (gr * g.Cg + ci) * kt + co * kv;
                    for (int t = 0; t < kv; t++) wt[to + t] = w[from + kv - 1 - t];
                }
    }

    /// <summary>Each group's m × k A (rows k apart, groups m·k apart) packed once when several samples share it, else null.</summary>
    private static float[]? PackA(int samples, int groups, int m, int k, float[] a, int threads, out int perGroup)
    {
        long length = GemmPackedA.Length(Gemm.BestIsa, m, k);
        perGroup = (int)Math.Min(length, int.MaxValue);
        if (samples < 2 || m < 2 || length * groups > int.MaxValue / 2) return null;
        float[] packed = ArrayPool<float>.Shared.Rent(perGroup * groups);
        for (int gr = 0; gr < groups; gr++)
            GemmPackedA.Pack(Gemm.BestIsa, threads, false, m, k, a.AsSpan(gr * m * k), k, packed.AsSpan(gr * perGroup, perGroup));
        return packed;
    }

    private static ReadOnlySpan<float> Group(float[]? packed, int perGroup, int gr) =>
        packed is null ? default : packed.AsSpan(gr * perGroup, perGroup);
}
