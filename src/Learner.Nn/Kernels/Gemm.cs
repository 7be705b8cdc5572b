using System.Runtime.CompilerServices;

namespace Learner.Nn.Kernels;

/// <summary>The micro-kernel families of <see cref="Gemm"/>.</summary>
/// <remarks><see cref="Avx512Mixed"/> and <see cref="Avx2Mixed"/> are choices between two kernels, not kernels:
/// <see cref="Gemm.ForRows"/> resolves them per product.</remarks>
internal enum GemmIsa { Scalar, Vector128, Avx2, Avx512, Avx512Tall, Avx512Mixed, Avx2Wide, Avx2Mixed }

/// <summary>
/// Single-precision general matrix multiply on row-major matrices:
/// <c>C = alpha · op(A) · op(B) + beta · C</c>, where <c>op(X)</c> is <c>X</c> or its transpose.
/// </summary>
/// <remarks>
/// All matrices are row-major. <c>op(A)</c> is <c>m×k</c>, <c>op(B)</c> is <c>k×n</c>, <c>C</c> is <c>m×n</c>.
/// The leading dimension of a matrix is the distance, in elements, between the starts of two consecutive
/// rows of the matrix <em>as stored</em> (so for a transposed A stored as k×m it is at least m).
/// <para>
/// Implementation: operands are packed into panels blocked for the machine's caches (read at start-up, see
/// <see cref="CpuInfo"/>; <c>LEARNER_GEMM_BLOCKING</c> = <c>KC,MC,NC</c> overrides) and multiplied by a register-blocked micro-kernel
/// (AVX-512 8×32 or 16×16, AVX2+FMA 6×16 or 4×24, 128-bit SIMD 6×8, or scalar: chosen per processor by
/// <see cref="GemmKernelChoice"/>, <c>LEARNER_GEMM_KERNEL</c> overrides). Products large enough
/// to pay for it are split across up to <see cref="WorkerPool.Threads"/> threads (every processor, unless the caller's
/// context has a <see cref="WorkerPool.LimitThreads"/>) of a persistent worker team;
/// matrix–vector shapes (m = 1 or n = 1) skip packing. Steady-state calls allocate nothing. Safe to call from several
/// threads at once (concurrent callers that find the team busy compute on their own thread).
/// </para>
/// <para>
/// Results are deterministic: every element of C is reduced in a fixed order that depends only on the shape, the
/// machine's instruction set and its L1 data-cache size (which sets the reduction slice KC), never on the thread count
/// or timing, so repeated calls give bit-identical results.
/// </para>
/// </remarks>
public static class Gemm
{
    /// <summary>Computes <c>C = alpha · op(A) · op(B) + beta · C</c> for row-major float32 matrices.</summary>
    /// <param name="transA">Whether A is stored as k×m and used transposed.</param>
    /// <param name="transB">Whether B is stored as n×k and used transposed.</param>
    /// <param name="m">Rows of op(A) and of C.</param>
    /// <param name="n">Columns of op(B) and of C.</param>
    /// <param name="k">Columns of op(A), rows of op(B).</param>
    /// <param name="alpha">Scale of the product.</param>
    /// <param name="a">Storage of A.</param>
    /// <param name="lda">Leading dimension of A as stored.</param>
    /// <param name="b">Storage of B.</param>
    /// <param name="ldb">Leading dimension of B as stored.</param>
    /// <param name="beta">Scale of the existing C (0 overwrites C, ignoring NaN already there).</param>
    /// <param name="c">Storage of C.</param>
    /// <param name="ldc">Leading dimension of C.</param>
    /// <exception cref="ArgumentException">A dimension is negative, a leading dimension is too small, or a span is too short.</exception>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => SgemmCore(BestIsa, WorkerPool.Threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>The micro-kernel <see cref="Sgemm"/> uses on this machine (<see cref="GemmKernelChoice"/>).</summary>
    internal static GemmIsa BestIsa { get; } = GemmKernelChoice.Current;

