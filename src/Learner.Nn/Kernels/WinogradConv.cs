using System.Buffers;

namespace Learner.Nn.Kernels;

/// <summary>How <see cref="ConvKernels"/> computes a convolution's output and gradients.</summary>
internal enum ConvAlgorithm
{
    /// <summary>Winograd where <see cref="WinogradConv.Chooses"/> says it pays, else the implicit GEMM where
    /// <see cref="ImplicitGemmConv.Chooses"/> says it does, im2col + GEMM elsewhere.</summary>
    Auto,

    /// <summary>Always im2col + GEMM: no Winograd, and no cutting of taps that meet only padding (<see cref="ConvWindowCrop"/>) either.</summary>
    Gemm,

    /// <summary>Winograd wherever the geometry allows it (<see cref="WinogradConv.Fits"/>), im2col + GEMM elsewhere.</summary>
    Winograd,

    /// <summary>The implicit GEMM over the padded input wherever the geometry allows it (<see cref="ImplicitGemmConv.Fits"/>),
    /// im2col + GEMM elsewhere.</summary>
    ImplicitGemm,
}

/// <summary>
/// Winograd F(2×2, 3×3) for 2-D 3×3 convolutions with stride 1, padding 1, no dilation and one group — every 3×3
/// convolution of a ResNet block after its first. Each 4×4 input tile (stride 2) is transformed to V = Bᵀ d B, each
/// filter to U = G g Gᵀ; the 16 transform points are 16 independent GEMMs M_ξ = U_ξ · V_ξ (Cout × C by C × tiles);
/// each output tile is Aᵀ M A (2×2). That is 16 multiply–adds per 2×2 outputs and input channel instead of 36: 2.25×
/// fewer, the rest of the time being the transforms. The input gradient of such a convolution is the same
/// convolution of the output gradient with the filters flipped and transposed, whose transform is
/// U′_(a,b) = U_(π a, π b)ᵀ (π swaps 0 and 3), so it reuses the forward's transformed filters as a transposed GEMM
/// operand. The weight gradient is the adjoint: dU_ξ = Σ_tiles Ŷ_ξ V_ξᵀ with Ŷ = A e Aᵀ of each 2×2 output-gradient
/// tile e (16 GEMMs Cout × tiles by tiles × C, accumulated over the blocks in order), then gw = Gᵀ dU G.
/// The transforms are <see cref="WinogradTransforms"/>.
/// </summary>
/// <remarks>
/// <para>Numerics: not bit-identical to the im2col path (the sums are regrouped: inputs are added before they are
/// multiplied); the difference is a few units in the last place of the terms' magnitude. Tests bound it against a
/// double-precision direct convolution.</para>
/// <para>Determinism: the batch is cut into blocks of whole samples that depend only on the geometry; within a block
/// every output element is one GEMM element and two transform sums in a fixed order, the weight gradient's transform
/// is summed over the blocks in block order, and the GEMM's reduction order does not depend on its thread count. So
/// results are bit-identical for any number of threads; the transforms use only correctly rounded adds, so they do
/// not depend on the SIMD width either.</para>
/// <para>The choice is made per geometry by <see cref="Chooses"/>: Winograd when both channel counts are at least
/// <see cref="MinChannels"/> and both plane sides at least <see cref="MinSide"/> (measured on a 2-core AMD Zen 5,
/// docs/performance.md: 8→8 on 32 × 32 and 16→16 on 16 × 16 take twice as long as im2col, 32→32 on 8 × 8 breaks even,
/// everything wider wins, 4 × 4 planes included). The environment variable <c>LEARNER_CONV_ALGORITHM</c> =
/// <c>auto</c> | <c>gemm</c> | <c>winograd</c> | <c>implicit</c> overrides it for the process (read once).</para>
/// </remarks>
internal static unsafe class WinogradConv
{
    internal const string EnvironmentVariable = "LEARNER_CONV_ALGORITHM";

