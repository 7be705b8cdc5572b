// Register-blocked GEMM micro-kernels, written out in full (one accumulator variable per register) so that the JIT
// keeps every accumulator in a vector register for the whole k loop.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace Learner.Nn.Kernels;

/// <summary>AVX-512 micro-kernel: an 8×32 tile of C in 16 zmm accumulators, one FMA per accumulator per k step.</summary>
/// <remarks>
/// Blocking tuned on Zen 5 (48 KiB L1d, 1 MiB L2 per core): KC = 256 keeps the 32 KiB B micro-panel and an 8 KiB
/// A micro-panel in L1; MC = 256 makes the packed A block 256 KiB (L2); NC = 2048 makes the packed B block 2 MiB (L3).
/// 8×32, 12×32 and 14×32 tiles all reach the same in-L1 rate on Zen 5 (≈ 225 GFLOP/s per core, its FMA peak);
/// 8 rows keep edge waste small and let A be packed with 8×8 transposes.
/// </remarks>
internal readonly unsafe struct Avx512MicroKernel : IGemmMicroKernel
{
    public static int MR => 8;
    public static int NR => 32;
    public static bool IsSupported => Avx512F.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TB>(int kc, float* a, float* b, nint* rows, float* c, nint ldc, float alpha, float beta, GemmUpdate mode) where TB : struct, IGemmBPanel
    {
        Vector512<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default, c6_0 = default, c6_1 = default, c7_0 = default, c7_1 = default;
        for (int p = 0; p < kc; p++)
        {
            float* bp = TB.InPlace ? b + rows[p] : b;
            Vector512<float> b0 = Vector512.Load(bp + 0);
            Vector512<float> b1 = Vector512.Load(bp + 16);
            Vector512<float> t;
            t = Vector512.Create(a[0]); c0_0 = Avx512F.FusedMultiplyAdd(t, b0, c0_0); c0_1 = Avx512F.FusedMultiplyAdd(t, b1, c0_1);
            t = Vector512.Create(a[1]); c1_0 = Avx512F.FusedMultiplyAdd(t, b0, c1_0); c1_1 = Avx512F.FusedMultiplyAdd(t, b1, c1_1);
            t = Vector512.Create(a[2]); c2_0 = Avx512F.FusedMultiplyAdd(t, b0, c2_0); c2_1 = Avx512F.FusedMultiplyAdd(t, b1, c2_1);
            t = Vector512.Create(a[3]); c3_0 = Avx512F.FusedMultiplyAdd(t, b0, c3_0); c3_1 = Avx512F.FusedMultiplyAdd(t, b1, c3_1);
            t = Vector512.Create(a[4]); c4_0 = Avx512F.FusedMultiplyAdd(t, b0, c4_0); c4_1 = Avx512F.FusedMultiplyAdd(t, b1, c4_1);
            t = Vector512.Create(a[5]); c5_0 = Avx512F.FusedMultiplyAdd(t, b0, c5_0); c5_1 = Avx512F.FusedMultiplyAdd(t, b1, c5_1);
            t = Vector512.Create(a[6]); c6_0 = Avx512F.FusedMultiplyAdd(t, b0, c6_0); c6_1 = Avx512F.FusedMultiplyAdd(t, b1, c6_1);
            t = Vector512.Create(a[7]); c7_0 = Avx512F.FusedMultiplyAdd(t, b0, c7_0); c7_1 = Avx512F.FusedMultiplyAdd(t, b1, c7_1);
            a += 8;
            if (!TB.InPlace) b += 32;
        }
        Vector512<float> va = Vector512.Create(alpha), vb = Vector512.Create(beta);
        Update(c + 0, c0_0, va, vb, mode); Update(c + 16, c0_1, va, vb, mode);
        Update(c + 1 * ldc + 0, c1_0, va, vb, mode); Update(c + 1 * ldc + 16, c1_1, va, vb, mode);
        Update(c + 2 * ldc + 0, c2_0, va, vb, mode); Update(c + 2 * ldc + 16, c2_1, va, vb, mode);
        Update(c + 3 * ldc + 0, c3_0, va, vb, mode); Update(c + 3 * ldc + 16, c3_1, va, vb, mode);
        Update(c + 4 * ldc + 0, c4_0, va, vb, mode); Update(c + 4 * ldc + 16, c4_1, va, vb, mode);
        Update(c + 5 * ldc + 0, c5_0, va, vb, mode); Update(c + 5 * ldc + 16, c5_1, va, vb, mode);
        Update(c + 6 * ldc + 0, c6_0, va, vb, mode); Update(c + 6 * ldc + 16, c6_1, va, vb, mode);
        Update(c + 7 * ldc + 0, c7_0, va, vb, mode); Update(c + 7 * ldc + 16, c7_1, va, vb, mode);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* dst, Vector512<float> acc, Vector512<float> va, Vector512<float> vb, GemmUpdate mode)
    {
        // Multiply and add are kept separate (no fused update) so that the scalar edge-tile path rounds identically.
        Vector512<float> r = acc * va;
        if (mode == GemmUpdate.Accumulate) r += Vector512.Load(dst);
        else if (mode == GemmUpdate.ScaleAndAccumulate) r += Vector512.Load(dst) * vb;
        Vector512.Store(r, dst);
    }
}

