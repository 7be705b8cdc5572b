using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Learner.Nn.Kernels;

/// <summary>One validated GEMM call, as raw pointers (the caller keeps the storage pinned while it runs).</summary>
internal unsafe struct GemmProblem
{
    public bool TransA, TransB;
    public int M, N, K;
    public float Alpha, Beta;
    public float* A, B, C;
    public nint Lda, Ldb, Ldc;
    /// <summary>op(A) packed whole by <see cref="GemmPackedA"/>, or null to pack it block by block.</summary>
    public float* PackedA;
    /// <summary>Rows of <see cref="PackedA"/>'s slices: M rounded up to the micro-kernel's MR.</summary>
    public int PackedRows;
    /// <summary>Where each stored row of B starts, in floats from <see cref="B"/> (Ldb unused), or null for rows
    /// <see cref="Ldb"/> apart: an im2col matrix whose rows are shifted slices of one padded input (see
    /// <see cref="ImplicitGemmConv"/>) is multiplied without being written out.</summary>
    public nint* BRows;
}

/// <summary>
/// The cache-blocked GEMM loop nest (Goto/BLIS order): for each NC-column block of C, for each KC-deep slice
/// of the reduction, pack op(B) into L3-resident micro-panels; for each MC-row block, pack op(A) into an L2-resident
/// block; then sweep NR-column micro-panels of B (held in L1) against the MR-row micro-panels of A.
/// </summary>
internal static unsafe class GemmDriver
{
    [ThreadStatic] private static float[]? _packA;
    [ThreadStatic] private static float[]? _packB;