    /// <summary>Fewest input and output channels for which <see cref="ConvAlgorithm.Auto"/> chooses Winograd: with
    /// fewer, the 16 GEMMs are too thin to run at the micro-kernel's speed and the transforms dominate.</summary>
    internal const int MinChannels = 32;

    /// <summary>Shortest plane side for which <see cref="ConvAlgorithm.Auto"/> chooses Winograd: a 2 × 2 plane is one
    /// tile and a 1 × 1 plane a quarter of one (16 products where the window reaches 1 to 4 inputs).</summary>
    internal const int MinSide = 4;

    /// <summary>A block gathers whole samples until it has at least this many tiles (the GEMMs' column count).</summary>
    internal const int TargetTiles = 256;

    /// <summary>Largest transformed block (16 × channels × tiles), in floats (8 MiB); a sample needing more is left to im2col.</summary>
    internal const long MaxBlockFloats = 1 << 21;

    /// <summary>Below this many multiply–adds per block the transforms run on the calling thread.</summary>
    private const long MinParallelMacs = 1L << 20;

    /// <summary>The process-wide algorithm: <c>LEARNER_CONV_ALGORITHM</c>, or <see cref="ConvAlgorithm.Auto"/>.</summary>
    internal static ConvAlgorithm Default { get; } = Parse(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>The algorithm an environment value names (null or blank: auto).</summary>
    /// <exception cref="InvalidOperationException">The value names no algorithm.</exception>
    internal static ConvAlgorithm Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => ConvAlgorithm.Auto,
        "gemm" or "im2col" => ConvAlgorithm.Gemm,
        "winograd" => ConvAlgorithm.Winograd,
        "implicit" or "implicit-gemm" => ConvAlgorithm.ImplicitGemm,
        _ => throw new InvalidOperationException($"{EnvironmentVariable} = '{value}' names no convolution algorithm; use auto, gemm, winograd or implicit."),
    };

    /// <summary>Whether the geometry is one this class computes: 2-D, 3×3, stride 1, padding 1, no dilation, one group,
    /// and one sample's transformed input and output within <see cref="MaxBlockFloats"/>.</summary>
    internal static bool Fits(in ConvGeometry g) =>
        g.D == 1 && g.KD == 1 && g.SD == 1 && g.PD == 0 && g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && g.PH == 1 && g.PW == 1
        && g.DH == 1 && g.DW == 1 && g.Groups == 1 && g.N > 0 && g.C > 0 && g.Cout > 0 && g.OH == g.H && g.OW == g.W && g.H > 0 && g.W > 0
        && 16L * Math.Max(g.C, g.Cout) * Tiles(g) <= MaxBlockFloats;

    /// <summary>Whether <paramref name="algorithm"/> computes this geometry's output and gradients with Winograd.</summary>
    internal static bool Chooses(in ConvGeometry g, ConvAlgorithm algorithm) => algorithm switch
    {
        ConvAlgorithm.Gemm => false,
        ConvAlgorithm.Winograd => Fits(g),
        _ => Fits(g) && Math.Min(g.C, g.Cout) >= MinChannels && Math.Min(g.H, g.W) >= MinSide,
    };

    private static long Tiles(in ConvGeometry g) => (long)((g.H + 1) / 2) * ((g.W + 1) / 2);

    /// <summary>y = conv(x, w) + b for a geometry that <see cref="Fits"/>; y is overwritten.</summary>
    internal static void Forward(in ConvGeometry g, float[] x, float[] w, float[]? b, float[] y, int threads)
    {
        var plan = new Plan(g);
        float[] u = TransformFilters(g, w, threads);
        float[] v = Rent(plan.BlockFloats), m = Rent(plan.BlockFloats);
        float[]? packed = PackFilters(plan, u, g.C, g.Cout, false, threads, out long packLen);
        try
        {
            fixed (float* px = x, pw = u, pp = packed, pv = v, pm = m, py = y, pb = b)
                for (int blk = 0; blk < plan.Blocks; blk++)
                {
                    var (n0, cols) = plan.Block(blk);
                    long macs = 16L * g.Cout * g.C * cols;
                    Input(plan, px, n0, g.C, pv, cols, macs, threads);
                    Product(pw, packed is null ? null : pp, packLen, pv, pm, g.C, g.Cout, cols, false, macs, threads);
                    Output(plan, pm, py, b is null ? null : pb, n0, g.Cout, cols, macs, threads);
                }
        }
        finally { Return(u, v, m, packed); }
    }

