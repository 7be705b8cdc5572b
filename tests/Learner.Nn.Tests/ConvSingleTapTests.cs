using Learner.Nn.Kernels;

namespace Learner.Nn.Tests;

/// <summary>
/// Convolutions from one input position to one output position where a single tap meets the input (ResNet-18's 3×3
/// convolutions on 1×1 maps) run as the pointwise convolution of that tap: the output and all three gradients must
/// match a double-precision direct convolution and the im2col path, the other taps' weight gradient must be exactly
/// zero, and the rule must take only the geometries where every other tap multiplies padding.
/// </summary>
public class ConvSingleTapTests
{
    // n, c, cout, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw
    public static TheoryData<int[]> Geometries => new()
    {
        new[] { 6, 40, 24, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1 },   // 3×3, padding 1: ResNet-18's last stage on 1×1 maps
        new[] { 5, 17, 33, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1 },   // stride 2 (the stage's first convolution from 1×1)
        new[] { 3, 9, 7, 1, 5, 5, 1, 1, 1, 0, 2, 2, 1, 1, 1 },     // 5×5, padding 2
        new[] { 4, 8, 6, 1, 3, 3, 1, 1, 1, 0, 2, 2, 1, 2, 2 },     // dilation 2, padding 2: the centre tap again
        new[] { 4, 8, 6, 1, 3, 5, 1, 1, 5, 0, 1, 4, 1, 1, 1 },     // 3×5, padding (1, 4), stride (1, 5): the tap (1, 4)
        new[] { 3, 6, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1 },     // 3-D, 1×1×1 volumes
        new[] { 1, 130, 70, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1 },  // one sample, wide channels
    };

    private static ConvGeometry Geometry(int[] p) =>
        new(p[0], p[1], 1, 1, 1, p[2], 1, p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14]);

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Output_and_gradients_match_a_direct_convolution_and_the_im2col_path(int[] p)
    {
        var g = Geometry(p);
        ConvSingleTap.Applies(g, out int tap).Should().BeTrue();
        var rng = new Rng(31);
        int kv = g.KernelVolume;
        float[] x = Tensor.Uniform(rng, -1, 1, g.N * g.C).ToArray();
        float[] w = Tensor.Uniform(rng, -0.3f, 0.3f, g.Cout * g.C * kv).ToArray();
        float[] b = Tensor.Uniform(rng, -0.5f, 0.5f, g.Cout).ToArray();
        float[] gy = Tensor.Uniform(rng, -1, 1, g.N * g.Cout).ToArray();

        float[] y = Filled(g.N * g.Cout), gx = Filled(x.Length), gw = Filled(w.Length), gb = Filled(g.Cout);
        ConvKernels.Forward(g, x, w, b, y, 2, ConvAlgorithm.Auto);
        ConvKernels.Backward(g, gy, x, w, gx, gw, gb, 2, ConvAlgorithm.Auto);

        var r = ConvReference.Run(x, g.N, g.C, new[] { 1, 1, 1 }, w, g.Cout, new[] { g.KD, g.KH, g.KW }, b,
            new[] { g.SD, g.SH, g.SW }, new[] { g.PD, g.PH, g.PW }, new[] { g.DD, g.DH, g.DW }, 1, gy);
        ConvReference.AssertClose(y, r.Y, "y", atol: 1e-4 * Math.Sqrt(g.C));
        ConvReference.AssertClose(gx, r.Gx, "gx", atol: 1e-4 * Math.Sqrt(g.Cout));
        ConvReference.AssertClose(gw, r.Gw, "gw", atol: 1e-4 * Math.Sqrt(g.N));
        ConvReference.AssertClose(gb, r.Gb, "gb", atol: 1e-4 * Math.Sqrt(g.N));
        for (int i = 0; i < gw.Length; i++)
            if (i % kv != tap) BitConverter.SingleToInt32Bits(gw[i]).Should().Be(0, $"weight-gradient element {i} belongs to a tap that only meets padding");

        float[] y2 = Filled(y.Length), gx2 = Filled(gx.Length), gw2 = Filled(gw.Length), gb2 = Filled(gb.Length);
        ConvKernels.Forward(g, x, w, b, y2, 2, ConvAlgorithm.Gemm);
        ConvKernels.Backward(g, gy, x, w, gx2, gw2, gb2, 2, ConvAlgorithm.Gemm);
        for (int i = 0; i < y.Length; i++) y[i].Should().BeApproximately(y2[i], 1e-5f, $"y[{i}] against im2col");
        for (int i = 0; i < gx.Length; i++) gx[i].Should().BeApproximately(gx2[i], 1e-5f, $"gx[{i}] against im2col");
        for (int i = 0; i < gw.Length; i++) gw[i].Should().BeApproximately(gw2[i], 1e-5f, $"gw[{i}] against im2col");
        gb.Should().Equal(gb2, "the bias gradient is the same sum on both paths");
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        var g = Geometry(new[] { 7, 70, 90, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1 });
        var rng = new Rng(32);
        float[] x = Tensor.Uniform(rng, -1, 1, g.N * g.C).ToArray();
        float[] w = Tensor.Uniform(rng, -0.3f, 0.3f, g.Cout * g.C * 9).ToArray();
        float[] gy = Tensor.Uniform(rng, -1, 1, g.N * g.Cout).ToArray();
        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3, 5 })
        {
            float[] y = new float[g.N * g.Cout], gx = new float[x.Length], gw = new float[w.Length];
            ConvKernels.Forward(g, x, w, null, y, threads, ConvAlgorithm.Auto);
            ConvKernels.Backward(g, gy, x, w, gx, gw, null, threads, ConvAlgorithm.Auto);
            float[] all = [.. y, .. gx, .. gw];
            if (first is null) first = all;
            else all.Select(BitConverter.SingleToInt32Bits).Should().Equal(first.Select(BitConverter.SingleToInt32Bits), $"{threads} threads");
        }
    }

    [Fact]
    public void The_rule_takes_only_convolutions_whose_other_taps_all_meet_padding()
    {
        // n, c, d, h, w, cout, groups, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw
        ConvGeometry G(int h, int groups, int k, int s, int p, int d) => new(2, 4, 1, h, h, 4, groups, 1, k, k, 1, s, s, 0, p, p, 1, d, d);
        ConvSingleTap.Applies(G(1, 1, 3, 1, 1, 1), out int tap).Should().BeTrue();
        tap.Should().Be(4, "the centre of a 3×3 window");
        ConvSingleTap.Applies(G(2, 1, 3, 1, 1, 1), out _).Should().BeFalse("a 2×2 map meets four taps per output");
        ConvSingleTap.Applies(G(1, 2, 3, 1, 1, 1), out _).Should().BeFalse("grouped convolutions keep the general path");
        ConvSingleTap.Applies(G(1, 1, 1, 1, 0, 1), out _).Should().BeFalse("a 1×1 window is already pointwise");
        ConvSingleTap.Applies(G(1, 1, 3, 1, 0, 1), out _).Should().BeFalse("without padding the window does not fit: no output");
        var none = G(1, 1, 3, 3, 3, 2);
        none.OutSpatial.Should().Be(1);
        ConvSingleTap.Applies(none, out _).Should().BeFalse("padding 3, dilation 2: no tap meets the input, the output is the bias");
    }

    /// <summary>A destination full of NaN: every element must be overwritten.</summary>
    private static float[] Filled(int length)
    {
        var a = new float[length];
        Array.Fill(a, float.NaN);
        return a;
    }
}
