using System.Runtime.CompilerServices;

namespace Learner.Nn.Kernels;

/// <summary>
/// Single-precision general matrix multiply on row-major matrices:
/// <c>C = alpha · op(A) · op(B) + beta · C</c>, where <c>op(X)</c> is <c>X</c> or its transpose.
/// </summary>
/// <remarks>
/// All matrices are row-major. <c>op(A)</c> is <c>m×k</c>, <c>op(B)</c> is <c>k×n</c>, <c>C</c> is <c>m×n</c>.
/// The leading dimension of a matrix is the distance, in elements, between the starts of two consecutive
/// rows of the matrix <em>as stored</em> (so for a transposed A stored as k×m it is at least m).
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
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        ScaleC(m, n, beta, c, ldc);
        if (k == 0 || alpha == 0f) return;
        // Reference kernel: i-p-j loop order so the innermost loop streams rows of B and C.
        for (int i = 0; i < m; i++)
        {
            Span<float> ci = c.Slice(i * ldc, n);
            for (int p = 0; p < k; p++)
            {
                float av = alpha * (transA ? a[p * lda + i] : a[i * lda + p]);
                if (av == 0f) continue;
                if (!transB)
                {
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(b.Slice(p * ldb, n), av, ci, ci);
                }
                else
                {
                    for (int j = 0; j < n; j++) ci[j] += av * b[j * ldb + p];
                }
            }
        }
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