    /// <summary>The input gradient gx and the weight gradient gw (each overwritten when non-null) of a convolution that
    /// <see cref="Fits"/>, from its output gradient gy.</summary>
    internal static void Backward(in ConvGeometry g, float[] gy, float[] x, float[] w, float[]? gx, float[]? gw, int threads)
    {
        if (gx is null && gw is null) return;
        var plan = new Plan(g);
        int c = g.C, cout = g.Cout;
        float[]? u = gx is null ? null : TransformFilters(g, w, threads);
        float[]? du = gw is null ? null : Rent(16 * cout * c);
        float[] v = Rent(plan.BlockFloats), m = Rent(plan.BlockFloats);
        long packLen = 0;
        float[]? packed = u is null ? null : PackFilters(plan, u, cout, c, true, threads, out packLen);
        try
        {
            fixed (float* pgy = gy, px = x, pu = u, pp = packed, pdu = du, pv = v, pm = m, pgx = gx)
            {
                for (int blk = 0; blk < plan.Blocks; blk++)
                {
                    var (n0, cols) = plan.Block(blk);
                    long macs = 16L * cout * c * cols;
                    if (gx is not null)
                    {
                        // The same correlation of gy with the flipped, transposed filters: Cout channels in, C out.
                        Input(plan, pgy, n0, cout, pv, cols, macs, threads);
                        Product(pu, packed is null ? null : pp, packLen, pv, pm, cout, c, cols, true, macs, threads);
                        Output(plan, pm, pgx, null, n0, c, cols, macs, threads);
                    }
                    if (du is not null)
                    {
                        Input(plan, px, n0, c, pv, cols, macs, threads);
                        var grad = new WinogradTransforms.GradJob { Gy = pgy + (long)n0 * cout * plan.PlaneSize, Dst = pm, OutC = cout, H = plan.H, W = plan.W, TH = plan.TH, TW = plan.TW, Cols = cols, Items = WinogradTransforms.GradJob.ItemCount(plan.TW, plan.Samples(blk), cout) };
                        grad.Parts = Parts(threads, grad.Items, macs);
                        WorkerPool.Run(ref grad, grad.Parts);
                        var job = new WeightGemmJob { Y = pm, V = pv, DU = pdu, Cin = c, Cout = cout, Cols = cols, Beta = blk == 0 ? 0f : 1f, Threads = threads,
                            Parts = macs < Gemm.ParallelThreshold ? 1 : Math.Clamp(threads, 1, 16) };
                        WorkerPool.Run(ref job, job.Parts);
                    }
                }
                if (du is not null)
                    fixed (float* pgw = gw)
                    {
                        var job = new WinogradTransforms.FilterGradJob { DU = pdu, Gw = pgw, Cout = cout, Cin = c, Parts = Parts(threads, cout, 16L * cout * c * 4) };
                        WorkerPool.Run(ref job, job.Parts);
                    }
            }
        }
        finally
        {
            Return(u, v, m, packed);
            if (du is not null) ArrayPool<float>.Shared.Return(du);
        }
    }

