using System.Buffers;
using System.Numerics.Tensors;

namespace Learner.Nn.Kernels;

/// <summary>
/// Convolution forward and backward (2-D and 3-D, with stride, padding, dilation and groups) as a few large GEMMs: the
/// batch is cut into blocks (<see cref="ConvBlocks"/>) whose im2col matrices are laid side by side, so each block is one
/// GEMM per group for the output, one for the weight gradient and one for the input gradient, each split over the
/// cores by <see cref="Gemm"/> itself; unfolding, folding and the copies between the batch layout and the block
/// layout run per (sample, channel range) on the <see cref="WorkerPool"/>. Blocks too small to split a GEMM well
/// (<see cref="ConvBlocks.Independent"/>, the narrow convolutions of small networks) instead run side by side on the
/// pool, each on one core with its own workspace. Two kinds leave this path unless the algorithm is
/// <see cref="ConvAlgorithm.Gemm"/>: convolutions whose window has taps that meet only padding (cut by <see cref="ConvWindowCrop"/> first),
/// the 3×3 stride-1 convolutions <see cref="WinogradConv.Chooses"/> takes and the narrow stride-1 ones
/// <see cref="ImplicitGemmConv.Chooses"/> takes.
/// </summary>
/// <remarks>
/// Determinism: the blocks depend only on the geometry, never on the core count; the weight gradient is the blocks'
/// products accumulated into it in block order (the first overwrites) — for independent blocks, one partial per block,
/// summed in block order after they all finish — and the GEMM reduces every element in a fixed order whatever its
/// thread split. So forward and backward results are bit-identical for any number of threads.
/// </remarks>
internal static class ConvKernels
{
    /// <summary>Largest block matrix (im2col or output block), in elements (8 MiB of floats); see <see cref="ConvBlocks"/>.</summary>
    internal const int MaxColElements = 1 << 21;

    /// <summary>Below this many multiply-adds the copies around the GEMMs run on the calling thread.</summary>
    private const long MinParallelMacs = 1L << 20;

    /// <summary>Runs <paramref name="body"/>(worker, start, end) over <paramref name="workers"/> contiguous ranges of [0, items).</summary>
    internal static void Partition(int items, int workers, Action<int, int, int> body)
    {
        if (workers <= 1) { body(0, 0, items); return; }
        WorkerPool.For(workers, w => body(w, (int)((long)items * w / workers), (int)((long)items * (w + 1) / workers)));
    }

    /// <summary>A pointwise, ungrouped convolution on 1×1 maps (what a 3×3 padding-1 convolution on 1×1 maps becomes
    /// once <see cref="ConvWindowCrop"/> has cut it): its batch layout [N, C] is already the product's matrix, so it
    /// is one GEMM per result — no per-sample, per-channel copies of single floats.</summary>
    private static bool IsMatrixProduct(in ConvGeometry g) => g.IsPointwise && g.InSpatial == 1 && g.Groups == 1;

    private static long Macs(in ConvGeometry g) => (long)g.N * g.Cout * g.Kg * g.OutSpatial;

    /// <summary>
    /// Runs <paramref name="body"/>(sample index in the block, c0, c1) over every sample of a block of
    /// <paramref name="samples"/>, each cut into channel ranges of [0, <paramref name="channels"/>) when there are fewer
    /// samples than threads. Each call touches its own sample and channels only, so the split changes no result.
    /// </summary>
    /// <remarks>Allocation-free: the body is a struct run through <see cref="WorkerPool.Run{TJob}"/> (inline when one part).</remarks>
    private static void ForSampleChannels<TBody>(int samples, int channels, int threads, long macs, in TBody body) where TBody : struct, ISampleChannelBody
    {
        int parts = macs < MinParallelMacs ? 1 : Math.Max(1, threads);
        int split = samples >= parts ? 1 : Math.Min(channels, (parts + samples - 1) / samples);
        int items = samples * split;
        var job = new SampleChannelJob<TBody> { Body = body, Items = items, Parts = Math.Max(1, Math.Min(parts, items)), Split = split, Channels = channels };
        WorkerPool.Run(ref job, job.Parts);
    }