    /// <summary>
    /// Problems with fewer multiply–adds than this run on the calling thread only: waking a worker costs more than it saves.
    /// </summary>
    internal const long ParallelThreshold = 1L << 22;

    /// <summary>
    /// <see cref="Sgemm"/> with the micro-kernel family and the thread count chosen by the caller (tests use this to
    /// cover every code path on one machine). An <paramref name="isa"/> the hardware lacks falls back to a narrower one.
    /// </summary>
    /// <remarks>The optional <c>blocking</c> replaces the machine's cache blocking (<see cref="GemmBlocking.Of{TK}"/>);
    /// its MC and NC are rounded up to the kernel's tile. The optional <c>packedA</c> is op(A) already packed by
    /// <see cref="GemmPackedA.Pack"/> for the same <paramref name="isa"/>, m and k: the blocked path reads its panels
    /// instead of packing A again (the same values, so the same bits); A itself still serves the matrix–vector path.
    /// The optional <c>bRows</c> gives where each stored row of B starts in <paramref name="b"/> (k offsets, or n when
    /// <paramref name="transB"/>), <paramref name="ldb"/> being ignored: every row must lie inside <paramref name="b"/>.
    /// Such a product always takes the blocked path (its packing reads the rows where they are), which sums every
    /// element of C in the same order as for the same B stored with a leading dimension.</remarks>
    internal static unsafe void SgemmCore(GemmIsa isa, int maxThreads, bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc, GemmBlocking? blocking = null,
        ReadOnlySpan<float> packedA = default, ReadOnlySpan<nint> bRows = default)
    {
        bool indirect = !bRows.IsEmpty;
        if (indirect)
        {
            ValidateRows(transB ? n : k, transB ? k : n, bRows, b.Length);
            ldb = transB ? Math.Max(k, 1) : Math.Max(n, 1);
        }
        Validate(transA, transB, m, n, k, a.Length, lda, indirect ? int.MaxValue : b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }
        // A pre-packed A fixes the kernel by its rows alone (it was packed before the columns were known).
        isa = packedA.IsEmpty ? ForShape(Supported(isa), m, n) : ForRows(Supported(isa), m);
        if (!packedA.IsEmpty)
        {
            if (blocking is not null) throw new ArgumentException("A pre-packed A is laid out for the machine's blocking; no other blocking can be given with it.", nameof(blocking));
            long need = GemmPackedA.Length(isa, m, k);
            if (packedA.Length < need)
                throw new ArgumentException($"The pre-packed A needs {need} elements for a {m}×{k} op(A), but its span has {packedA.Length}.", nameof(packedA));
        }
        fixed (float* pa = a, pb = b, pc = c, pp = packedA)
        fixed (nint* pr = bRows)
        {
            var problem = new GemmProblem
            {
                TransA = transA, TransB = transB, M = m, N = n, K = k, Alpha = alpha, Beta = beta,
                A = pa, B = pb, C = pc, Lda = lda, Ldb = ldb, Ldc = ldc,
                PackedA = packedA.IsEmpty ? null : pp, PackedRows = GemmPackedA.PaddedRows(isa, m),
                BRows = indirect ? pr : null,
            };
            if (!indirect && (m == 1 || n == 1))
            {
                GemmVector.Run(problem);
                return;
            }
            switch (isa)
            {
                case GemmIsa.Avx512: Blocked<Avx512MicroKernel>(problem, maxThreads, blocking); break;
                case GemmIsa.Avx512Tall: Blocked<Avx512TallMicroKernel>(problem, maxThreads, blocking); break;
                case GemmIsa.Avx2: Blocked<Avx2MicroKernel>(problem, maxThreads, blocking); break;
                case GemmIsa.Avx2Wide: Blocked<Avx2WideMicroKernel>(problem, maxThreads, blocking); break;
                case GemmIsa.Vector128: Blocked<Vector128MicroKernel>(problem, maxThreads, blocking); break;
                default: Blocked<ScalarMicroKernel>(problem, maxThreads, blocking); break;
            }
        }
    }

