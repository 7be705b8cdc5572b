using Learner.Nn.Kernels;

namespace Learner.Nn.Tests;

/// <summary>
/// Taps of a convolution window that meet only padding at every output position are cut away before the algorithm is
/// chosen (ResNet-18's 3×3 convolutions on 1×1 maps become pointwise, its stride-2 one from 2×2 to 1×1 a 2×2 window):
/// the output and all three gradients must match a double-precision direct convolution and the uncut im2col path, the
/// dropped taps' weight gradient must be exactly zero, and the rule must cut exactly the taps that never meet the input.
/// </summary>
public class ConvWindowCropTests
{
    // n, c, cout, d, h, w, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw, kept taps
    public static TheoryData<int[]> Geometries => new()
    {
        new[] { 6, 40, 24, 1, 1, 1, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1 },   // 3×3 padding 1 on 1×1 maps: the centre only
        new[] { 5, 17, 33, 1, 1, 1, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1, 1 },   // the same with stride 2
        new[] { 5, 19, 23, 1, 2, 2, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1, 4 },   // stride 2 from 2×2 to 1×1: a 2×2 window
        new[] { 3, 9, 7, 1, 1, 1, 1, 5, 5, 1, 1, 1, 0, 2, 2, 1, 1, 1, 1 },     // 5×5, padding 2
        new[] { 3, 9, 7, 1, 2, 2, 1, 5, 5, 1, 1, 1, 0, 2, 2, 1, 1, 1, 9 },     // 5×5 padding 2 on 2×2 maps: the middle 3×3
        new[] { 4, 8, 6, 1, 1, 1, 1, 3, 3, 1, 1, 1, 0, 2, 2, 1, 2, 2, 1 },     // dilation 2, padding 2: the centre again
        new[] { 4, 8, 6, 1, 1, 1, 1, 3, 5, 1, 1, 5, 0, 1, 4, 1, 1, 1, 1 },     // 3×5, padding (1, 4), stride (1, 5): the tap (1, 4)
        new[] { 3, 6, 5, 1, 1, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 },     // 3-D, 1×1×1 volumes
        new[] { 2, 5, 4, 2, 1, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 9 },     // 3-D, 2×1×3: only the height is cut
        new[] { 1, 130, 70, 1, 1, 1, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1 },  // one sample, wide channels
    };