/// <summary>AVX-512 micro-kernel with a 16×16 tile of C in 16 zmm accumulators (one column vector, sixteen rows).</summary>
/// <remarks>
/// Its B micro-panel (KC = 256 steps of 16 floats) is 16 KiB, half of a 32 KiB L1d, where the 8×32 kernel's 32 KiB
/// panel fills it; per k step it loads one B vector and broadcasts sixteen A values for sixteen FMAs. Each element of C
/// sees the same operation sequence as in every other FMA kernel (the tile shape does not change it), so results are
/// bit-identical to the 8×32 kernel's.
/// </remarks>
internal readonly unsafe struct Avx512TallMicroKernel : IGemmMicroKernel
{
    public static int MR => 16;
    public static int NR => 16;
    public static bool IsSupported => Avx512F.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TB>(int kc, float* a, float* b, nint* rows, float* c, nint ldc, float alpha, float beta, GemmUpdate mode) where TB : struct, IGemmBPanel
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<float> c8 = default, c9 = default, c10 = default, c11 = default, c12 = default, c13 = default, c14 = default, c15 = default;
        for (int p = 0; p < kc; p++)
        {
            float* bp = TB.InPlace ? b + rows[p] : b;
            Vector512<float> b0 = Vector512.Load(bp);
            Vector512<float> t;
            t = Vector512.Create(a[0]); c0 = Avx512F.FusedMultiplyAdd(t, b0, c0);
            t = Vector512.Create(a[1]); c1 = Avx512F.FusedMultiplyAdd(t, b0, c1);
            t = Vector512.Create(a[2]); c2 = Avx512F.FusedMultiplyAdd(t, b0, c2);
            t = Vector512.Create(a[3]); c3 = Avx512F.FusedMultiplyAdd(t, b0, c3);
            t = Vector512.Create(a[4]); c4 = Avx512F.FusedMultiplyAdd(t, b0, c4);
            t = Vector512.Create(a[5]); c5 = Avx512F.FusedMultiplyAdd(t, b0, c5);
            t = Vector512.Create(a[6]); c6 = Avx512F.FusedMultiplyAdd(t, b0, c6);
            t = Vector512.Create(a[7]); c7 = Avx512F.FusedMultiplyAdd(t, b0, c7);
            t = Vector512.Create(a[8]); c8 = Avx512F.FusedMultiplyAdd(t, b0, c8);
            t = Vector512.Create(a[9]); c9 = Avx512F.FusedMultiplyAdd(t, b0, c9);
            t = Vector512.Create(a[10]); c10 = Avx512F.FusedMultiplyAdd(t, b0, c10);
            t = Vector512.Create(a[11]); c11 = Avx512F.FusedMultiplyAdd(t, b0, c11);
            t = Vector512.Create(a[12]); c12 = Avx512F.FusedMultiplyAdd(t, b0, c12);
            t = Vector512.Create(a[13]); c13 = Avx512F.FusedMultiplyAdd(t, b0, c13);
            t = Vector512.Create(a[14]); c14 = Avx512F.FusedMultiplyAdd(t, b0, c14);
            t = Vector512.Create(a[15]); c15 = Avx512F.FusedMultiplyAdd(t, b0, c15);
            a += 16;
            if (!TB.InPlace) b += 16;
        }
        Vector512<float> va = Vector512.Create(alpha), vb = Vector512.Create(beta);
        Update(c + 0 * ldc, c0, va, vb, mode);
        Update(c + 1 * ldc, c1, va, vb, mode);
        Update(c + 2 * ldc, c2, va, vb, mode);
        Update(c + 3 * ldc, c3, va, vb, mode);
        Update(c + 4 * ldc, c4, va, vb, mode);
        Update(c + 5 * ldc, c5, va, vb, mode);
        Update(c + 6 * ldc, c6, va, vb, mode);
        Update(c + 7 * ldc, c7, va, vb, mode);
        Update(c + 8 * ldc, c8, va, vb, mode);
        Update(c + 9 * ldc, c9, va, vb, mode);
        Update(c + 10 * ldc, c10, va, vb, mode);
        Update(c + 11 * ldc, c11, va, vb, mode);
        Update(c + 12 * ldc, c12, va, vb, mode);
        Update(c + 13 * ldc, c13, va, vb, mode);
        Update(c + 14 * ldc, c14, va, vb, mode);
        Update(c + 15 * ldc, c15, va, vb, mode);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* dst, Vector512<float> acc, Vector512<float> va, Vector512<float> vb, GemmUpdate mode)
    {
        // Multiply and add are kept separate (no fused update) so that the scalar edge-tile path rounds identically.
        Vector512<float> r = acc * va;
        if (mode == GemmUpdate.Accumulate) r += Vector512.Load(dst);
        else if (mode == GemmUpdate.ScaleAndAccumulate) r += Vector512.Load(dst) * vb;
        Vector512.Store(r, dst);
    }
}

