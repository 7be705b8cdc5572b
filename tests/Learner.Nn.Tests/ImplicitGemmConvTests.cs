using Learner.Nn.Kernels;

namespace Learner.Nn.Tests;

/// <summary>
/// The implicit GEMM over padded planes: the output and both gradients against a double-precision direct
/// convolution on windows of every kind it takes (3×3, 5×5, 1×3, 3×1, 2×2 with no padding, dilation, groups, padding
/// narrower than the window's reach); the output bit-identical to the im2col path; every result bit-identical for any
/// thread count; the GEMM's row-offset B against the same B stored with a leading dimension; and the rules that choose it.
/// </summary>
public class ImplicitGemmConvTests
{
    // n, c, h, w, cout, kh, kw, ph, pw, dh, dw, groups, bias
    public static IEnumerable<object[]> Geometries => new[]
    {
        new object[] { 3, 8, 32, 32, 8, 3, 3, 1, 1, 1, 1, 1, true },    // the TSM preset's first stage
        new object[] { 2, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1, false }, // its second
        new object[] { 2, 1, 12, 9, 8, 3, 3, 1, 1, 1, 1, 1, true },     // one input channel (the stem), odd plane
        new object[] { 2, 5, 9, 11, 7, 5, 5, 2, 2, 1, 1, 1, true },     // 5×5, ragged GEMM panels
        new object[] { 2, 4, 10, 10, 6, 3, 3, 0, 0, 1, 1, 1, false },   // no padding: the input is read in place
        new object[] { 2, 4, 8, 12, 6, 3, 3, 1, 0, 1, 1, 1, true },     // padding on one axis only
        new object[] { 2, 6, 12, 12, 4, 3, 3, 2, 2, 2, 2, 1, false },   // dilation 2
        new object[] { 2, 8, 10, 10, 12, 3, 3, 1, 1, 1, 1, 4, true },   // four groups
        new object[] { 3, 4, 7, 9, 5, 1, 3, 0, 1, 1, 1, 1, true },      // 1×3
        new object[] { 3, 4, 7, 9, 5, 3, 1, 1, 0, 1, 1, 1, false },     // 3×1: the extended columns are the outputs themselves
        new object[] { 2, 3, 6, 6, 4, 2, 2, 0, 0, 1, 1, 1, true },      // 2×2 with no padding (the shape a window crop leaves)
        new object[] { 1, 3, 5, 5, 1, 3, 3, 1, 1, 1, 1, 1, true },      // one sample, one output channel (a single-row GEMM)
        new object[] { 9, 3, 6, 7, 5, 3, 3, 1, 1, 1, 1, 1, true },      // more samples than weight-gradient partials
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Output_and_both_gradients_match_a_direct_convolution(int n, int c, int h, int w, int cout, int kh, int kw, int ph, int pw, int dh, int dw, int groups, bool withBias)
    {
        var g = Geometry(n, c, h, w, cout, kh, kw, ph, pw, dh, dw, groups);
        ImplicitGemmConv.Fits(g).Should().BeTrue();
        var (x, wt, b, gy) = Data(g, withBias);
        var (y, gx, gw, _) = Run(g, x, wt, b, gy, 2, ConvAlgorithm.ImplicitGemm);
        var r = ConvReference.Run(x, n, c, new[] { 1, h, w }, wt, cout, new[] { 1, kh, kw }, b,
            new[] { 1, 1, 1 }, new[] { 0, ph, pw }, new[] { 1, dh, dw }, groups, gy);
        int taps = c / groups * kh * kw;
        ConvReference.AssertClose(y, r.Y, "y", rtol: 1e-5, atol: 1e-5 * Math.Sqrt(taps));
        ConvReference.AssertClose(gx, r.Gx, "gx", rtol: 1e-5, atol: 1e-5 * Math.Sqrt(cout / groups * kh * kw));
        ConvReference.AssertClose(gw, r.Gw, "gw", rtol: 1e-5, atol: 1e-5 * Math.Sqrt(n * g.OutSpatial));
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void The_output_is_bit_identical_to_im2col_and_every_result_to_itself_on_1_2_3_and_5_threads(int n, int c, int h, int w, int cout, int kh, int kw, int ph, int pw, int dh, int dw, int groups, bool withBias)
    {
        var g = Geometry(n, c, h, w, cout, kh, kw, ph, pw, dh, dw, groups);
        var (x, wt, b, gy) = Data(g, withBias);
        var one = Run(g, x, wt, b, gy, 1, ConvAlgorithm.ImplicitGemm);
        // (A single-row im2col GEMM takes the matrix-vector path, which sums in another order.)
        if (cout / groups > 1) Run(g, x, wt, b, gy, 2, ConvAlgorithm.Gemm).Y.Should().Equal(one.Y, "the same products summed in the same order");
        foreach (int threads in new[] { 2, 3, 5 })
        {
            var r = Run(g, x, wt, b, gy, threads, ConvAlgorithm.ImplicitGemm);
            r.Y.Should().Equal(one.Y, $"forward with {threads} threads");
            r.Gx.Should().Equal(one.Gx, $"input gradient with {threads} threads");
            r.Gw.Should().Equal(one.Gw, $"weight gradient with {threads} threads");
            r.Gb.Should().Equal(one.Gb, $"bias gradient with {threads} threads");
        }
    }

    [Fact]
    public void Each_gradient_alone_equals_its_value_when_both_are_asked_for()
    {
        // 3×3 with padding 1: the padded output gradient doubles as the weight gradient's operand; with padding 0 it does not.
        foreach (var g in new[] { Geometry(5, 4, 9, 9, 6, 3, 3, 1, 1, 1, 1, 1), Geometry(5, 4, 9, 9, 6, 3, 3, 0, 0, 1, 1, 1) })
        {
            var (x, wt, _, gy) = Data(g, false);
            var both = Run(g, x, wt, null, gy, 2, ConvAlgorithm.ImplicitGemm);
            var gxAlone = Filled(x.Length);
            var gwAlone = Filled(wt.Length);
            ConvKernels.Backward(g, gy, x, wt, gxAlone, null, null, 2, ConvAlgorithm.ImplicitGemm);
            ConvKernels.Backward(g, gy, x, wt, null, gwAlone, null, 2, ConvAlgorithm.ImplicitGemm);
            gxAlone.Should().Equal(both.Gx);
            gwAlone.Should().Equal(both.Gw);
        }
    }

    [Fact]
    public void Both_gradients_pass_a_finite_difference_check()
    {
        var g = Geometry(2, 3, 6, 7, 4, 3, 3, 1, 1, 1, 1, 1);
        var (x, wt, b, gy) = Data(g, true);
        ConvReference.AssertGradientsMatchFiniteDifferences(g, x, wt, b, gy, ConvAlgorithm.ImplicitGemm);
    }

    [Theory]
    [MemberData(nameof(GemmTests.Isas), MemberType = typeof(GemmTests))]
    public void Gemm_with_row_offsets_equals_gemm_on_the_rows_stored_with_a_leading_dimension(string isaName)
    {
        var isa = Enum.Parse<GemmIsa>(isaName);
        var rng = new Random(3);
        foreach (var (m, n, k, transB) in new[] { (8, 70, 37, false), (13, 33, 300, true), (1, 40, 9, false), (17, 1, 20, true), (40, 64, 520, false), (16, 100, 72, false) })
        {
            float[] a = Enumerable.Range(0, m * k).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
            int rows = transB ? n : k, extent = transB ? k : n;
            // Rows scattered through a larger buffer, in a shuffled order, with gaps between them.
            var order = Enumerable.Range(0, rows).OrderBy(_ => rng.Next()).ToArray();
            var offsets = new nint[rows];
            var storage = new float[rows * (extent + 5) + 3];
            for (int i = 0; i < rows; i++) offsets[order[i]] = 3 + i * (extent + 5);
            for (int i = 0; i < storage.Length; i++) storage[i] = (float)rng.NextDouble() - 0.5f;
            var dense = new float[rows * extent];
            for (int r = 0; r < rows; r++) storage.AsSpan((int)offsets[r], extent).CopyTo(dense.AsSpan(r * extent));
            foreach (float beta in new[] { 0f, 1f, 0.5f })
                foreach (int threads in new[] { 1, 2 })
                {
                    var c0 = Enumerable.Range(0, m * n).Select(i => (float)i / 7).ToArray();
                    var c1 = (float[])c0.Clone();
                    // The dense reference through the blocked path too (m, n > 1), so the bits must agree.
                    Gemm.SgemmCore(isa, threads, false, transB, m, n, k, 1.5f, a, k, dense, extent, beta, c0, n);
                    Gemm.SgemmCore(isa, threads, false, transB, m, n, k, 1.5f, a, k, storage, 0, beta, c1, n, bRows: offsets);
                    if (m > 1 && n > 1) c1.Should().Equal(c0, $"{m}×{n}×{k}, transB {transB}, beta {beta}, {threads} threads");
                    else ConvReference.AssertClose(c1, c0.Select(v => (double)v).ToArray(), $"{m}×{n}×{k}", rtol: 1e-5, atol: 1e-5);
                }
        }
    }

    [Fact]
    public void A_row_offset_outside_b_names_the_row()
    {
        var offsets = new nint[] { 0, 4, 9 };
        var act = () => Gemm.SgemmCore(Gemm.BestIsa, 1, false, false, 2, 3, 3, 1f, new float[6], 3, new float[11], 0, 0f, new float[6], 3, bRows: offsets);
        act.Should().Throw<ArgumentException>().WithMessage("*Row 2 of B starts at 9*needs 3*11*");
        var few = () => Gemm.SgemmCore(Gemm.BestIsa, 1, false, false, 2, 3, 3, 1f, new float[6], 3, new float[11], 0, 0f, new float[6], 3, bRows: new nint[] { 0, 1 });
        few.Should().Throw<ArgumentException>().WithMessage("*3 stored rows but 2 row offsets*");
    }

    [Fact]
    public void Only_2d_stride_1_windows_with_padding_within_their_reach_fit_and_auto_takes_the_narrow_ones()
    {
        ImplicitGemmConv.Fits(Geometry(2, 8, 32, 32, 8, 3, 3, 1, 1, 1, 1, 1)).Should().BeTrue();
        ImplicitGemmConv.Fits(new ConvGeometry(2, 8, 1, 8, 8, 8, 1, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1)).Should().BeFalse("stride 2");
        ImplicitGemmConv.Fits(new ConvGeometry(2, 8, 3, 8, 8, 8, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)).Should().BeFalse("3-D");
        ImplicitGemmConv.Fits(Geometry(2, 8, 8, 8, 8, 1, 1, 0, 0, 1, 1, 1)).Should().BeFalse("1×1");
        ImplicitGemmConv.Fits(Geometry(2, 8, 8, 8, 8, 3, 3, 3, 3, 1, 1, 1)).Should().BeFalse("padding beyond the window's reach");
        ImplicitGemmConv.Fits(Geometry(1, 4096, 32, 32, 8, 3, 3, 1, 1, 1, 1, 1)).Should().BeFalse("one sample's padded planes exceed the bound");

        ImplicitGemmConv.Chooses(Geometry(128, 8, 32, 32, 8, 3, 3, 1, 1, 1, 1, 1), ConvAlgorithm.Auto).Should().BeTrue("the TSM stage-1 convolution");
        ImplicitGemmConv.Chooses(Geometry(128, 8, 4, 4, 8, 3, 3, 1, 1, 1, 1, 1), ConvAlgorithm.Auto).Should().BeFalse("4×4 maps waste 37 % of the columns");
        ImplicitGemmConv.Chooses(Geometry(64, 128, 32, 32, ImplicitGemmConv.MaxAutoChannels + 1, 3, 3, 1, 1, 1, 1, 1), ConvAlgorithm.Auto).Should().BeFalse("wide");
        ImplicitGemmConv.Chooses(Geometry(128, 8, 4, 4, 8, 3, 3, 1, 1, 1, 1, 1), ConvAlgorithm.ImplicitGemm).Should().BeTrue("forced");
        ImplicitGemmConv.Chooses(Geometry(128, 8, 32, 32, 8, 3, 3, 1, 1, 1, 1, 1), ConvAlgorithm.Gemm).Should().BeFalse();
        ImplicitGemmConv.Chooses(Geometry(128, 8, 32, 32, 8, 3, 3, 1, 1, 1, 1, 1), ConvAlgorithm.Winograd).Should().BeFalse();
        WinogradConv.Parse("implicit").Should().Be(ConvAlgorithm.ImplicitGemm);
        WinogradConv.Parse("Implicit-GEMM").Should().Be(ConvAlgorithm.ImplicitGemm);
    }

    private static (float[] Y, float[] Gx, float[] Gw, float[] Gb) Run(in ConvGeometry g, float[] x, float[] wt, float[]? b, float[] gy, int threads, ConvAlgorithm algorithm)
    {
        var y = Filled(gy.Length);
        var gx = Filled(x.Length);
        var gw = Filled(wt.Length);
        var gb = Filled(g.Cout);
        ConvKernels.Forward(g, x, wt, b, y, threads, algorithm);
        ConvKernels.Backward(g, gy, x, wt, gx, gw, gb, threads, algorithm);
        return (y, gx, gw, gb);
    }

    private static ConvGeometry Geometry(int n, int c, int h, int w, int cout, int kh, int kw, int ph, int pw, int dh, int dw, int groups) =>
        new(n, c, 1, h, w, cout, groups, 1, kh, kw, 1, 1, 1, 0, ph, pw, 1, dh, dw);

    private static (float[] X, float[] W, float[]? B, float[] Gy) Data(in ConvGeometry g, bool withBias)
    {
        var rng = new Rng(91);
        float[] x = Tensor.Uniform(rng, -1, 1, g.N * g.C * g.H * g.W).ToArray();
        float[] w = Tensor.Uniform(rng, -0.3f, 0.3f, g.Cout * g.Cg * g.KH * g.KW).ToArray();
        float[]? b = withBias ? Tensor.Uniform(rng, -0.5f, 0.5f, g.Cout).ToArray() : null;
        float[] gy = Tensor.Uniform(rng, -1, 1, g.N * g.Cout * g.OutSpatial).ToArray();
        return (x, w, b, gy);
    }

    /// <summary>A destination full of NaN: every element must be overwritten.</summary>
    private static float[] Filled(int length) => Enumerable.Repeat(float.NaN, length).ToArray();
}
