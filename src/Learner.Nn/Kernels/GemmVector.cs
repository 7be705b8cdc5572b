using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Learner.Nn.Kernels;

/// <summary>
/// Matrix–vector shapes (m = 1 or n = 1), where packing would cost as much as the product: computed
/// directly on one thread with vectorized row updates or dot products over the contiguous operand. The reduction order
/// is fixed (independent of addresses and threads), so results are reproducible.
/// </summary>
internal static unsafe class GemmVector
{
    [ThreadStatic] private static float[]? _acc;
    [ThreadStatic] private static float[]? _gather;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Run(in GemmProblem pr)
    {
        GemmUpdate mode = pr.Beta == 0f ? GemmUpdate.Overwrite : pr.Beta == 1f ? GemmUpdate.Accumulate : GemmUpdate.ScaleAndAccumulate;
        int m = pr.M, n = pr.N, k = pr.K;
        float alpha = pr.Alpha, beta = pr.Beta;
        nint ldc = pr.Ldc;
        if (n == 1 && m > 1)
        {
            // One output column: c[i] = Σ_p A(i,p)·B(p,0).
            nint bStep = pr.TransB ? 1 : pr.Ldb;
            if (pr.TransA)
            {
                float* acc = GemmDriver.Buffer(ref _acc, m);
                new Span<float>(acc, m).Clear();
                for (int p = 0; p < k; p++) Axpy(pr.B[p * bStep], pr.A + p * pr.Lda, acc, m);
                for (int i = 0; i < m; i++) pr.C[i * ldc] = GemmDriver.Combine(acc[i], pr.C[i * ldc], alpha, beta, mode);
            }
            else
            {
                float* y = pr.B;
                if (bStep != 1) { y = GemmDriver.Buffer(ref _gather, k); Gather(pr.B, bStep, k, y); }
                for (int i = 0; i < m; i++) pr.C[i * ldc] = GemmDriver.Combine(Dot(pr.A + i * pr.Lda, y, k), pr.C[i * ldc], alpha, beta, mode);
            }
            return;
        }

        // Row by row: row i of C is Σ_p A(i,p)·(row p of op(B)).
        nint aRowStep = pr.TransA ? 1 : pr.Lda, aColStep = pr.TransA ? pr.Lda : 1;
        if (!pr.TransB)
        {
            // Rows of op(B) are rows of B: accumulate scaled rows, vectorized across the row.
            float* acc = GemmDriver.Buffer(ref _acc, n);
            for (int i = 0; i < m; i++)
            {
                new Span<float>(acc, n).Clear();
                float* ai = pr.A + i * aRowStep;
                for (int p = 0; p < k; p++) Axpy(ai[p * aColStep], pr.B + p * pr.Ldb, acc, n);
                float* ci = pr.C + i * ldc;
                for (int j = 0; j < n; j++) ci[j] = GemmDriver.Combine(acc[j], ci[j], alpha, beta, mode);
            }
        }
        else
        {
            // Columns of op(B) are rows of B: dot products with the (contiguous or gathered) row of op(A).
            for (int i = 0; i < m; i++)
            {
                float* x = pr.A + i * aRowStep;
                if (aColStep != 1) { float* g = GemmDriver.Buffer(ref _gather, k); Gather(x, aColStep, k, g); x = g; }
                float* ci = pr.C + i * ldc;
                for (int j = 0; j < n; j++) ci[j] = GemmDriver.Combine(Dot(x, pr.B + j * pr.Ldb, k), ci[j], alpha, beta, mode);
            }
        }
    }

    private static void Gather(float* src, nint stride, int count, float* dst)
    {
        for (int i = 0; i < count; i++) dst[i] = src[i * stride];
    }

    /// <summary><c>acc[j] += s·x[j]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy(float s, float* x, float* acc, int n)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vs = Vector512.Create(s);
            for (; j <= n - 16; j += 16) Vector512.Store(Vector512.FusedMultiplyAdd(vs, Vector512.Load(x + j), Vector512.Load(acc + j)), acc + j);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vs = Vector256.Create(s);
            for (; j <= n - 8; j += 8) Vector256.Store(Vector256.FusedMultiplyAdd(vs, Vector256.Load(x + j), Vector256.Load(acc + j)), acc + j);
        }
        for (; j < n; j++) acc[j] = MathF.FusedMultiplyAdd(s, x[j], acc[j]);
    }

    /// <summary>A dot product with a fixed summation tree (four vector accumulators, then lanes, then the tail).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float Dot(float* x, float* y, int n)
    {
        int i = 0;
        float sum = 0f;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; i <= n - 64; i += 64)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(x + i), Vector512.Load(y + i), s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.Load(x + i + 16), Vector512.Load(y + i + 16), s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.Load(x + i + 32), Vector512.Load(y + i + 32), s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.Load(x + i + 48), Vector512.Load(y + i + 48), s3);
            }
            for (; i <= n - 16; i += 16) s0 = Vector512.FusedMultiplyAdd(Vector512.Load(x + i), Vector512.Load(y + i), s0);
            sum = Vector512.Sum((s0 + s1) + (s2 + s3));
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (; i <= n - 32; i += 32)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + 8), Vector256.Load(y + i + 8), s1);
                s2 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + 16), Vector256.Load(y + i + 16), s2);
                s3 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i + 24), Vector256.Load(y + i + 24), s3);
            }
            for (; i <= n - 8; i += 8) s0 = Vector256.FusedMultiplyAdd(Vector256.Load(x + i), Vector256.Load(y + i), s0);
            sum = Vector256.Sum((s0 + s1) + (s2 + s3));
        }
        for (; i < n; i++) sum = MathF.FusedMultiplyAdd(x[i], y[i], sum);
        return sum;
    }
}