    /// <summary>The batch cut into blocks of whole samples (at least <see cref="TargetTiles"/> tiles each when the batch
    /// allows, at most <see cref="MaxBlockFloats"/> per transformed matrix); depends on the geometry only.</summary>
    private readonly struct Plan
    {
        public readonly int N, H, W, TH, TW, Tiles, PerBlock, Blocks;
        public readonly int BlockFloats;

        public Plan(in ConvGeometry g)
        {
            N = g.N; H = g.H; W = g.W; TH = (H + 1) / 2; TW = (W + 1) / 2; Tiles = TH * TW;
            long perSample = 16L * Math.Max(g.C, g.Cout) * Tiles;
            int nb = (int)Math.Clamp((TargetTiles + Tiles - 1) / Tiles, 1, Math.Max(1, MaxBlockFloats / perSample));
            PerBlock = Math.Min(nb, N);
            Blocks = (N + PerBlock - 1) / PerBlock;
            BlockFloats = (int)(perSample * PerBlock);
        }

        public int PlaneSize => H * W;

        public int Samples(int block) => Math.Min(PerBlock, N - block * PerBlock);

        public (int N0, int Cols) Block(int block) => (block * PerBlock, Samples(block) * Tiles);
    }

    private static float[] Rent(int length) => ArrayPool<float>.Shared.Rent(length);

    private static void Return(float[]? u, float[] v, float[] m, float[]? packed)
    {
        if (u is not null) ArrayPool<float>.Shared.Return(u);
        ArrayPool<float>.Shared.Return(v);
        ArrayPool<float>.Shared.Return(m);
        if (packed is not null) ArrayPool<float>.Shared.Return(packed);
    }

    /// <summary>U[ξ][co][ci] = (G g Gᵀ)[ξ] for every filter g = w[co, ci], rented (16 · Cout · C floats).</summary>
    private static float[] TransformFilters(in ConvGeometry g, float[] w, int threads)
    {
        int cout = g.Cout, cin = g.C;
        float[] u = Rent(16 * cout * cin);
        fixed (float* pw = w, pu = u)
        {
            var job = new WinogradTransforms.FilterJob { W = pw, U = pu, Cout = cout, Cin = cin, Parts = Parts(threads, cout, 16L * cout * cin * 4) };
            WorkerPool.Run(ref job, job.Parts);
        }
        return u;
    }

    /// <summary>The 16 filter matrices packed once as GEMM A operands when more than one block multiplies them (null
    /// otherwise: each GEMM packs its own).</summary>
    private static float[]? PackFilters(in Plan plan, float[] u, int inC, int outC, bool flipped, int threads, out long packLen)
    {
        var isa = Gemm.Supported(Gemm.BestIsa);
        packLen = GemmPackedA.Length(isa, outC, inC);
        if (plan.Blocks < 2 || 16 * packLen > int.MaxValue / 2) return null;
        float[] packed = Rent((int)(16 * packLen));
        fixed (float* pu = u, pp = packed)
            for (int xi = 0; xi < 16; xi++)
                GemmPackedA.Pack(isa, threads, flipped, outC, inC, FilterOperand(pu, xi, inC, outC, flipped), flipped ? outC : inC,
                    new Span<float>(pp + xi * packLen, (int)packLen));
        return packed;
    }

    private static int Parts(int threads, int items, long work) =>
        work < MinParallelMacs ? 1 : Math.Max(1, Math.Min(threads, items));

    private static void Input(in Plan plan, float* x, int n0, int channels, float* v, int cols, long macs, int threads)
    {
        var job = new WinogradTransforms.InputJob { X = x + (long)n0 * channels * plan.PlaneSize, V = v, InC = channels, H = plan.H, W = plan.W, TH = plan.TH, TW = plan.TW, Cols = cols, Items = WinogradTransforms.InputJob.ItemCount(plan.TW, cols / plan.Tiles, channels) };
        job.Parts = Parts(threads, job.Items, macs);
        WorkerPool.Run(ref job, job.Parts);
    }

    private static void Output(in Plan plan, float* m, float* y, float* bias, int n0, int channels, int cols, long macs, int threads)
    {
        var job = new WinogradTransforms.OutputJob { M = m, Y = y + (long)n0 * channels * plan.PlaneSize, Bias = bias, OutC = channels, H = plan.H, W = plan.W, TH = plan.TH, TW = plan.TW, Cols = cols, Items = WinogradTransforms.OutputJob.ItemCount(plan.H, plan.W, cols / plan.Tiles, channels) };
        job.Parts = Parts(threads, job.Items, macs);
        WorkerPool.Run(ref job, job.Parts);
    }