    /// <summary>One (sample, channel range) step of a block's copies.</summary>
    private interface ISampleChannelBody
    {
        void Run(int j, int c0, int c1);
    }

    /// <summary>Contiguous ranges of the (sample, channel range) items, one per part.</summary>
    private struct SampleChannelJob<TBody> : IParallelJob where TBody : struct, ISampleChannelBody
    {
        public TBody Body;
        public int Items, Parts, Split, Channels;

        public void RunPart(int part)
        {
            int start = (int)((long)Items * part / Parts), end = (int)((long)Items * (part + 1) / Parts);
            for (int it = start; it < end; it++)
            {
                int j = it / Split, sp = it % Split;
                Body.Run(j, (int)((long)Channels * sp / Split), (int)((long)Channels * (sp + 1) / Split));
            }
        }
    }

    /// <summary>im2col of the block's samples (<see cref="Unfold"/>).</summary>
    private readonly struct UnfoldBody(ConvGeometry g, float[] x, Memory<float> col, ConvBlock blk) : ISampleChannelBody
    {
        public void Run(int j, int c0, int c1) => Unfold(g, x, col.Span, blk, j, c0, c1);
    }

    /// <summary>Block output → batch layout of y, plus the bias.</summary>
    private readonly struct ScatterOutputBody(ConvGeometry g, float[] y, Memory<float> yb, float[]? b, ConvBlock blk) : ISampleChannelBody
    {
        public void Run(int j, int c0, int c1)
        {
            int n = blk.N0 + j, ld = blk.Width, os = g.OutSpatial;
            for (int co = c0; co < c1; co++)
            {
                ReadOnlySpan<float> from = yb.Span.Slice(co * ld + j * blk.Cols, blk.Cols);
                Span<float> dst = y.AsSpan((n * g.Cout + co) * os + blk.P0, blk.Cols);
                if (b is null) from.CopyTo(dst);
                else TensorPrimitives.Add(from, b[co], dst);
            }
        }
    }

    /// <summary>Batch layout of gy → the block's output-gradient matrix.</summary>
    private readonly struct GatherGradientBody(ConvGeometry g, float[] gy, Memory<float> gyb, ConvBlock blk) : ISampleChannelBody
    {
        public void Run(int j, int c0, int c1)
        {
            int n = blk.N0 + j, ld = blk.Width, os = g.OutSpatial;
            for (int co = c0; co < c1; co++)
                gy.AsSpan((n * g.Cout + co) * os + blk.P0, blk.Cols).CopyTo(gyb.Span.Slice(co * ld + j * blk.Cols, blk.Cols));
        }
    }

    /// <summary>col2im of the block's input-gradient columns into gx (cleared first where the sample's tile starts).</summary>
    private readonly struct FoldBody(ConvGeometry g, float[] gx, Memory<float> colM, ConvBlock blk) : ISampleChannelBody
    {
        public void Run(int j, int c0, int c1)
        {
            int inS = g.InSpatial, ld = blk.Width;
            var gxn = gx.AsSpan((blk.N0 + j) * g.C * inS, g.C * inS);
            var col = colM.Span;
            if (Im2ColPadded.Applies(g, blk.Cols))
            {
                Im2ColPadded.Fold(g, col.Slice(j * blk.Cols), gxn, ld, c0, c1);
                return;
            }
            if (blk.P0 == 0) gxn.Slice(c0 * inS, (c1 - c0) * inS).Clear();
            if (g.IsPointwise)
                for (int c = c0; c < c1; c++)
                    TensorPrimitives.Add(gxn.Slice(c * inS + blk.P0, blk.Cols), col.Slice(c * ld + j * blk.Cols, blk.Cols),
                        gxn.Slice(c * inS + blk.P0, blk.Cols));
            else
                Im2Col.FoldAdd(g, col.Slice(j * blk.Cols), gxn, blk.P0, blk.Cols, ld, c0, c1);
        }
    }

    private static void Sgemm(int threads, bool transA, bool transB, int m, int n, int k, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc, ReadOnlySpan<float> packedA = default) =>
        Gemm.SgemmCore(Gemm.BestIsa, threads, transA, transB, m, n, k, 1f, a, lda, b, ldb, beta, c, ldc, packedA: packedA);

