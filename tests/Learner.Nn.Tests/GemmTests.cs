using Learner.Nn.Kernels;

namespace Learner.Nn.Tests;

public class GemmTests
{
    /// <summary>Every micro-kernel family this machine can run (the scalar one always).</summary>
    /// <remarks>Passed by name: the kernel enum is internal and test methods are public.</remarks>
    public static TheoryData<string> Isas()
    {
        var data = new TheoryData<string> { nameof(GemmIsa.Scalar) };
        if (Vector128MicroKernel.IsSupported) data.Add(nameof(GemmIsa.Vector128));
        if (Avx2MicroKernel.IsSupported) data.Add(nameof(GemmIsa.Avx2));
        if (Avx2WideMicroKernel.IsSupported) data.Add(nameof(GemmIsa.Avx2Wide));
        if (Avx2WideMicroKernel.IsSupported) data.Add(nameof(GemmIsa.Avx2Mixed));
        if (Avx512MicroKernel.IsSupported) data.Add(nameof(GemmIsa.Avx512));
        if (Avx512TallMicroKernel.IsSupported) data.Add(nameof(GemmIsa.Avx512Tall));
        if (Avx512TallMicroKernel.IsSupported) data.Add(nameof(GemmIsa.Avx512Mixed));
        return data;
    }