    /// <summary><paramref name="isa"/>, or the widest narrower family the hardware supports: an AVX-512 family on a
    /// processor without AVX-512 becomes what such a processor runs by default (<see cref="GemmKernelChoice.AvxTwoKernel"/>,
    /// the same bits as every FMA kernel), an AVX2 family without AVX2 the 128-bit kernel.</summary>
    internal static GemmIsa Supported(GemmIsa isa)
    {
        if (isa == GemmIsa.Avx512Mixed && !Avx512TallMicroKernel.IsSupported) isa = GemmKernelChoice.AvxTwoKernel;
        if (isa == GemmIsa.Avx512Tall && !Avx512TallMicroKernel.IsSupported) isa = GemmKernelChoice.AvxTwoKernel;
        if (isa == GemmIsa.Avx512 && !Avx512MicroKernel.IsSupported) isa = GemmKernelChoice.AvxTwoKernel;
        if (isa is GemmIsa.Avx2Mixed or GemmIsa.Avx2Wide && !Avx2WideMicroKernel.IsSupported) isa = GemmIsa.Vector128;
        if (isa == GemmIsa.Avx2 && !Avx2MicroKernel.IsSupported) isa = GemmIsa.Vector128;
        if (isa == GemmIsa.Vector128 && !Vector128MicroKernel.IsSupported) isa = GemmIsa.Scalar;
        return isa;
    }

    /// <summary>
    /// The kernel that computes a product of <paramref name="m"/> rows of C for a family <paramref name="isa"/>
    /// (already <see cref="Supported"/>) when the columns are not known: what a pre-packed A is laid out for
    /// (<see cref="GemmPackedA"/>), since one pack serves products of every width. It is <see cref="ForShape"/> with the
    /// columns taken as many (their padding then weighs nothing).
    /// </summary>
    internal static GemmIsa ForRows(GemmIsa isa, int m) => ForShape(isa, m, 0);

    /// <summary>
    /// The kernel that computes an <paramref name="m"/> × <paramref name="n"/> product (n ≤ 0: columns unknown, see
    /// <see cref="ForRows"/>) for a family <paramref name="isa"/> (already <see cref="Supported"/>).
    /// <see cref="GemmIsa.Avx512Mixed"/> takes the 16×16 kernel, or the 8×32 one where the last 16-row tile would be at
    /// most half full (m mod 16 in 1 … 8: an 8-channel convolution's GEMMs computed half their rows for nothing and stored
    /// every tile through the scalar edge path). <see cref="GemmIsa.Avx2Mixed"/> takes the 4×24 kernel where its tiles
    /// cover C with at least <see cref="WideTileSaving"/> less padded area than 6×16 tiles (8, 16 and 32 rows of a wide
    /// product: the small convolutions' output channels), else the 6×16 one, which is as fast on whole tiles and whose
    /// 16-column panels fit the power-of-two widths that leave the last 24-column panel a third (32, 128 columns) or two thirds (64) full. Every other family is
    /// itself. The kernels of a choice sum each element of C in the same order, so the choice never changes a bit.
    /// </summary>
    internal static GemmIsa ForShape(GemmIsa isa, int m, int n) => isa switch
    {
        GemmIsa.Avx512Mixed => m % 16 is > 0 and <= 8 ? GemmIsa.Avx512 : GemmIsa.Avx512Tall,  // the tiles' rows: 16 and 8
        GemmIsa.Avx2Mixed => PaddedArea(m, n, 6, 16) > (1 + WideTileSaving) * PaddedArea(m, n, 4, 24) ? GemmIsa.Avx2Wide : GemmIsa.Avx2,
        _ => isa,
    };

    /// <summary>The least saving of padded area (a share of the 4×24 tiles' area) for which
    /// <see cref="GemmIsa.Avx2Mixed"/> takes the 4×24 kernel. On Zen 3 (session 24, docs/performance.md) the two kernels
    /// ran whole tiles at the same rate; 64 × 256 products, whose two tilings pad the same area, were within 1–3 % of each other.</summary>
    internal const double WideTileSaving = 0.04;