    /// <summary>M_ξ = U_ξ V_ξ for the 16 transform points, split over the parts (each GEMM on one thread).</summary>
    private static void Product(float* u, float* packed, long packLen, float* v, float* m, int inC, int outC, int cols, bool flipped, long macs, int threads)
    {
        var job = new GemmJob
        {
            U = u, Packed = packed, PackLen = packLen, V = v, M = m, InC = inC, OutC = outC, Cols = cols, Flipped = flipped,
            Isa = Gemm.Supported(Gemm.BestIsa), Threads = threads, Parts = macs < Gemm.ParallelThreshold ? 1 : Math.Clamp(threads, 1, 16),
        };
        WorkerPool.Run(ref job, job.Parts);
    }

    /// <summary>The stored filter matrix the GEMM of transform point <paramref name="xi"/> reads as its A operand.</summary>
    private static ReadOnlySpan<float> FilterOperand(float* u, int xi, int inC, int outC, bool flipped)
    {
        int src = flipped ? Flip(xi) : xi;
        return new ReadOnlySpan<float>(u + (long)src * inC * outC, inC * outC);
    }

    /// <summary>π applied to both coordinates of a transform point ξ = 4a + b (π swaps 0 and 3).</summary>
    private static int Flip(int xi)
    {
        static int P(int t) => t == 0 ? 3 : t == 3 ? 0 : t;
        return 4 * P(xi >> 2) + P(xi & 3);
    }

    /// <summary>The 16 GEMMs of a block, transform points split over the parts (each GEMM on one thread).</summary>
    private struct GemmJob : IParallelJob
    {
        public float* U, Packed, V, M;
        public long PackLen;
        public int InC, OutC, Cols, Parts, Threads;
        public bool Flipped;
        public GemmIsa Isa;

        public readonly void RunPart(int part)
        {
            var (x0, x1) = RowParallel.Range(16, Parts, part);
            int threads = Parts == 1 ? Threads : 1;
            for (int xi = x0; xi < x1; xi++)
            {
                var a = FilterOperand(U, xi, InC, OutC, Flipped);
                var b = new ReadOnlySpan<float>(V + (long)xi * InC * Cols, InC * Cols);
                var c = new Span<float>(M + (long)xi * OutC * Cols, OutC * Cols);
                var pack = Packed is null ? default : new ReadOnlySpan<float>(Packed + xi * PackLen, (int)PackLen);
                Gemm.SgemmCore(Isa, threads, Flipped, false, OutC, Cols, InC, 1f, a, Flipped ? OutC : InC, b, Cols, 0f, c, Cols, packedA: pack);
            }
        }
    }

    /// <summary>dU_ξ = β dU_ξ + Ŷ_ξ V_ξᵀ (Cout × tiles by tiles × C) for the 16 transform points of a block.</summary>
    private struct WeightGemmJob : IParallelJob
    {
        public float* Y, V, DU;
        public int Cin, Cout, Cols, Parts, Threads;
        public float Beta;

        public readonly void RunPart(int part)
        {
            var (x0, x1) = RowParallel.Range(16, Parts, part);
            int threads = Parts == 1 ? Threads : 1;
            for (int xi = x0; xi < x1; xi++)
            {
                var a = new ReadOnlySpan<float>(Y + (long)xi * Cout * Cols, Cout * Cols);
                var b = new ReadOnlySpan<float>(V + (long)xi * Cin * Cols, Cin * Cols);
                var c = new Span<float>(DU + (long)xi * Cout * Cin, Cout * Cin);
                Gemm.SgemmCore(Gemm.Supported(Gemm.BestIsa), threads, false, true, Cout, Cin, Cols, 1f, a, Cols, b, Cols, Beta, c, Cin);
            }
        }
    }
}