    /// <summary>Computes the rows <c>[i0, i1)</c> × columns <c>[j0, j1)</c> of C on the calling thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Run<TK>(in GemmProblem pr, GemmBlocking blocking, int i0, int i1, int j0, int j1) where TK : struct, IGemmMicroKernel
    {
        int MR = TK.MR, NR = TK.NR, KC = blocking.KC;
        int rows = i1 - i0, cols = j1 - j0;
        int kcMax = Math.Min(KC, pr.K);
        // Balanced block sizes: split the range into as few blocks as the limits allow, of near-equal size.
        int mcBlock = BalancedBlock(rows, blocking.MC, MR);
        int ncBlock = BalancedBlock(cols, blocking.NC, NR);
        float* bufA = Buffer(ref _packA, (long)mcBlock * kcMax);
        float* bufB = Buffer(ref _packB, (long)ncBlock * kcMax);
        float* tile = stackalloc float[MR * NR];
        GemmUpdate firstMode = pr.Beta == 0f ? GemmUpdate.Overwrite : pr.Beta == 1f ? GemmUpdate.Accumulate : GemmUpdate.ScaleAndAccumulate;
        // B given by row offsets, whose every panel meets at most InPlaceMaxPanels A panels: read B where it is.
        bool inPlace = pr.BRows != null && !pr.TransB && rows <= InPlaceMaxPanels * MR;
        float alpha = pr.Alpha, beta = pr.Beta;
        nint ldc = pr.Ldc;

        for (int jc = j0; jc < j1; jc += ncBlock)
        {
            int nc = Math.Min(ncBlock, j1 - jc);
            for (int pc = 0; pc < pr.K; pc += KC)
            {
                int kc = Math.Min(KC, pr.K - pc);
                GemmUpdate mode = pc == 0 ? firstMode : GemmUpdate.Accumulate;
                if (inPlace)
                {
                    RunInPlace<TK>(pr, i0, i1, jc, nc, pc, kc, mode, bufA, bufB, tile);
                    continue;
                }
                GemmPacking.PackB(pr.TransB, pr.B, pr.Ldb, pc, kc, jc, nc, NR, bufB, pr.BRows);
                for (int ic = i0; ic < i1; ic += mcBlock)
                {
                    int mc = Math.Min(mcBlock, i1 - ic);
                    float* aBlock = ABlock(pr, ic, mc, pc, kc, MR, bufA);
                    for (int jr = 0; jr < nc; jr += NR)
                    {
                        int nr = Math.Min(NR, nc - jr);
                        float* bp = bufB + (nint)jr * kc;
                        float* cCol = pr.C + ic * ldc + jc + jr;
                        for (int ir = 0; ir < mc; ir += MR)
                        {
                            int mr = Math.Min(MR, mc - ir);
                            float* ap = aBlock + (nint)ir * kc;
                            float* cp = cCol + ir * ldc;
                            if (mr == MR && nr == NR)
                            {
                                TK.Run<PackedBPanel>(kc, ap, bp, null, cp, ldc, alpha, beta, mode);
                            }
                            else
                            {
                                TK.Run<PackedBPanel>(kc, ap, bp, null, tile, NR, 1f, 0f, GemmUpdate.Overwrite);
                                StoreEdge(tile, NR, cp, ldc, mr, nr, alpha, beta, mode);
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Most MR-row panels of A (per C block) for which a B given by row offsets is read in place rather than
    /// packed: each B panel is then loaded once or twice, and packing it would cost as much as the products.</summary>
    internal const int InPlaceMaxPanels = 2;

    /// <summary>One KC slice of rows [i0, i1) × columns [jc, jc + nc) with B read in place (see <see cref="InPlaceBPanel"/>):
    /// full-width panels straight from B's rows, the ragged last panel packed as usual; the same values in the same
    /// order as the packed path, so the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunInPlace<TK>(in GemmProblem pr, int i0, int i1, int jc, int nc, int pc, int kc, GemmUpdate mode,
        float* bufA, float* bufB, float* tile) where TK : struct, IGemmMicroKernel
    {
        int MR = TK.MR, NR = TK.NR, mc = i1 - i0;
        float alpha = pr.Alpha, beta = pr.Beta;
        nint ldc = pr.Ldc;
        float* aBlock = ABlock(pr, i0, mc, pc, kc, MR, bufA);
        nint* rows = pr.BRows + pc;
        for (int jr = 0; jr < nc; jr += NR)
        {
            int nr = Math.Min(NR, nc - jr);
            bool full = nr == NR;
            float* bp = full ? pr.B + jc + jr : bufB;
            if (!full) GemmPacking.PackB(false, pr.B, 0, pc, kc, jc + jr, nr, NR, bufB, pr.BRows);
            float* cCol = pr.C + i0 * ldc + jc + jr;
            for (int ir = 0; ir < mc; ir += MR)
            {
                int mr = Math.Min(MR, mc - ir);
                float* ap = aBlock + (nint)ir * kc;
                float* cp = cCol + ir * ldc;
                if (mr == MR && full) TK.Run<InPlaceBPanel>(kc, ap, bp, rows, cp, ldc, alpha, beta, mode);
                else
                {
                    // Edge tile (ragged rows or the packed ragged panel).
                    if (full) TK.Run<InPlaceBPanel>(kc, ap, bp, rows, tile, NR, 1f, 0f, GemmUpdate.Overwrite);
                    else TK.Run<PackedBPanel>(kc, ap, bp, null, tile, NR, 1f, 0f, GemmUpdate.Overwrite);
                    StoreEdge(tile, NR, cp, ldc, mr, nr, alpha, beta, mode);
                }
            }
        }
    }

    /// <summary>The packed A block of rows [ic, ic + mc) for the KC slice at <paramref name="pc"/>: a slice of the
    /// pre-packed A (which holds, per KC slice, every MR-row panel in order; ic is a multiple of MR), or A packed into
    /// <paramref name="bufA"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* ABlock(in GemmProblem pr, int ic, int mc, int pc, int kc, int mr, float* bufA)
    {
        if (pr.PackedA != null) return pr.PackedA + (nint)pc * pr.PackedRows + (nint)ic * kc;
        GemmPacking.PackA(pr.TransA, pr.A, pr.Lda, ic, mc, pc, kc, mr, bufA);
        return bufA;
    }

    /// <summary>An edge tile computed in full into <paramref name="tile"/> (alpha = 1 leaves the sums exact): its
    /// <paramref name="mr"/> × <paramref name="nr"/> part written to C with the element-wise update the vector kernels apply.</summary>
    private static void StoreEdge(float* tile, int tileRow, float* c, nint ldc, int mr, int nr, float alpha, float beta, GemmUpdate mode)
    {
        for (int r = 0; r < mr; r++)
            for (int j = 0; j < nr; j++)
                c[r * ldc + j] = Combine(tile[r * tileRow + j], c[r * ldc + j], alpha, beta, mode);
    }

    /// <summary>
    /// The update of one element of C from its accumulated sum <paramref name="t"/>; the same operations, in the same
    /// order (a product, then a separate addition), as the vector kernels' update, so edge tiles round identically.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Combine(float t, float c, float alpha, float beta, GemmUpdate mode)
    {
        float r = t * alpha;
        if (mode == GemmUpdate.Accumulate) r += c;
        else if (mode == GemmUpdate.ScaleAndAccumulate) r += c * beta;
        return r;
    }

    /// <summary>A block size ≤ <paramref name="limit"/>, a multiple of <paramref name="unit"/>, splitting <paramref name="extent"/> evenly.</summary>
    internal static int BalancedBlock(int extent, int limit, int unit)
    {
        int blocks = (extent + limit - 1) / limit;
        int size = (extent + blocks - 1) / blocks;
        size = (size + unit - 1) / unit * unit;
        return Math.Min(size, limit);
    }

    /// <summary>A 64-byte-aligned scratch buffer of at least <paramref name="length"/> floats, reused by the calling thread.</summary>
    internal static float* Buffer(ref float[]? cache, long length)
    {
        long need = length + 16;
        if (cache is null || cache.Length < need)
        {
            // Pinned-heap arrays never move, so the pointer taken below stays valid while the thread holds the array.
            cache = GC.AllocateUninitializedArray<float>((int)Math.Max(need, 4096), pinned: true);
        }
        nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(cache));
        return (float*)((p + 63) & ~(nint)63);
    }
}