    /// <summary>The weights of every group packed once as the A operand of the forward GEMMs (W, Cout/groups × Kg) or,
    /// when <paramref name="transposed"/>, of the input-gradient GEMMs (Wᵀ, Kg × Cout/groups): every batch block
    /// multiplies the same weights, which the GEMM would otherwise pack again per block and per thread. Null (pack per
    /// call) when the convolution is a single block. Rented from the shared pool; <paramref name="perGroup"/> is one
    /// group's length.</summary>
    private static float[]? PackWeights(in ConvGeometry g, float[] w, bool transposed, in ConvBlocks blocks, int threads, out int perGroup)
    {
        int coutG = g.CoutG, kg = g.Kg;
        int m = transposed ? kg : coutG, k = transposed ? coutG : kg;
        long length = GemmPackedA.Length(Gemm.BestIsa, m, k);
        perGroup = (int)Math.Min(length, int.MaxValue);
        if (blocks.Count < 2 || length * g.Groups > int.MaxValue / 2) return null;
        float[] packed = ArrayPool<float>.Shared.Rent(perGroup * g.Groups);
        for (int gr = 0; gr < g.Groups; gr++)
            GemmPackedA.Pack(Gemm.BestIsa, threads, transposed, m, k, w.AsSpan(gr * coutG * kg), kg, packed.AsSpan(gr * perGroup, perGroup));
        return packed;
    }

    private static ReadOnlySpan<float> GroupPack(float[]? packed, int perGroup, int gr) =>
        packed is null ? default : packed.AsSpan(gr * perGroup, perGroup);

    /// <summary>y = conv(x, w) + b. Shapes: x [N, C, D, H, W], w [Cout, C/groups, kD, kH, kW], b [Cout], y [N, Cout, oD, oH, oW].</summary>
    internal static void Forward(ConvGeometry g, float[] x, float[] w, float[]? b, float[] y) =>
        Forward(g, x, w, b, y, WorkerPool.Threads);

    /// <summary><see cref="Forward(ConvGeometry, float[], float[], float[], float[])"/> on at most <paramref name="threads"/> threads (tests vary it).</summary>
    internal static void Forward(ConvGeometry g, float[] x, float[] w, float[]? b, float[] y, int threads) =>
        Forward(g, x, w, b, y, threads, WinogradConv.Default);

    /// <summary>The forward pass with the <paramref name="algorithm"/> given (tests and benchmarks compare them).</summary>
    internal static void Forward(ConvGeometry g, float[] x, float[] w, float[]? b, float[] y, int threads, ConvAlgorithm algorithm)
    {
        if (algorithm != ConvAlgorithm.Gemm && ConvWindowCrop.Crops(g, out var cut))
        {
            ConvWindowCrop.Forward(g, cut, x, w, b, y, threads, algorithm);
            return;
        }
        if (WinogradConv.Chooses(g, algorithm))
        {
            WinogradConv.Forward(g, x, w, b, y, threads);
            return;
        }
        if (ImplicitGemmConv.Chooses(g, algorithm))
        {
            ImplicitGemmConv.Forward(g, x, w, b, y, threads);
            return;
        }
        if (algorithm != ConvAlgorithm.Gemm && SmallMapConv.Chooses(g))
        {
            SmallMapConv.Forward(g, x, w, b, y, threads);
            return;
        }
        if (IsMatrixProduct(g))
        {
            // y (N × Cout) = x (N × C) · Wᵀ, the bias first where there is one.
            if (b is not null)
                for (int n = 0; n < g.N; n++) b.AsSpan(0, g.Cout).CopyTo(y.AsSpan(n * g.Cout, g.Cout));
            Sgemm(threads, false, true, g.N, g.Cout, g.C, x, g.C, w, g.C, b is null ? 0f : 1f, y, g.Cout);
            return;
        }
        var blocks = new ConvBlocks(g);
        long macs = Macs(g);
        int workers = blocks.Independent ? Math.Min(blocks.Count, Math.Max(1, threads)) : 1;
        int colSize = g.K * blocks.MaxWidth, ySize = g.Cout * blocks.MaxWidth;
        float[] col = ArrayPool<float>.Shared.Rent(workers * colSize);
        float[] yb = ArrayPool<float>.Shared.Rent(workers * ySize);
        float[]? packed = PackWeights(g, w, false, blocks, threads, out int perGroup);
        try
        {
            if (blocks.Independent)
                Partition(blocks.Count, workers, (wk, start, end) =>
                {
                    for (int i = start; i < end; i++)
                        ForwardBlock(g, x, w, packed, perGroup, b, y, blocks[i], col.AsMemory(wk * colSize, colSize), yb.AsMemory(wk * ySize, ySize), 1, 0);
                });
            else
                for (int i = 0; i < blocks.Count; i++) ForwardBlock(g, x, w, packed, perGroup, b, y, blocks[i], col, yb, threads, macs);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(col);
            ArrayPool<float>.Shared.Return(yb);
            if (packed is not null) ArrayPool<float>.Shared.Return(packed);
        }
    }

