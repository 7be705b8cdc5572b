namespace Learner.Nn.Kernels;

/// <summary>How a micro-kernel combines its accumulated tile <c>T</c> with the tile of C it covers.</summary>
internal enum GemmUpdate
{
    /// <summary><c>C = alpha·T</c> (C is not read, so NaN already in C is overwritten).</summary>
    Overwrite,
    /// <summary><c>C = alpha·T + C</c>.</summary>
    Accumulate,
    /// <summary><c>C = alpha·T + beta·C</c>.</summary>
    ScaleAndAccumulate,
}

/// <summary>
/// A register-blocked GEMM micro-kernel over packed panels (its cache blocking comes from <see cref="GemmBlocking"/>).
/// </summary>
/// <remarks>
/// Packed A micro-panel: <c>kc</c> steps of <see cref="MR"/> consecutive values (one column of an MR-row slab of op(A) per step).
/// Packed B micro-panel: <c>kc</c> steps of <see cref="NR"/> consecutive values (one row of an NR-column slab of op(B) per step).
/// The kernel accumulates the MR×NR product over the kc steps in order, starting from zero, then updates C as
/// the update mode says. Each element of C therefore sees the same sequence of operations whatever the tile,
/// thread or cache block it falls in, which makes results independent of the thread partition.
/// </remarks>
internal unsafe interface IGemmMicroKernel
{
    /// <summary>Rows of the register tile.</summary>
    static abstract int MR { get; }
    /// <summary>Columns of the register tile.</summary>
    static abstract int NR { get; }
    /// <summary>Whether the hardware runs this kernel.</summary>
    static abstract bool IsSupported { get; }

    /// <summary>Computes one MR×NR tile: <c>C ← update(alpha · Apanel · Bpanel)</c>, with C rows <paramref name="ldc"/> apart.
    /// B's k-th row of NR values is at <c>b + k·NR</c> (a packed micro-panel) or, for <see cref="InPlaceBPanel"/>, at
    /// <c>b + rows[k]</c> (<paramref name="rows"/> is unused otherwise).</summary>
    static abstract void Run<TB>(int kc, float* a, float* b, nint* rows, float* c, nint ldc, float alpha, float beta, GemmUpdate mode) where TB : struct, IGemmBPanel;
}

/// <summary>Where a micro-kernel reads the rows of its B micro-panel; a type argument, so each kind compiles to its own loop.</summary>
internal interface IGemmBPanel
{
    /// <summary>Whether the rows are read where they are stored (through a row-offset table) instead of from a packed panel.</summary>
    static abstract bool InPlace { get; }
}

/// <summary>B packed by <see cref="GemmPacking.PackB"/>: row k of the micro-panel at <c>k·NR</c>.</summary>
internal readonly struct PackedBPanel : IGemmBPanel
{
    public static bool InPlace => false;
}

/// <summary>B read in place: row k of the micro-panel at <c>rows[k]</c> from the panel's first column, for products
/// whose every B panel meets only one or two A panels, where packing would cost as much as the multiply.</summary>
internal readonly struct InPlaceBPanel : IGemmBPanel
{
    public static bool InPlace => true;
}

/// <summary>Scalar micro-kernel (4×8 tile) for hardware without SIMD acceleration.</summary>
internal readonly unsafe struct ScalarMicroKernel : IGemmMicroKernel
{
    public static int MR => 4;
    public static int NR => 8;
    public static bool IsSupported => true;

    public static void Run<TB>(int kc, float* a, float* b, nint* rows, float* c, nint ldc, float alpha, float beta, GemmUpdate mode) where TB : struct, IGemmBPanel
    {
        float* acc = stackalloc float[32];
        for (int i = 0; i < 32; i++) acc[i] = 0f;
        for (int p = 0; p < kc; p++)
        {
            float* bp = TB.InPlace ? b + rows[p] : b;
            for (int r = 0; r < 4; r++)
            {
                float ar = a[r];
                float* row = acc + r * 8;
                for (int j = 0; j < 8; j++) row[j] += ar * bp[j];
            }
            a += 4;
            if (!TB.InPlace) b += 8;
        }
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < 8; j++)
                c[r * ldc + j] = GemmDriver.Combine(acc[r * 8 + j], c[r * ldc + j], alpha, beta, mode);
    }
}
