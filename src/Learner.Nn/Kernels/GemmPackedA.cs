namespace Learner.Nn.Kernels;

/// <summary>
/// op(A) packed once for many GEMMs that share it — a convolution's weights, multiplied by every batch block's im2col
/// matrix — in the layout <see cref="GemmDriver"/> reads: for each KC-deep slice of the reduction, every MR-row panel
/// of op(A) in order (the last one zero-padded), each panel kc × MR floats. Pass it to
/// <see cref="Gemm.SgemmCore"/> as <c>packedA</c> and the driver reads its panels instead of packing A per call and per
/// thread.
/// </summary>
/// <remarks>The packed values are those the driver would pack itself, consumed by the same micro-kernel calls, so a
/// GEMM gives the same bits with or without it. The layout depends on the micro-kernel (its MR; for
/// <see cref="GemmIsa.Avx512Mixed"/> and <see cref="GemmIsa.Avx2Mixed"/>, that of the kernel m resolves to, <see cref="Gemm.ForRows"/>) and the machine's KC
/// (<see cref="GemmBlocking"/>), so a pack serves only GEMMs with the same family and m on the same process.</remarks>
internal static unsafe class GemmPackedA
{
    /// <summary>Below this many floats the pack runs on the calling thread.</summary>
    private const long MinParallelFloats = 1 << 16;

    /// <summary>M rounded up to the MR of <paramref name="isa"/>'s micro-kernel.</summary>
    internal static int PaddedRows(GemmIsa isa, int m)
    {
        int mr = Mr(Gemm.ForRows(Gemm.Supported(isa), m));
        return (m + mr - 1) / mr * mr;
    }

    /// <summary>Floats a pack of an m × k op(A) takes.</summary>
    internal static long Length(GemmIsa isa, int m, int k) => (long)PaddedRows(isa, m) * k;

    /// <summary>Packs op(A) (m × k; A stored k × m when <paramref name="transA"/>) into <paramref name="packed"/>, its
    /// KC slices split over at most <paramref name="threads"/> threads.</summary>
    internal static void Pack(GemmIsa isa, int threads, bool transA, int m, int k, ReadOnlySpan<float> a, int lda, Span<float> packed)
    {
        isa = Gemm.ForRows(Gemm.Supported(isa), m);
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        int aRows = transA ? k : m, aCols = transA ? m : k;
        if (aRows > 0 && aCols > 0 && (lda < aCols || a.Length < (long)(aRows - 1) * lda + aCols))
            throw new ArgumentException($"A ({aRows}×{aCols}, leading dimension {lda}) does not fit its span of {a.Length} elements.", nameof(a));
        long need = Length(isa, m, k);
        if (packed.Length < need)
            throw new ArgumentException($"Packing a {m}×{k} op(A) needs {need} elements, but the destination has {packed.Length}.", nameof(packed));
        if (m == 0 || k == 0) return;
        switch (isa)
        {
            case GemmIsa.Avx512: PackFor<Avx512MicroKernel>(threads, transA, m, k, a, lda, packed); break;
            case GemmIsa.Avx512Tall: PackFor<Avx512TallMicroKernel>(threads, transA, m, k, a, lda, packed); break;
            case GemmIsa.Avx2: PackFor<Avx2MicroKernel>(threads, transA, m, k, a, lda, packed); break;
            case GemmIsa.Avx2Wide: PackFor<Avx2WideMicroKernel>(threads, transA, m, k, a, lda, packed); break;
            case GemmIsa.Vector128: PackFor<Vector128MicroKernel>(threads, transA, m, k, a, lda, packed); break;
            default: PackFor<ScalarMicroKernel>(threads, transA, m, k, a, lda, packed); break;
        }
    }

    private static int Mr(GemmIsa isa) => GemmKernelChoice.Tile(isa).MR;

    private static void PackFor<TK>(int threads, bool transA, int m, int k, ReadOnlySpan<float> a, int lda, Span<float> packed)
        where TK : struct, IGemmMicroKernel
    {
        int kcStep = GemmBlocking.Of<TK>().KC, mr = TK.MR, rows = (m + mr - 1) / mr * mr;
        int slices = (k + kcStep - 1) / kcStep;
        int parts = (long)rows * k < MinParallelFloats ? 1 : Math.Clamp(threads, 1, slices);
        fixed (float* pa = a, pp = packed)
        {
            var job = new PackJob { A = pa, Packed = pp, Lda = lda, TransA = transA, M = m, K = k, KcStep = kcStep, Mr = mr, Rows = rows, Slices = slices, Parts = parts };
            WorkerPool.Run(ref job, parts);
        }
    }

    /// <summary>Contiguous ranges of the KC slices, one per part (allocation-free: a struct job).</summary>
    private struct PackJob : IParallelJob
    {
        public float* A, Packed;
        public nint Lda;
        public bool TransA;
        public int M, K, KcStep, Mr, Rows, Slices, Parts;

        public readonly void RunPart(int part)
        {
            int s0 = (int)((long)Slices * part / Parts), s1 = (int)((long)Slices * (part + 1) / Parts);
            for (int s = s0; s < s1; s++)
            {
                int pc = s * KcStep, kc = Math.Min(KcStep, K - pc);
                GemmPacking.PackA(TransA, A, Lda, 0, M, pc, kc, Mr, Packed + (nint)pc * Rows);
            }
        }
    }
}