    /// <summary>The output of one block: its GEMMs on <paramref name="threads"/> threads, the copies around them split
    /// when <paramref name="macs"/> (the whole convolution's) is large enough.</summary>
    private static void ForwardBlock(in ConvGeometry g, float[] x, float[] w, float[]? packedW, int perGroup, float[]? b, float[] y, ConvBlock blk,
        Memory<float> colM, Memory<float> ybM, int threads, long macs)
    {
        int coutG = g.CoutG, kg = g.Kg, os = g.OutSpatial, ld = blk.Width;
        // A block of one whole sample has the batch layout already: the GEMM writes y, and the input is its own
        // im2col matrix when the convolution is pointwise.
        bool whole = blk.Samples == 1 && blk.Cols == os;
        int yOff = whole ? blk.N0 * g.Cout * os : 0;
        if (whole && b is not null)
            for (int co = 0; co < g.Cout; co++) y.AsSpan(yOff + co * os, os).Fill(b[co]);
        bool direct = whole && g.IsPointwise;
        if (!direct) ForSampleChannels(blk.Samples, g.C, threads, macs, new UnfoldBody(g, x, colM, blk));
        ReadOnlySpan<float> src = direct ? x.AsSpan(blk.N0 * g.C * g.InSpatial) : colM.Span;
        Span<float> yDst = whole ? y.AsSpan(yOff) : ybM.Span;
        for (int gr = 0; gr < g.Groups; gr++)
            Sgemm(threads, false, false, coutG, ld, kg, w.AsSpan(gr * coutG * kg), kg, src.Slice(gr * kg * ld), ld,
                whole && b is not null ? 1f : 0f, yDst.Slice(gr * coutG * ld), ld, GroupPack(packedW, perGroup, gr));
        if (!whole) ForSampleChannels(blk.Samples, g.Cout, threads, macs, new ScatterOutputBody(g, y, ybM, b, blk));
    }

    /// <summary>Writes the im2col rows of channels [c0, c1) of sample <paramref name="j"/> of the block into its columns of <paramref name="col"/>.</summary>
    private static void Unfold(in ConvGeometry g, float[] x, Span<float> col, ConvBlock blk, int j, int c0, int c1)
    {
        int inS = g.InSpatial, ld = blk.Width;
        var xn = x.AsSpan((blk.N0 + j) * g.C * inS, g.C * inS);
        if (g.IsPointwise)
            for (int c = c0; c < c1; c++) xn.Slice(c * inS + blk.P0, blk.Cols).CopyTo(col.Slice(c * ld + j * blk.Cols, blk.Cols));
        else if (Im2ColPadded.Applies(g, blk.Cols))
            Im2ColPadded.Unfold(g, xn, col.Slice(j * blk.Cols), ld, c0, c1);
        else
            Im2Col.Unfold(g, xn, col.Slice(j * blk.Cols), blk.P0, blk.Cols, ld, c0, c1);
    }

    /// <summary>Gradients of a convolution from the output gradient <paramref name="gy"/> [N, Cout, oD, oH, oW].
    /// Each destination that is non-null is overwritten.</summary>
    internal static void Backward(ConvGeometry g, float[] gy, float[] x, float[] w, float[]? gx, float[]? gw, float[]? gb) =>
        Backward(g, gy, x, w, gx, gw, gb, WorkerPool.Threads);

