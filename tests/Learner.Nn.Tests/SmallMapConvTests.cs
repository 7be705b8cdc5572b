using Learner.Nn.Kernels;

namespace Learner.Nn.Tests;

/// <summary>
/// Convolutions on maps small enough to be one dense matrix product (<see cref="SmallMapConv"/>): the output and both
/// gradients against a double-precision direct convolution on 2-D and 3-D windows with padding, stride and dilation;
/// a finite-difference check; every result bit-identical for any thread count; and the rule that chooses it.
/// </summary>
public class SmallMapConvTests
{
    // n, c, (d, h, w), cout, (kd, kh, kw), (sd, sh, sw), (pd, ph, pw), (dd, dh, dw), bias
    public static IEnumerable<object[]> Geometries => new[]
    {
        new object[] { 6, 5, new[] { 1, 2, 2 }, 7, new[] { 1, 3, 3 }, new[] { 1, 1, 1 }, new[] { 0, 1, 1 }, new[] { 1, 1, 1 }, true },  // the ResNet-18 preset's 2×2 maps
        new object[] { 4, 3, new[] { 1, 1, 3 }, 4, new[] { 1, 3, 7 }, new[] { 1, 1, 1 }, new[] { 0, 1, 3 }, new[] { 1, 1, 1 }, false }, // one row, a wide window
        new object[] { 5, 4, new[] { 1, 2, 2 }, 6, new[] { 1, 3, 3 }, new[] { 1, 2, 2 }, new[] { 0, 1, 1 }, new[] { 1, 1, 1 }, true },  // stride 2 to 1×1
        new object[] { 4, 2, new[] { 1, 2, 2 }, 3, new[] { 1, 3, 3 }, new[] { 1, 1, 1 }, new[] { 0, 2, 2 }, new[] { 1, 2, 2 }, false }, // dilation 2
        new object[] { 4, 3, new[] { 2, 2, 1 }, 5, new[] { 3, 3, 3 }, new[] { 1, 1, 1 }, new[] { 1, 1, 1 }, new[] { 1, 1, 1 }, true },  // 3-D
        new object[] { 4, 3, new[] { 1, 1, 3 }, 5, new[] { 1, 3, 3 }, new[] { 1, 1, 1 }, new[] { 0, 1, 1 }, new[] { 1, 1, 1 }, true },  // inputs past the window's reach
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Output_and_both_gradients_match_a_direct_convolution(int n, int c, int[] size, int cout, int[] k, int[] s, int[] p, int[] d, bool withBias)
    {
        var g = Geometry(n, c, size, cout, k, s, p, d);
        SmallMapConv.Chooses(g).Should().BeTrue();
        var (x, wt, b, gy) = Data(g, withBias);
        var (y, gx, gw) = Run(g, x, wt, b, gy, 2);
        var r = ConvReference.Run(x, n, c, size, wt, cout, k, b, s, p, d, 1, gy);
        ConvReference.AssertClose(y, r.Y, "y", rtol: 1e-5, atol: 1e-5 * Math.Sqrt(c * g.KernelVolume));
        ConvReference.AssertClose(gx, r.Gx, "gx", rtol: 1e-5, atol: 1e-5 * Math.Sqrt(cout * g.KernelVolume));
        ConvReference.AssertClose(gw, r.Gw, "gw", rtol: 1e-5, atol: 1e-5 * Math.Sqrt(n * g.OutSpatial));
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Every_result_is_bit_identical_on_1_2_3_and_5_threads(int n, int c, int[] size, int cout, int[] k, int[] s, int[] p, int[] d, bool withBias)
    {
        var g = Geometry(n, c, size, cout, k, s, p, d);
        var (x, wt, b, gy) = Data(g, withBias);
        var one = Run(g, x, wt, b, gy, 1);
        foreach (int threads in new[] { 2, 3, 5 })
        {
            var r = Run(g, x, wt, b, gy, threads);
            r.Y.Should().Equal(one.Y, $"forward with {threads} threads");
            r.Gx.Should().Equal(one.Gx, $"input gradient with {threads} threads");
            r.Gw.Should().Equal(one.Gw, $"weight gradient with {threads} threads");
        }
    }

    [Fact]
    public void The_automatic_choice_takes_it_and_its_gradients_pass_a_finite_difference_check()
    {
        var g = Geometry(6, 5, new[] { 1, 2, 2 }, 7, new[] { 1, 3, 3 }, new[] { 1, 1, 1 }, new[] { 0, 1, 1 }, new[] { 1, 1, 1 });
        var (x, wt, b, gy) = Data(g, true);
        var direct = Run(g, x, wt, b, gy, 2);
        var y = new float[gy.Length];
        ConvKernels.Forward(g, x, wt, b, y, 2, ConvAlgorithm.Auto);
        y.Should().Equal(direct.Y, "Auto takes this path for 3×3 windows on 2×2 maps");
        ConvReference.AssertGradientsMatchFiniteDifferences(g, x, wt, b, gy, ConvAlgorithm.Auto);
    }

    [Fact]
    public void Each_gradient_alone_equals_its_value_when_both_are_asked_for()
    {
        var g = Geometry(5, 4, new[] { 1, 2, 2 }, 6, new[] { 1, 3, 3 }, new[] { 1, 1, 1 }, new[] { 0, 1, 1 }, new[] { 1, 1, 1 });
        var (x, wt, _, gy) = Data(g, false);
        var both = Run(g, x, wt, null, gy, 2);
        var gxAlone = Filled(x.Length);
        var gwAlone = Filled(wt.Length);
        SmallMapConv.Backward(g, gy, x, wt, gxAlone, null, 2);
        SmallMapConv.Backward(g, gy, x, wt, null, gwAlone, 2);
        gxAlone.Should().Equal(both.Gx);
        gwAlone.Should().Equal(both.Gw);
    }

    [Fact]
    public void It_is_chosen_only_where_it_saves_half_the_work_of_im2col()
    {
        static ConvGeometry Same3x3(int n, int c, int hw, int cout, int groups = 1) =>
            new(n, c, 1, hw, hw, cout, groups, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1);
        SmallMapConv.Chooses(Same3x3(128, 256, 2, 256)).Should().BeTrue("4 input positions against 9 taps");
        SmallMapConv.Chooses(Same3x3(128, 64, 4, 64)).Should().BeFalse("16 input positions against 9 taps");
        SmallMapConv.Chooses(Same3x3(3, 256, 2, 256)).Should().BeFalse("too few samples to pay for the dense matrix");
        SmallMapConv.Chooses(Same3x3(128, 256, 2, 256, groups: 2)).Should().BeFalse("grouped");
        SmallMapConv.Chooses(Same3x3(128, 2048, 2, 2048)).Should().BeFalse("a dense matrix past the size limit");
        SmallMapConv.Chooses(new ConvGeometry(128, 64, 1, 1, 1, 64, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1)).Should().BeFalse("pointwise");
    }

    private static (float[] Y, float[] Gx, float[] Gw) Run(in ConvGeometry g, float[] x, float[] wt, float[]? b, float[] gy, int threads)
    {
        var y = Filled(gy.Length);
        var gx = Filled(x.Length);
        var gw = Filled(wt.Length);
        SmallMapConv.Forward(g, x, wt, b, y, threads);
        SmallMapConv.Backward(g, gy, x, wt, gx, gw, threads);
        return (y, gx, gw);
    }

    private static ConvGeometry Geometry(int n, int c, int[] size, int cout, int[] k, int[] s, int[] p, int[] d) =>
        new(n, c, size[0], size[1], size[2], cout, 1, k[0], k[1], k[2], s[0], s[1], s[2], p[0], p[1], p[2], d[0], d[1], d[2]);

    private static (float[] X, float[] W, float[]? B, float[] Gy) Data(in ConvGeometry g, bool withBias)
    {
        var rng = new Rng(17);
        float[] x = Tensor.Uniform(rng, -1, 1, g.N * g.C * g.InSpatial).ToArray();
        float[] w = Tensor.Uniform(rng, -0.3f, 0.3f, g.Cout * g.C * g.KernelVolume).ToArray();
        float[]? b = withBias ? Tensor.Uniform(rng, -0.5f, 0.5f, g.Cout).ToArray() : null;
        float[] gy = Tensor.Uniform(rng, -1, 1, g.N * g.Cout * g.OutSpatial).ToArray();
        return (x, w, b, gy);
    }

    /// <summary>A destination full of NaN: every element must be overwritten.</summary>
    private static float[] Filled(int length) => Enumerable.Repeat(float.NaN, length).ToArray();
}