    public static TheoryData<string, bool, bool> IsasAndTransposes()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (string name in Isas())
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    data.Add(name, ta, tb);
        return data;
    }

    private static GemmIsa Isa(string name) => Enum.Parse<GemmIsa>(name);

    /// <summary>
    /// Shapes covering: single elements, skinny m=1 / n=1 / k=1, odd sizes, non-multiples of every tile size
    /// (MR 4/6/8, NR 8/16/32), more rows than one packed A block (MC), more columns than one packed B block
    /// (NC of the scalar kernel), and reductions longer than one KC block.
    /// </summary>
    private static readonly (int M, int N, int K)[] Shapes =
    {
        (1, 1, 1), (1, 7, 5), (6, 1, 9), (5, 6, 1), (1, 1, 300), (1, 70, 33), (45, 1, 33),
        (2, 2, 2), (3, 5, 7), (7, 3, 11), (9, 17, 13), (13, 33, 31), (31, 15, 64), (33, 65, 17),
        (8, 32, 256), (16, 64, 257), (12, 48, 520), (50, 37, 300), (270, 20, 9), (11, 1030, 5), (5, 3, 1500),
        (65, 97, 129),
    };

    private static float[] Random(Rng rng, int length)
    {
        var x = new float[length];
        rng.FillUniform(x, -1f, 1f);
        return x;
    }

    /// <summary>Double-precision reference of <c>alpha·op(A)·op(B) + beta·C</c>, and a bound on the float rounding error per element.</summary>
    private static (double[] Value, double[] Bound) Reference(bool ta, bool tb, int m, int n, int k, float alpha,
        float[] a, int lda, float[] b, int ldb, float beta, float[] c, int ldc)
    {
        var value = new double[m * n];
        var bound = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0, abs = 0;
                for (int p = 0; p < k; p++)
                {
                    double x = ta ? a[p * lda + i] : a[i * lda + p];
                    double y = tb ? b[j * ldb + p] : b[p * ldb + j];
                    s += x * y;
                    abs += Math.Abs(x * y);
                }
                double cOld = beta == 0f ? 0.0 : beta * (double)c[i * ldc + j];
                value[i * n + j] = alpha * s + cOld;
                // Forward error of a float dot product of length k: ≤ ~k·eps·Σ|x·y|, plus the final scale and add.
                bound[i * n + j] = 1.2e-7 * (k + 4) * (Math.Abs(alpha) * abs + Math.Abs(cOld)) + 1e-30;
            }
        return (value, bound);
    }

    private static void CheckCase(Rng rng, GemmIsa isa, int threads, bool ta, bool tb, int m, int n, int k,
        float alpha, float beta, int pad)
    {
        int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
        int aRows = ta ? k : m, bRows = tb ? n : k;
        var a = Random(rng, Math.Max(aRows * lda - pad, 0));
        var b = Random(rng, Math.Max(bRows * ldb - pad, 0));
        var c = Random(rng, m * ldc);
        var before = (float[])c.Clone();
        var (expected, bound) = Reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

        Gemm.SgemmCore(isa, threads, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double err = Math.Abs(c[i * ldc + j] - expected[i * n + j]);
                if (!(err <= bound[i * n + j]))
                    Assert.Fail($"{isa} threads={threads} transA={ta} transB={tb} m={m} n={n} k={k} alpha={alpha} beta={beta} pad={pad}: " +
                                $"C[{i},{j}] = {c[i * ldc + j]}, expected {expected[i * n + j]} (error {err:E2} > bound {bound[i * n + j]:E2}).");
            }
            // Columns beyond n, inside the leading dimension, belong to someone else: untouched.
            for (int j = n; j < ldc && i * ldc + j < c.Length; j++)
                c[i * ldc + j].Should().Be(before[i * ldc + j], "C[{0},{1}] lies outside the {2}×{3} result", i, j, m, n);
        }
    }

    [Theory]
    [MemberData(nameof(IsasAndTransposes))]
    public void Matches_a_double_precision_reference_over_many_shapes(string isaName, bool ta, bool tb)
    {
        var isa = Isa(isaName);
        var rng = new Rng(11 + (int)isa * 4 + (ta ? 2 : 0) + (tb ? 1 : 0));
        foreach (var (m, n, k) in Shapes)
        {
            CheckCase(rng, isa, 2, ta, tb, m, n, k, 1f, 0f, 0);
            CheckCase(rng, isa, 2, ta, tb, m, n, k, -0.75f, 1f, 3);
            CheckCase(rng, isa, 2, ta, tb, m, n, k, 2.5f, -0.5f, 1);
        }
    }

    [Theory]
    [MemberData(nameof(IsasAndTransposes))]
    public void Large_problems_that_run_on_several_threads_match_the_reference(string isaName, bool ta, bool tb)
    {
        var isa = Isa(isaName);
        // Above the parallel threshold, split along rows (m ≥ n) and along columns (n > m); odd edges on every side.
        var rng = new Rng(97 + (int)isa);
        CheckCase(rng, isa, 2, ta, tb, 203, 171, 300, 1f, 0f, 2);
        CheckCase(rng, isa, 3, ta, tb, 77, 301, 290, 0.5f, 2f, 0);
    }

    [Fact]
    public void Random_shapes_and_strides_match_the_reference()
    {
        var rng = new Rng(2024);
        for (int trial = 0; trial < 150; trial++)
        {
            int m = rng.NextInt(0, 40), n = rng.NextInt(0, 40), k = rng.NextInt(0, 70);
            bool ta = rng.NextInt(2) == 1, tb = rng.NextInt(2) == 1;
            float alpha = (float)(rng.NextDouble() * 4 - 2), beta = rng.NextInt(3) switch { 0 => 0f, 1 => 1f, _ => (float)(rng.NextDouble() * 2 - 1) };
            int pad = rng.NextInt(0, 5);
            CheckCase(rng, Gemm.BestIsa, 2, ta, tb, m, n, k, alpha, beta, pad);
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void Beta_zero_overwrites_nan_already_in_c(string isaName)
    {
        var isa = Isa(isaName);
        foreach (var (m, n, k) in new[] { (1, 5, 3), (5, 1, 3), (19, 37, 11), (64, 64, 64) })
        {
            var rng = new Rng(5);
            var a = Random(rng, m * k);
            var b = Random(rng, k * n);
            var c = Enumerable.Repeat(float.NaN, m * n).ToArray();
            Gemm.SgemmCore(isa, 2, false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
            c.Should().OnlyContain(v => float.IsFinite(v), "beta = 0 must not read C ({0}×{1}×{2})", m, n, k);
            var (expected, bound) = Reference(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
            for (int i = 0; i < m * n; i++) Math.Abs(c[i] - expected[i]).Should().BeLessThanOrEqualTo(bound[i]);
        }
    }

    [Fact]
    public void Zero_alpha_or_empty_reduction_only_scales_c()
    {
        var rng = new Rng(8);
        var a = Random(rng, 12);
        var b = Random(rng, 12);
        var c = Random(rng, 9);
        var expected = c.Select(v => v * 3f).ToArray();
        Gemm.Sgemm(false, false, 3, 3, 4, 0f, a, 4, b, 3, 3f, c, 3);
        c.Should().Equal(expected);

        var nan = Enumerable.Repeat(float.NaN, 9).ToArray();
        Gemm.Sgemm(false, false, 3, 3, 0, 1f, ReadOnlySpan<float>.Empty, 0, ReadOnlySpan<float>.Empty, 3, 0f, nan, 3);
        nan.Should().OnlyContain(v => v == 0f);
    }

    [Fact]
    public void Empty_output_is_a_no_op()
    {
        var c = new[] { 7f };
        Gemm.Sgemm(false, false, 0, 5, 3, 1f, ReadOnlySpan<float>.Empty, 3, new float[15], 5, 0f, Span<float>.Empty, 5);
        Gemm.Sgemm(false, false, 4, 0, 3, 1f, new float[12], 3, ReadOnlySpan<float>.Empty, 0, 0f, c.AsSpan(0, 0), 0);
        c[0].Should().Be(7f);
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void Results_are_bit_identical_across_calls_and_thread_counts(string isaName)
    {
        var isa = Isa(isaName);
        var rng = new Rng(42);
        foreach (var (m, n, k, ta, tb) in new[] { (300, 257, 520, false, false), (129, 400, 300, true, true), (1, 300, 700, false, true), (700, 1, 300, true, false) })
        {
            var a = Random(rng, m * k);
            var b = Random(rng, k * n);
            var c0 = Random(rng, m * n);
            int lda = ta ? m : k, ldb = tb ? k : n;
            float[]? first = null;
            foreach (int threads in new[] { 2, 2, 1, 3, 5 })
            {
                var c = (float[])c0.Clone();
                Gemm.SgemmCore(isa, threads, ta, tb, m, n, k, 1.25f, a, lda, b, ldb, 0.5f, c, n);
                if (first is null) first = c;
                else
                    for (int i = 0; i < c.Length; i++)
                        BitConverter.SingleToInt32Bits(c[i]).Should().Be(BitConverter.SingleToInt32Bits(first[i]),
                            "element {0} of a {1}×{2}×{3} product must not depend on the run or on {4} threads", i, m, n, k, threads);
            }
        }
    }

    [Fact]
    public void Concurrent_callers_get_correct_results()
    {
        // Several threads at once: one holds the worker team, the others compute on their own threads.
        const int m = 160, n = 150, k = 200;
        var rng = new Rng(77);
        var a = Random(rng, m * k);
        var b = Random(rng, k * n);
        var expected = new float[m * n];
        Gemm.SgemmCore(Gemm.BestIsa, 1, false, false, m, n, k, 1f, a, k, b, n, 0f, expected, n);
        var results = new float[4][];
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            for (int rep = 0; rep < 5; rep++)
            {
                var c = new float[m * n];
                Gemm.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
                results[t] = c;
            }
        });
        foreach (var c in results) c.Should().Equal(expected);
    }

    [Fact]
    public void Rejects_negative_dimensions()
    {
        var x = new float[16];
        FluentActions.Invoking(() => Gemm.Sgemm(false, false, -1, 2, 2, 1f, x, 2, x, 2, 0f, x, 2))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "m" && e.Message.Contains("m must be non-negative"));
        FluentActions.Invoking(() => Gemm.Sgemm(false, false, 2, -3, 2, 1f, x, 2, x, 2, 0f, x, 2))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "n" && e.Message.Contains("-3"));
        FluentActions.Invoking(() => Gemm.Sgemm(false, false, 2, 2, -1, 1f, x, 2, x, 2, 0f, x, 2))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "k");
    }

    [Fact]
    public void Rejects_leading_dimensions_smaller_than_the_stored_width()
    {
        var x = new float[64];
        FluentActions.Invoking(() => Gemm.Sgemm(false, false, 3, 4, 5, 1f, x, 4, x, 4, 0f, x, 4))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "lda")
            .WithMessage("Leading dimension of A (4) is smaller than its stored column count (5).*");
        // Transposed A is stored k×m, so its leading dimension must cover m.
        FluentActions.Invoking(() => Gemm.Sgemm(true, false, 3, 4, 5, 1f, x, 2, x, 4, 0f, x, 4))
            .Should().Throw<ArgumentException>().WithMessage("Leading dimension of A (2) is smaller than its stored column count (3).*");
        FluentActions.Invoking(() => Gemm.Sgemm(false, true, 3, 4, 5, 1f, x, 5, x, 4, 0f, x, 4))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "ldb").WithMessage("*B (4)*stored column count (5)*");
        FluentActions.Invoking(() => Gemm.Sgemm(false, false, 3, 4, 5, 1f, x, 5, x, 4, 0f, x, 3))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "ldc").WithMessage("*C (3)*");
    }

    [Fact]
    public void Rejects_spans_too_short_for_the_shape()
    {
        FluentActions.Invoking(() => Gemm.Sgemm(false, false, 3, 4, 5, 1f, new float[14], 5, new float[20], 4, 0f, new float[12], 4))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "a")
            .WithMessage("A needs at least 15 elements for a 3×5 matrix with leading dimension 5, but its span has 14.*");
        FluentActions.Invoking(() => Gemm.Sgemm(false, false, 3, 4, 5, 1f, new float[15], 5, new float[19], 4, 0f, new float[12], 4))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "b").WithMessage("B needs at least 20 elements*");
        FluentActions.Invoking(() => Gemm.Sgemm(false, false, 3, 4, 5, 1f, new float[15], 5, new float[20], 4, 0f, new float[13], 6))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "c").WithMessage("C needs at least 16 elements*leading dimension 6, but its span has 13.*");
    }

    [Fact]
    public void Sgemm_uses_the_best_kernel_and_agrees_with_it_bit_for_bit()
    {
        var rng = new Rng(3);
        var a = Random(rng, 90 * 70);
        var b = Random(rng, 70 * 110);
        var c1 = new float[90 * 110];
        var c2 = new float[90 * 110];
        Gemm.Sgemm(false, false, 90, 110, 70, 1f, a, 70, b, 110, 0f, c1, 110);
        Gemm.SgemmCore(Gemm.BestIsa, 1, false, false, 90, 110, 70, 1f, a, 70, b, 110, 0f, c2, 110);
        c1.Should().Equal(c2);
    }
}