    /// <summary><see cref="Backward(ConvGeometry, float[], float[], float[], float[], float[], float[])"/> on at most <paramref name="threads"/> threads (tests vary it).</summary>
    internal static void Backward(ConvGeometry g, float[] gy, float[] x, float[] w, float[]? gx, float[]? gw, float[]? gb, int threads) =>
        Backward(g, gy, x, w, gx, gw, gb, threads, WinogradConv.Default);

    /// <summary>The backward pass with the <paramref name="algorithm"/> given (tests and benchmarks compare them).</summary>
    internal static void Backward(ConvGeometry g, float[] gy, float[] x, float[] w, float[]? gx, float[]? gw, float[]? gb, int threads, ConvAlgorithm algorithm)
    {
        if (algorithm != ConvAlgorithm.Gemm && ConvWindowCrop.Crops(g, out var cut))
        {
            ConvWindowCrop.Backward(g, cut, gy, x, w, gx, gw, gb, threads, algorithm);
            return;
        }
        if (gb is not null) BiasGrad(g, gy, gb);
        if (WinogradConv.Chooses(g, algorithm))
        {
            WinogradConv.Backward(g, gy, x, w, gx, gw, threads);
            return;
        }
        if (ImplicitGemmConv.Chooses(g, algorithm))
        {
            // A convolution from very few input channels (a stem) leaves its input gradient, if asked for, to im2col.
            bool gxHere = ImplicitGemmConv.TakesInputGradient(g, algorithm);
            ImplicitGemmConv.Backward(g, gy, x, w, gxHere ? gx : null, gw, threads);
            if (gxHere || gx is null) return;
            gw = null;
        }
        if (gx is null && gw is null) return;
        if (algorithm != ConvAlgorithm.Gemm && SmallMapConv.Chooses(g))
        {
            SmallMapConv.Backward(g, gy, x, w, gx, gw, threads);
            return;
        }
        if (IsMatrixProduct(g))
        {
            // gx (N × C) = gy (N × Cout) · W; gw (Cout × C) = gyᵀ · x.
            if (gx is not null) Sgemm(threads, false, false, g.N, g.C, g.Cout, gy, g.Cout, w, g.C, 0f, gx, g.C);
            if (gw is not null) Sgemm(threads, true, false, g.Cout, g.C, g.N, gy, g.Cout, x, g.C, 0f, gw, g.C);
            return;
        }
        var blocks = new ConvBlocks(g);
        long macs = Macs(g);
        bool independent = blocks.Independent;
        int workers = independent ? Math.Min(blocks.Count, Math.Max(1, threads)) : 1;
        int colSize = g.K * blocks.MaxWidth, gySize = g.Cout * blocks.MaxWidth, wSize = g.Cout * g.Kg;
        float[] col = ArrayPool<float>.Shared.Rent(workers * colSize);
        float[] gyb = ArrayPool<float>.Shared.Rent(workers * gySize);
        // Independent blocks: one weight-gradient partial per block, summed in block order below.
        float[]? partials = independent && gw is not null ? ArrayPool<float>.Shared.Rent(blocks.Count * wSize) : null;
        int perGroup = 0;
        float[]? packed = gx is null ? null : PackWeights(g, w, true, blocks, threads, out perGroup);
        try
        {
            if (independent)
            {
                Partition(blocks.Count, workers, (wk, start, end) =>
                {
                    for (int i = start; i < end; i++)
                        BackwardBlock(g, gy, x, w, packed, perGroup, gx, partials is null ? (Memory<float>?)null : partials.AsMemory(i * wSize, wSize), false, blocks[i],
                            col.AsMemory(wk * colSize, colSize), gyb.AsMemory(wk * gySize, gySize), 1, 0);
                });
                if (gw is not null && partials is not null)
                {
                    partials.AsSpan(0, wSize).CopyTo(gw);
                    for (int i = 1; i < blocks.Count; i++) TensorPrimitives.Add(gw.AsSpan(0, wSize), partials.AsSpan(i * wSize, wSize), gw.AsSpan(0, wSize));
                }
            }
            else
                for (int i = 0; i < blocks.Count; i++)
                    BackwardBlock(g, gy, x, w, packed, perGroup, gx, gw is null ? (Memory<float>?)null : gw.AsMemory(), i > 0, blocks[i], col, gyb, threads, macs);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(col);
            ArrayPool<float>.Shared.Return(gyb);
            if (partials is not null) ArrayPool<float>.Shared.Return(partials);
            if (packed is not null) ArrayPool<float>.Shared.Return(packed);
        }
    }