    /// <summary>The area of C that mr × nr tiles compute (columns taken as 1 when unknown).</summary>
    private static double PaddedArea(int m, int n, int mr, int nr) =>
        (double)((m + mr - 1) / mr * mr) * (n <= 0 ? 1 : (n + nr - 1) / nr * nr);

    private static unsafe void Blocked<TK>(in GemmProblem problem, int maxThreads, GemmBlocking? blocking) where TK : struct, IGemmMicroKernel
    {
        var blk = blocking is { } given ? given.Validated("the caller").RoundedTo(TK.MR, TK.NR) : GemmBlocking.Of<TK>();
        long work = (long)problem.M * problem.N * problem.K;
        // Each part packs the B columns it covers and the A rows it covers. With A pre-packed, A costs nothing to
        // share, so the columns are split (each B panel packed once) as long as there are enough of them.
        bool splitRows = problem.PackedA != null
            ? (problem.N + TK.NR - 1) / TK.NR < Math.Max(maxThreads, 1)
            : problem.M >= problem.N;
        int unit = splitRows ? TK.MR : TK.NR;
        int units = ((splitRows ? problem.M : problem.N) + unit - 1) / unit;
        int parts = work >= ParallelThreshold ? Math.Min(Math.Max(maxThreads, 1), units) : 1;
        if (parts > 1)
            GemmWorkers.Run(new GemmJob { Problem = problem, Blocking = blk, Parts = parts, SplitRows = splitRows, Units = units, Unit = unit }, &RunPart<TK>);
        else
            GemmDriver.Run<TK>(problem, blk, 0, problem.M, 0, problem.N);
    }

    private static void RunPart<TK>(in GemmJob job, int part) where TK : struct, IGemmMicroKernel
    {
        var (start, end) = job.Range(part);
        if (start >= end) return;
        if (job.SplitRows) GemmDriver.Run<TK>(job.Problem, job.Blocking, start, end, 0, job.Problem.N);
        else GemmDriver.Run<TK>(job.Problem, job.Blocking, 0, job.Problem.M, start, end);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static void Validate(bool transA, bool transB, int m, int n, int k, int aLen, int lda, int bLen, int ldb, int cLen, int ldc)
    {
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), m, "m must be non-negative.");
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "n must be non-negative.");
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be non-negative.");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        CheckMatrix("A", aRows, aCols, aLen, lda);
        CheckMatrix("B", bRows, bCols, bLen, ldb);
        CheckMatrix("C", m, n, cLen, ldc);
    }

    /// <summary>Checks that each of the <paramref name="rows"/> stored rows of B, <paramref name="extent"/> floats from its
    /// offset, lies inside B's <paramref name="length"/> floats.</summary>
    private static void ValidateRows(int rows, int extent, ReadOnlySpan<nint> offsets, int length)
    {
        if (offsets.Length < rows)
            throw new ArgumentException($"B has {rows} stored rows but {offsets.Length} row offsets were given.", "bRows");
        if (extent == 0) return;
        for (int r = 0; r < rows; r++)
            if (offsets[r] < 0 || offsets[r] > length - (long)extent)
                throw new ArgumentException($"Row {r} of B starts at {offsets[r]} and needs {extent} floats, but B's span has {length}.", "bRows");
    }

    private static void CheckMatrix(string name, int rows, int cols, int length, int ld)
    {
        if (rows == 0 || cols == 0) return;
        if (ld < cols)
            throw new ArgumentException($"Leading dimension of {name} ({ld}) is smaller than its stored column count ({cols}).", "ld" + name.ToLowerInvariant());
        long need = (long)(rows - 1) * ld + cols;
        if (length < need)
            throw new ArgumentException($"{name} needs at least {need} elements for a {rows}×{cols} matrix with leading dimension {ld}, but its span has {length}.", name.ToLowerInvariant());
    }

    internal static void ScaleC(int m, int n, float beta, Span<float> c, int ldc)
    {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++)
        {
            Span<float> row = c.Slice(i * ldc, n);
            if (beta == 0f) row.Clear();
            else System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }
}