/// <summary>AVX2+FMA micro-kernel: a 6×16 tile of C in 12 ymm accumulators.</summary>
internal readonly unsafe struct Avx2MicroKernel : IGemmMicroKernel
{
    public static int MR => 6;
    public static int NR => 16;
    public static bool IsSupported => Fma.IsSupported && Avx2.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TB>(int kc, float* a, float* b, nint* rows, float* c, nint ldc, float alpha, float beta, GemmUpdate mode) where TB : struct, IGemmBPanel
    {
        Vector256<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default;
        Vector256<float> c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default;
        for (int p = 0; p < kc; p++)
        {
            float* bp = TB.InPlace ? b + rows[p] : b;
            Vector256<float> b0 = Vector256.Load(bp + 0);
            Vector256<float> b1 = Vector256.Load(bp + 8);
            Vector256<float> t;
            t = Vector256.Create(a[0]); c0_0 = Fma.MultiplyAdd(t, b0, c0_0); c0_1 = Fma.MultiplyAdd(t, b1, c0_1);
            t = Vector256.Create(a[1]); c1_0 = Fma.MultiplyAdd(t, b0, c1_0); c1_1 = Fma.MultiplyAdd(t, b1, c1_1);
            t = Vector256.Create(a[2]); c2_0 = Fma.MultiplyAdd(t, b0, c2_0); c2_1 = Fma.MultiplyAdd(t, b1, c2_1);
            t = Vector256.Create(a[3]); c3_0 = Fma.MultiplyAdd(t, b0, c3_0); c3_1 = Fma.MultiplyAdd(t, b1, c3_1);
            t = Vector256.Create(a[4]); c4_0 = Fma.MultiplyAdd(t, b0, c4_0); c4_1 = Fma.MultiplyAdd(t, b1, c4_1);
            t = Vector256.Create(a[5]); c5_0 = Fma.MultiplyAdd(t, b0, c5_0); c5_1 = Fma.MultiplyAdd(t, b1, c5_1);
            a += 6;
            if (!TB.InPlace) b += 16;
        }
        Vector256<float> va = Vector256.Create(alpha), vb = Vector256.Create(beta);
        Update(c + 0, c0_0, va, vb, mode); Update(c + 8, c0_1, va, vb, mode);
        Update(c + 1 * ldc + 0, c1_0, va, vb, mode); Update(c + 1 * ldc + 8, c1_1, va, vb, mode);
        Update(c + 2 * ldc + 0, c2_0, va, vb, mode); Update(c + 2 * ldc + 8, c2_1, va, vb, mode);
        Update(c + 3 * ldc + 0, c3_0, va, vb, mode); Update(c + 3 * ldc + 8, c3_1, va, vb, mode);
        Update(c + 4 * ldc + 0, c4_0, va, vb, mode); Update(c + 4 * ldc + 8, c4_1, va, vb, mode);
        Update(c + 5 * ldc + 0, c5_0, va, vb, mode); Update(c + 5 * ldc + 8, c5_1, va, vb, mode);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Update(float* dst, Vector256<float> acc, Vector256<float> va, Vector256<float> vb, GemmUpdate mode)
    {
        // Multiply and add are kept separate (no fused update) so that the scalar edge-tile path rounds identically.
        Vector256<float> r = acc * va;
        if (mode == GemmUpdate.Accumulate) r += Vector256.Load(dst);
        else if (mode == GemmUpdate.ScaleAndAccumulate) r += Vector256.Load(dst) * vb;
        Vector256.Store(r, dst);
    }
}

/// <summary>AVX2+FMA micro-kernel with a 4×24 tile of C in 12 ymm accumulators (three column vectors, four rows).</summary>
/// <remarks>
/// The same twelve accumulators as the 6×16 kernel in a shape that tiles 8, 16, 32 and 64 rows exactly, where 6-row
/// tiles pad an 8-row product by half and end every such product in an edge tile. Per k step it loads three B vectors
/// and broadcasts four A values for twelve FMAs (the 6×16 kernel: two and six); its B micro-panel (KC = 256 steps of 24
/// floats) is 24 KiB. Each element of C sees the same operation sequence as in every other FMA kernel, so results are
/// bit-identical to the 6×16 kernel's.
/// </remarks>
internal readonly unsafe struct Avx2WideMicroKernel : IGemmMicroKernel
{
    public static int MR => 4;
    public static int NR => 24;
    public static bool IsSupported => Fma.IsSupported && Avx2.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TB>(int kc, float* a, float* b, nint* rows, float* c, nint ldc, float alpha, float beta, GemmUpdate mode) where TB : struct, IGemmBPanel
    {
        Vector256<float> c0_0 = default, c0_1 = default, c0_2 = default, c1_0 = default, c1_1 = default, c1_2 = default;
        Vector256<float> c2_0 = default, c2_1 = default, c2_2 = default, c3_0 = default, c3_1 = default, c3_2 = default;
        for (int p = 0; p < kc; p++)
        {
            float* bp = TB.InPlace ? b + rows[p] : b;
            Vector256<float> b0 = Vector256.Load(bp + 0);
            Vector256<float> b1 = Vector256.Load(bp + 8);
            Vector256<float> b2 = Vector256.Load(bp + 16);
            Vector256<float> t;
            t = Vector256.Create(a[0]); c0_0 = Fma.MultiplyAdd(t, b0, c0_0); c0_1 = Fma.MultiplyAdd(t, b1, c0_1); c0_2 = Fma.MultiplyAdd(t, b2, c0_2);
            t = Vector256.Create(a[1]); c1_0 = Fma.MultiplyAdd(t, b0, c1_0); c1_1 = Fma.MultiplyAdd(t, b1, c1_1); c1_2 = Fma.MultiplyAdd(t, b2, c1_2);
            t = Vector256.Create(a[2]); c2_0 = Fma.MultiplyAdd(t, b0, c2_0); c2_1 = Fma.MultiplyAdd(t, b1, c2_1); c2_2 = Fma.MultiplyAdd(t, b2, c2_2);
            t = Vector256.Create(a[3]); c3_0 = Fma.MultiplyAdd(t, b0, c3_0); c3_1 = Fma.MultiplyAdd(t, b1, c3_1); c3_2 = Fma.MultiplyAdd(t, b2, c3_2);
            a += 4;
            if (!TB.InPlace) b += 24;
        }
        Vector256<float> va = Vector256.Create(alpha), vb = Vector256.Create(beta);
        Avx2MicroKernel.Update(c + 0, c0_0, va, vb, mode); Avx2MicroKernel.Update(c + 8, c0_1, va, vb, mode); Avx2MicroKernel.Update(c + 16, c0_2, va, vb, mode);
        float* r1 = c + ldc, r2 = c + 2 * ldc, r3 = c + 3 * ldc;
        Avx2MicroKernel.Update(r1 + 0, c1_0, va, vb, mode); Avx2MicroKernel.Update(r1 + 8, c1_1, va, vb, mode); Avx2MicroKernel.Update(r1 + 16, c1_2, va, vb, mode);
        Avx2MicroKernel.Update(r2 + 0, c2_0, va, vb, mode); Avx2MicroKernel.Update(r2 + 8, c2_1, va, vb, mode); Avx2MicroKernel.Update(r2 + 16, c2_2, va, vb, mode);
        Avx2MicroKernel.Update(r3 + 0, c3_0, va, vb, mode); Avx2MicroKernel.Update(r3 + 8, c3_1, va, vb, mode); Avx2MicroKernel.Update(r3 + 16, c3_2, va, vb, mode);
    }
}

/// <summary>Portable 128-bit micro-kernel (Arm64 AdvSimd, or SSE): a 6×8 tile of C in 12 accumulators, which fits the 16 registers of SSE.</summary>
internal readonly unsafe struct Vector128MicroKernel : IGemmMicroKernel
{
    public static int MR => 6;
    public static int NR => 8;
    public static bool IsSupported => Vector128.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TB>(int kc, float* a, float* b, nint* rows, float* c, nint ldc, float alpha, float beta, GemmUpdate mode) where TB : struct, IGemmBPanel
    {
        Vector128<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default, c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default;
        Vector128<float> c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default;
        for (int p = 0; p < kc; p++)
        {
            float* bp = TB.InPlace ? b + rows[p] : b;
            Vector128<float> b0 = Vector128.Load(bp + 0);
            Vector128<float> b1 = Vector128.Load(bp + 4);
            Vector128<float> t;
            t = Vector128.Create(a[0]); c0_0 = MulAdd(t, b0, c0_0); c0_1 = MulAdd(t, b1, c0_1);
            t = Vector128.Create(a[1]); c1_0 = MulAdd(t, b0, c1_0); c1_1 = MulAdd(t, b1, c1_1);
            t = Vector128.Create(a[2]); c2_0 = MulAdd(t, b0, c2_0); c2_1 = MulAdd(t, b1, c2_1);
            t = Vector128.Create(a[3]); c3_0 = MulAdd(t, b0, c3_0); c3_1 = MulAdd(t, b1, c3_1);
            t = Vector128.Create(a[4]); c4_0 = MulAdd(t, b0, c4_0); c4_1 = MulAdd(t, b1, c4_1);
            t = Vector128.Create(a[5]); c5_0 = MulAdd(t, b0, c5_0); c5_1 = MulAdd(t, b1, c5_1);
            a += 6;
            if (!TB.InPlace) b += 8;
        }
        Vector128<float> va = Vector128.Create(alpha), vb = Vector128.Create(beta);
        Update(c + 0, c0_0, va, vb, mode); Update(c + 4, c0_1, va, vb, mode);
        Update(c + 1 * ldc + 0, c1_0, va, vb, mode); Update(c + 1 * ldc + 4, c1_1, va, vb, mode);
        Update(c + 2 * ldc + 0, c2_0, va, vb, mode); Update(c + 2 * ldc + 4, c2_1, va, vb, mode);
        Update(c + 3 * ldc + 0, c3_0, va, vb, mode); Update(c + 3 * ldc + 4, c3_1, va, vb, mode);
        Update(c + 4 * ldc + 0, c4_0, va, vb, mode); Update(c + 4 * ldc + 4, c4_1, va, vb, mode);
        Update(c + 5 * ldc + 0, c5_0, va, vb, mode); Update(c + 5 * ldc + 4, c5_1, va, vb, mode);
    }

    /// <summary><c>c + a·b</c>: fused on Arm64; separate multiply and add elsewhere (emulated FMA would be slow).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> MulAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c)
        => AdvSimd.IsSupported ? AdvSimd.FusedMultiplyAdd(c, a, b) : c + a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Update(float* dst, Vector128<float> acc, Vector128<float> va, Vector128<float> vb, GemmUpdate mode)
    {
        // Multiply and add are kept separate (no fused update) so that the scalar edge-tile path rounds identically.
        Vector128<float> r = acc * va;
        if (mode == GemmUpdate.Accumulate) r += Vector128.Load(dst);
        else if (mode == GemmUpdate.ScaleAndAccumulate) r += Vector128.Load(dst) * vb;
        Vector128.Store(r, dst);
    }
}