    /// <summary>The gradients of one block: its samples' (or column tile's) part of <paramref name="gx"/>, and its weight
    /// gradient written to (or, when <paramref name="accumulate"/>, added to) <paramref name="gwM"/>.</summary>
    private static void BackwardBlock(in ConvGeometry g, float[] gy, float[] x, float[] w, float[]? packedWt, int perGroup, float[]? gx, Memory<float>? gwM,
        bool accumulate, ConvBlock blk, Memory<float> colM, Memory<float> gybM, int threads, long macs)
    {
        int coutG = g.CoutG, kg = g.Kg, os = g.OutSpatial, inS = g.InSpatial, ld = blk.Width;
        // A block of one whole sample reads gy (and, when pointwise, x) in place; see ForwardBlock.
        bool whole = blk.Samples == 1 && blk.Cols == os, direct = whole && g.IsPointwise;
        if (!whole) ForSampleChannels(blk.Samples, g.Cout, threads, macs, new GatherGradientBody(g, gy, gybM, blk));
        ReadOnlySpan<float> gys = whole ? gy.AsSpan(blk.N0 * g.Cout * os) : gybM.Span;
        if (gwM is { } gwDst)
        {
            if (!direct) ForSampleChannels(blk.Samples, g.C, threads, macs, new UnfoldBody(g, x, colM, blk));
            ReadOnlySpan<float> src = direct ? x.AsSpan(blk.N0 * g.C * inS) : colM.Span;
            for (int gr = 0; gr < g.Groups; gr++)
                Sgemm(threads, false, true, coutG, kg, ld, gys.Slice(gr * coutG * ld), ld,
                    src.Slice(gr * kg * ld), ld, accumulate ? 1f : 0f, gwDst.Span.Slice(gr * coutG * kg), kg);
        }
        if (gx is null) return;
        if (direct)
        {
            for (int gr = 0; gr < g.Groups; gr++)
                Sgemm(threads, true, false, kg, ld, coutG, w.AsSpan(gr * coutG * kg), kg,
                    gys.Slice(gr * coutG * ld), ld, 0f, gx.AsSpan(blk.N0 * g.C * inS + gr * kg * ld), ld, GroupPack(packedWt, perGroup, gr));
            return;
        }
        for (int gr = 0; gr < g.Groups; gr++)
            Sgemm(threads, true, false, kg, ld, coutG, w.AsSpan(gr * coutG * kg), kg,
                gys.Slice(gr * coutG * ld), ld, 0f, colM.Span.Slice(gr * kg * ld), ld, GroupPack(packedWt, perGroup, gr));
        ForSampleChannels(blk.Samples, g.C, threads, macs, new FoldBody(g, gx, colM, blk));
    }

    private static void BiasGrad(in ConvGeometry g, float[] gy, float[] gb)
    {
        // Per output channel, the double sum of its planes' float sums in sample order; samples outermost so a
        // one-position output (1×1 maps) reads its rows contiguously and skips the call per element.
        int os = g.OutSpatial;
        var sums = ArrayPool<double>.Shared.Rent(g.Cout);
        try
        {
            Array.Clear(sums, 0, g.Cout);
            for (int n = 0; n < g.N; n++)
                for (int co = 0; co < g.Cout; co++)
                {
                    int at = (n * g.Cout + co) * os;
                    sums[co] += os == 1 ? gy[at] : TensorPrimitives.Sum(gy.AsSpan(at, os));
                }
            for (int co = 0; co < g.Cout; co++) gb[co] = (float)sums[co];
        }
        finally
        {
            ArrayPool<double>.Shared.Return(sums);
        }
    }
}