    private static ConvGeometry Geometry(int[] p) =>
        new(p[0], p[1], p[3], p[4], p[5], p[2], 1, p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15], p[16], p[17]);

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Output_and_gradients_match_a_direct_convolution_and_the_uncut_window(int[] p)
    {
        var g = Geometry(p);
        ConvWindowCrop.Crops(g, out var cut).Should().BeTrue();
        cut.KernelVolume.Should().Be(p[18], "the taps that meet the input somewhere");
        var rng = new Rng(31);
        int kv = g.KernelVolume, inS = g.InSpatial, os = g.OutSpatial;
        float[] x = Tensor.Uniform(rng, -1, 1, g.N * g.C * inS).ToArray();
        float[] w = Tensor.Uniform(rng, -0.3f, 0.3f, g.Cout * g.C * kv).ToArray();
        float[] b = Tensor.Uniform(rng, -0.5f, 0.5f, g.Cout).ToArray();
        float[] gy = Tensor.Uniform(rng, -1, 1, g.N * g.Cout * os).ToArray();

        float[] y = Filled(g.N * g.Cout * os), gx = Filled(x.Length), gw = Filled(w.Length), gb = Filled(g.Cout);
        ConvKernels.Forward(g, x, w, b, y, 2, ConvAlgorithm.Auto);
        ConvKernels.Backward(g, gy, x, w, gx, gw, gb, 2, ConvAlgorithm.Auto);

        var r = ConvReference.Run(x, g.N, g.C, new[] { g.D, g.H, g.W }, w, g.Cout, new[] { g.KD, g.KH, g.KW }, b,
            new[] { g.SD, g.SH, g.SW }, new[] { g.PD, g.PH, g.PW }, new[] { g.DD, g.DH, g.DW }, 1, gy);
        ConvReference.AssertClose(y, r.Y, "y", atol: 1e-4 * Math.Sqrt(g.C * kv));
        ConvReference.AssertClose(gx, r.Gx, "gx", atol: 1e-4 * Math.Sqrt(g.Cout * kv));
        ConvReference.AssertClose(gw, r.Gw, "gw", atol: 1e-4 * Math.Sqrt(g.N * os));
        ConvReference.AssertClose(gb, r.Gb, "gb", atol: 1e-4 * Math.Sqrt(g.N * os));
        // A tap the reference never used (its gradient sums nothing) must get an exact zero, not leftovers.
        var used = new bool[w.Length];
        for (int i = 0; i < w.Length; i++) used[i] = r.Gw[i] != 0;
        for (int i = 0; i < gw.Length; i++)
            if (!used[i]) BitConverter.SingleToInt32Bits(gw[i]).Should().Be(0, $"weight-gradient element {i} belongs to a tap that only meets padding");

        float[] y2 = Filled(y.Length), gx2 = Filled(gx.Length), gw2 = Filled(gw.Length), gb2 = Filled(gb.Length);
        ConvKernels.Forward(g, x, w, b, y2, 2, ConvAlgorithm.Gemm);
        ConvKernels.Backward(g, gy, x, w, gx2, gw2, gb2, 2, ConvAlgorithm.Gemm);
        for (int i = 0; i < y.Length; i++) y[i].Should().BeApproximately(y2[i], 1e-5f, $"y[{i}] against the uncut window");
        for (int i = 0; i < gx.Length; i++) gx[i].Should().BeApproximately(gx2[i], 1e-5f, $"gx[{i}] against the uncut window");
        for (int i = 0; i < gw.Length; i++) gw[i].Should().BeApproximately(gw2[i], 1e-5f, $"gw[{i}] against the uncut window");
        gb.Should().Equal(gb2, "the bias gradient is the same sum on both paths");
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count()
    {
        var g = Geometry(new[] { 7, 70, 90, 1, 2, 2, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1, 4 });
        var rng = new Rng(32);
        float[] x = Tensor.Uniform(rng, -1, 1, g.N * g.C * g.InSpatial).ToArray();
        float[] w = Tensor.Uniform(rng, -0.3f, 0.3f, g.Cout * g.C * 9).ToArray();
        float[] gy = Tensor.Uniform(rng, -1, 1, g.N * g.Cout * g.OutSpatial).ToArray();
        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3, 5 })
        {
            float[] y = new float[g.N * g.Cout * g.OutSpatial], gx = new float[x.Length], gw = new float[w.Length];
            ConvKernels.Forward(g, x, w, null, y, threads, ConvAlgorithm.Auto);
            ConvKernels.Backward(g, gy, x, w, gx, gw, null, threads, ConvAlgorithm.Auto);
            float[] all = [.. y, .. gx, .. gw];
            if (first is null) first = all;
            else all.Select(BitConverter.SingleToInt32Bits).Should().Equal(first.Select(BitConverter.SingleToInt32Bits), $"{threads} threads");
        }
    }

    [Fact]
    public void The_rule_cuts_exactly_the_taps_that_never_meet_the_input()
    {
        // A square 2-D geometry: map h×h, window k×k, stride s, padding p, dilation d, groups.
        ConvGeometry G(int h, int k, int s, int p, int d, int groups = 1) => new(2, 4, 1, h, h, 4, groups, 1, k, k, 1, s, s, 0, p, p, 1, d, d);
        ConvWindowCrop.Crops(G(1, 3, 1, 1, 1), out var cut).Should().BeTrue();
        (cut.KH, cut.KW, cut.PH, cut.PW).Should().Be((1, 1, 0, 0), "the centre of a 3×3 window, now pointwise");
        ConvWindowCrop.Crops(G(2, 3, 2, 1, 1), out cut).Should().BeTrue();
        (cut.KH, cut.PH, cut.OH).Should().Be((2, 0, 1), "taps 1 and 2 of each axis, no padding left");
        ConvWindowCrop.Crops(G(2, 3, 1, 1, 1), out _).Should().BeFalse("on a 2×2 map every tap meets some output");
        ConvWindowCrop.Crops(G(32, 3, 2, 1, 1), out _).Should().BeFalse("a large map meets every tap");
        ConvWindowCrop.Crops(G(1, 3, 1, 1, 1, groups: 2), out _).Should().BeFalse("grouped convolutions keep their window");
        ConvWindowCrop.Crops(G(1, 1, 1, 0, 1), out _).Should().BeFalse("a 1×1 window has nothing to cut");
        var none = G(1, 3, 3, 3, 2);
        none.OutSpatial.Should().Be(1);
        ConvWindowCrop.Crops(none, out _).Should().BeFalse("padding 3, dilation 2: no tap meets the input, the output is the bias");
    }

    /// <summary>A destination full of NaN: every element must be overwritten.</summary>
    private static float[] Filled(int length)
    {
        var a = new float[length];
        Array.Fill(a, float.NaN);
        return a;
    }
}
