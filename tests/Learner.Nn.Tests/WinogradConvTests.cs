using Learner.Nn.Kernels;

namespace Learner.Nn.Tests;

/// <summary>
/// Winograd F(2×2, 3×3): the output and both gradients against a double-precision direct convolution, on every
/// tile shape (even and odd planes, planes smaller than one tile, one and several batch blocks, channel counts that
/// leave GEMM panels ragged); bit-identical for any thread count; and the rules that choose it.
/// </summary>
public class WinogradConvTests
{
    // n, c, h, w, cout, bias
    public static TheoryData<int, int, int, int, int, bool> Geometries => new()
    {
        { 2, 3, 4, 4, 5, true },      // one 2×2 grid of tiles
        { 3, 5, 7, 5, 6, false },     // odd height and width: the last tiles are cropped
        { 2, 4, 1, 1, 3, true },      // a plane smaller than one tile
        { 1, 2, 1, 6, 2, false },     // one row
        { 70, 8, 4, 4, 9, true },     // 4 tiles per sample: several blocks, the filters packed once
        { 5, 33, 4, 4, 34, true },    // 4×4 planes, an odd sample count: pairs (AVX2) or fours (AVX-512) by permutes, the rest gathered
        { 2, 17, 16, 16, 33, true },  // 64 tiles per sample, ragged GEMM panels
        { 1, 64, 32, 32, 64, false }, // wide rows of tiles: the 512-bit rung of the transforms
        { 5, 64, 9, 11, 80, true },   // both planes odd, channels past the auto threshold
        { 3, 6, 8, 8, 5, true },      // 8×8 planes: each sample's 16 tiles built by permutes (AVX-512, or AVX2 without it)
        { 20, 33, 8, 8, 34, false },  // 8×8 planes over two blocks of samples
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Output_and_both_gradients_match_a_direct_convolution(int n, int c, int h, int w, int cout, bool withBias)
    {
        var g = Same3x3(n, c, h, w, cout);
        WinogradConv.Fits(g).Should().BeTrue();
        var (x, wt, b, gy) = Data(g, withBias);
        var y = Filled(n * cout * h * w);
        var gx = Filled(x.Length);
        var gw = Filled(wt.Length);
        ConvKernels.Forward(g, x, wt, b, y, 2, ConvAlgorithm.Winograd);
        ConvKernels.Backward(g, gy, x, wt, gx, gw, null, 2, ConvAlgorithm.Winograd);

        var r = ConvReference.Run(x, n, c, new[] { 1, h, w }, wt, cout, new[] { 1, 3, 3 }, b,
            new[] { 1, 1, 1 }, new[] { 0, 1, 1 }, new[] { 1, 1, 1 }, 1, gy);
        // The sums are regrouped (the transforms add inputs before they are multiplied): a few ulps of the terms' size.
        ConvReference.AssertClose(y, r.Y, "y", rtol: 1e-4, atol: 1e-4 * Math.Sqrt(9 * c));
        ConvReference.AssertClose(gx, r.Gx, "gx", rtol: 1e-4, atol: 1e-4 * Math.Sqrt(9 * cout));
        // The weight gradient sums over every output position of the batch.
        ConvReference.AssertClose(gw, r.Gw, "gw", rtol: 1e-4, atol: 1e-4 * Math.Sqrt(n * h * w));
    }

    [Fact]
    public void On_AVX2_without_AVX512_the_permuted_8x8_and_4x4_tiles_give_the_bits_of_the_gathered_ones()
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported || System.Runtime.Intrinsics.X86.Avx512F.IsSupported) return;  // the paths exist only there
        foreach (var (n, c, hw, cout) in new[] { (4, 32, 8, 32), (3, 33, 8, 40), (5, 33, 4, 34), (16, 64, 4, 64) })
        {
            var g = Same3x3(n, c, hw, hw, cout);
            var (x, wt, b, gy) = Data(g, true);
            float[][] Run()
            {
                var y = new float[n * cout * hw * hw];
                var gx = new float[x.Length];
                var gw = new float[wt.Length];
                ConvKernels.Forward(g, x, wt, b, y, 2, ConvAlgorithm.Winograd);
                ConvKernels.Backward(g, gy, x, wt, gx, gw, null, 2, ConvAlgorithm.Winograd);
                return new[] { y, gx, gw };
            }
            var permuted = Run();
            float[][] gathered;
            WinogradTransforms.AvxTwoPermutes = false;
            try { gathered = Run(); }
            finally { WinogradTransforms.AvxTwoPermutes = true; }
            for (int r = 0; r < 3; r++)
                permuted[r].Should().Equal(gathered[r], $"{(r == 0 ? "y" : r == 1 ? "gx" : "gw")} of {n}×{c}×{hw}×{hw} → {cout}");
        }
    }

    [Fact]
    public void Every_pytorch_conv_fixture_it_fits_matches_with_winograd_forced()
    {
        int count = 0;
        foreach (var fc in Fixtures.Load("conv.json"))
        {
            if (fc.Params.GetProperty("op").GetString() != "conv2d") continue;
            var xs = fc.Tensors["x"].Shape;
            var ws = fc.Tensors["w"].Shape;
            int[] st = fc.Ints("stride"), pd = fc.Ints("padding"), dl = fc.Ints("dilation");
            var g = new ConvGeometry(xs[0], xs[1], 1, xs[2], xs[3], ws[0], fc.Int("groups"), 1, ws[2], ws[3], 1, st[0], st[1], 0, pd[0], pd[1], 1, dl[0], dl[1]);
            if (!WinogradConv.Fits(g)) continue;
            count++;
            float[] x = fc.Tensors["x"].Data, w = fc.Tensors["w"].Data, gy = fc.Tensors["gy"].Data;
            float[]? b = fc.Params.GetProperty("bias").GetBoolean() ? fc.Tensors["b"].Data : null;
            var y = Filled(fc.Tensors["y"].Data.Length);
            var gx = Filled(x.Length);
            var gw = Filled(w.Length);
            ConvKernels.Forward(g, x, w, b, y, 2, ConvAlgorithm.Winograd);
            ConvKernels.Backward(g, gy, x, w, gx, gw, null, 2, ConvAlgorithm.Winograd);
            Fixtures.AssertClose(y, fc.Tensors["y"].Data, $"{fc.Name} y");
            Fixtures.AssertClose(gx, fc.Tensors["gx"].Data, $"{fc.Name} gx");
            Fixtures.AssertClose(gw, fc.Tensors["gw"].Data, $"{fc.Name} gw");
        }
        count.Should().BeGreaterThanOrEqualTo(4, "conv2d_3x3_pad1 and the three conv2d_winograd_* cases fit");
    }

    [Fact]
    public void Both_gradients_pass_a_finite_difference_check()
    {
        var g = Same3x3(2, 3, 5, 6, 4);
        var (x, wt, b, gy) = Data(g, true);
        ConvReference.AssertGradientsMatchFiniteDifferences(g, x, wt, b, gy, ConvAlgorithm.Winograd);
    }

    [Fact]
    public void Each_gradient_alone_equals_its_value_when_both_are_asked_for()
    {
        var g = Same3x3(70, 8, 4, 4, 9);
        var (x, wt, _, gy) = Data(g, false);
        var gx = Filled(x.Length);
        var gw = Filled(wt.Length);
        ConvKernels.Backward(g, gy, x, wt, gx, gw, null, 2, ConvAlgorithm.Winograd);
        var gxAlone = Filled(x.Length);
        var gwAlone = Filled(wt.Length);
        ConvKernels.Backward(g, gy, x, wt, gxAlone, null, null, 2, ConvAlgorithm.Winograd);
        ConvKernels.Backward(g, gy, x, wt, null, gwAlone, null, 2, ConvAlgorithm.Winograd);
        gxAlone.Should().Equal(gx);
        gwAlone.Should().Equal(gw);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Results_are_bit_identical_for_1_2_3_and_5_threads(int n, int c, int h, int w, int cout, bool withBias)
    {
        var g = Same3x3(n, c, h, w, cout);
        var (x, wt, b, gy) = Data(g, withBias);

        (float[] Y, float[] Gx, float[] Gw, float[] Gb) Run(int threads, ConvAlgorithm algorithm)
        {
            var y = Filled(n * cout * h * w);
            var gx = Filled(x.Length);
            var gw = Filled(wt.Length);
            var gb = Filled(cout);
            ConvKernels.Forward(g, x, wt, b, y, threads, algorithm);
            ConvKernels.Backward(g, gy, x, wt, gx, gw, gb, threads, algorithm);
            return (y, gx, gw, gb);
        }

        var one = Run(1, ConvAlgorithm.Winograd);
        foreach (int threads in new[] { 2, 3, 5 })
        {
            var r = Run(threads, ConvAlgorithm.Winograd);
            r.Y.Should().Equal(one.Y, $"forward with {threads} threads");
            r.Gx.Should().Equal(one.Gx, $"input gradient with {threads} threads");
            r.Gw.Should().Equal(one.Gw, $"weight gradient with {threads} threads");
        }
        Run(2, ConvAlgorithm.Gemm).Gb.Should().Equal(one.Gb, "the bias gradient is one sum either way");
    }

    [Fact]
    public void Only_3x3_stride_1_padding_1_ungrouped_2d_convolutions_fit()
    {
        WinogradConv.Fits(Same3x3(2, 8, 8, 8, 8)).Should().BeTrue();
        WinogradConv.Fits(new ConvGeometry(2, 8, 1, 8, 8, 8, 1, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1)).Should().BeFalse("stride 2");
        WinogradConv.Fits(new ConvGeometry(2, 8, 1, 8, 8, 8, 1, 1, 3, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1)).Should().BeFalse("no padding");
        WinogradConv.Fits(new ConvGeometry(2, 8, 1, 8, 8, 8, 2, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1)).Should().BeFalse("groups");
        WinogradConv.Fits(new ConvGeometry(2, 8, 1, 8, 8, 8, 1, 1, 3, 3, 1, 1, 1, 0, 2, 2, 1, 2, 2)).Should().BeFalse("dilation");
        WinogradConv.Fits(new ConvGeometry(2, 8, 3, 8, 8, 8, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)).Should().BeFalse("3-D");
        WinogradConv.Fits(new ConvGeometry(2, 8, 1, 8, 8, 8, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1)).Should().BeFalse("1×1");
        WinogradConv.Fits(Same3x3(1, 1024, 64, 64, 64)).Should().BeFalse("one sample's transform exceeds the block bound");
    }

    [Fact]
    public void Auto_chooses_winograd_from_the_channel_and_plane_side_thresholds_and_the_overrides_force_either_way()
    {
        int min = WinogradConv.MinChannels, side = WinogradConv.MinSide;
        var wide = Same3x3(8, min, side, side + 3, min);
        var narrow = Same3x3(8, min - 1, 8, 8, min);
        WinogradConv.Chooses(wide, ConvAlgorithm.Auto).Should().BeTrue();
        WinogradConv.Chooses(narrow, ConvAlgorithm.Auto).Should().BeFalse();
        WinogradConv.Chooses(Same3x3(8, 512, side - 1, 8, 512), ConvAlgorithm.Auto).Should().BeFalse("a plane side below the threshold");
        WinogradConv.Chooses(Same3x3(8, 512, 1, 1, 512), ConvAlgorithm.Auto).Should().BeFalse("a 1×1 plane is a quarter of a tile");
        WinogradConv.Chooses(narrow, ConvAlgorithm.Winograd).Should().BeTrue();
        WinogradConv.Chooses(wide, ConvAlgorithm.Gemm).Should().BeFalse();
        WinogradConv.Parse(null).Should().Be(ConvAlgorithm.Auto);
        WinogradConv.Parse(" Winograd ").Should().Be(ConvAlgorithm.Winograd);
        WinogradConv.Parse("gemm").Should().Be(ConvAlgorithm.Gemm);
        var act = () => WinogradConv.Parse("fft");
        act.Should().Throw<InvalidOperationException>().WithMessage("*LEARNER_CONV_ALGORITHM*'fft'*");
    }

    private static ConvGeometry Same3x3(int n, int c, int h, int w, int cout) =>
        new(n, c, 1, h, w, cout, 1, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1);

    private static (float[] X, float[] W, float[]? B, float[] Gy) Data(in ConvGeometry g, bool withBias)
    {
        var rng = new Rng(77);
        float[] x = Tensor.Uniform(rng, -1, 1, g.N * g.C * g.H * g.W).ToArray();
        float[] w = Tensor.Uniform(rng, -0.3f, 0.3f, g.Cout * g.C * 9).ToArray();
        float[]? b = withBias ? Tensor.Uniform(rng, -0.5f, 0.5f, g.Cout).ToArray() : null;
        float[] gy = Tensor.Uniform(rng, -1, 1, g.N * g.Cout * g.H * g.W).ToArray();
        return (x, w, b, gy);
    }

    /// <summary>A destination full of NaN: every element must be overwritten.</summary>
    private static float[] Filled(int length)
    {
        var a = new float[length];
        Array.Fill(a, float.NaN);
        return a;
    }
}
