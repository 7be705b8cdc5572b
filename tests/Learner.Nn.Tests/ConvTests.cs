using Learner.Nn;
using Learner.Nn.Kernels;
using Learner.Nn.Modules;

namespace Learner.Nn.Tests;

public class ConvTests
{
    // n, cin, cout, h, w, kh, kw, sh, sw, ph, pw, dh, dw, groups, bias
    public static TheoryData<int[]> Conv2dConfigs => new()
    {
        new[] { 2, 3, 2, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1 },   // 3×3 pad 1
        new[] { 1, 2, 3, 7, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0 },   // stride 2, no bias
        new[] { 2, 2, 2, 7, 7, 3, 2, 1, 2, 2, 1, 2, 3, 1, 1 },   // rectangular, dilation, mixed strides
        new[] { 1, 4, 6, 5, 5, 3, 3, 1, 1, 0, 1, 1, 1, 2, 1 },   // groups 2
        new[] { 2, 3, 3, 6, 5, 3, 3, 2, 2, 1, 1, 1, 1, 3, 1 },   // depthwise
        new[] { 1, 2, 4, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 2, 0 },   // depthwise multiplier 2
        new[] { 2, 5, 3, 3, 4, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1 },   // pointwise
        new[] { 1, 3, 2, 5, 5, 1, 1, 2, 2, 0, 0, 1, 1, 1, 1 },   // 1×1 stride 2
        new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1 },   // all ones
        new[] { 1, 1, 2, 1, 7, 1, 3, 1, 1, 0, 2, 1, 1, 1, 1 },   // single row, wide padding
        new[] { 1, 2, 1, 4, 4, 3, 3, 1, 1, 2, 2, 1, 1, 1, 1 },   // padding larger than needed
        new[] { 1, 2, 2, 9, 9, 5, 5, 3, 3, 2, 2, 1, 1, 2, 1 },   // 5×5 stride 3 groups
        new[] { 1, 2, 2, 5, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1 },  // stride 2, rows wide enough for the vector gather
        new[] { 1, 1, 2, 3, 41, 1, 7, 1, 2, 0, 3, 1, 1, 1, 0 },  // 1×7 stride 2 pad 3 (stem-like), odd width
    };

    [Theory]
    [MemberData(nameof(Conv2dConfigs))]
    public void Conv2d_gradients_match_finite_differences(int[] cfg)
    {
        var rng = new Rng(cfg.Sum());
        int n = cfg[0], cin = cfg[1], cout = cfg[2], g = cfg[13];
        var x = GradCheck.Param(rng, n, cin, cfg[3], cfg[4]);
        var w = GradCheck.Param(rng, cout, cin / g, cfg[5], cfg[6]);
        var inputs = new List<Tensor> { x, w };
        if (cfg[14] == 1) inputs.Add(GradCheck.Param(rng, cout));
        GradCheck.Check(t => Ops.Conv2d(t[0], t[1], t.Length > 2 ? t[2] : null, (cfg[7], cfg[8]), (cfg[9], cfg[10]), (cfg[11], cfg[12]), g), inputs.ToArray());
    }

    [Theory]
    [MemberData(nameof(Conv2dConfigs))]
    public void Conv2d_matches_a_direct_double_precision_loop(int[] cfg)
    {
        var rng = new Rng(100 + cfg.Sum());
        int n = cfg[0], cin = cfg[1], cout = cfg[2], g = cfg[13];
        var x = GradCheck.Param(rng, n, cin, cfg[3], cfg[4]);
        var w = GradCheck.Param(rng, cout, cin / g, cfg[5], cfg[6]);
        var b = cfg[14] == 1 ? GradCheck.Param(rng, cout) : null;
        var y = Ops.Conv2d(x, w, b, (cfg[7], cfg[8]), (cfg[9], cfg[10]), (cfg[11], cfg[12]), g);
        var gy = Tensor.Uniform(rng, -1, 1, y.ShapeArray);
        y.Backward(gy);
        var r = ConvReference.Run(x.ToArray(), n, cin, new[] { 1, cfg[3], cfg[4] }, w.ToArray(), cout, new[] { 1, cfg[5], cfg[6] }, b?.ToArray(),
            new[] { 1, cfg[7], cfg[8] }, new[] { 0, cfg[9], cfg[10] }, new[] { 1, cfg[11], cfg[12] }, g, gy.ToArray());
        ConvReference.AssertClose(y.Data, r.Y, "y");
        ConvReference.AssertClose(x.Grad!.Data, r.Gx, "gx");
        ConvReference.AssertClose(w.Grad!.Data, r.Gw, "gw");
        if (b is not null) ConvReference.AssertClose(b.Grad!.Data, r.Gb, "gb");
    }

    // n, cin, cout, d, h, w, kd, kh, kw, s(d,h,w), p(d,h,w), dil(d,h,w), groups
    public static TheoryData<int[]> Conv3dConfigs => new()
    {
        new[] { 1, 2, 2, 3, 4, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 },
        new[] { 2, 2, 1, 4, 3, 5, 2, 2, 3, 2, 1, 2, 0, 1, 1, 1, 1, 1, 1 },
        new[] { 1, 4, 2, 4, 5, 4, 2, 3, 3, 1, 1, 1, 0, 1, 1, 1, 2, 1, 2 },
        new[] { 1, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 3 },
        new[] { 2, 3, 2, 2, 3, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1 },
        new[] { 1, 1, 1, 1, 1, 5, 1, 1, 3, 1, 1, 2, 0, 0, 1, 1, 1, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(Conv3dConfigs))]
    public void Conv3d_gradients_match_finite_differences(int[] c)
    {
        var rng = new Rng(7 + c.Sum());
        var x = GradCheck.Param(rng, c[0], c[1], c[3], c[4], c[5]);
        var w = GradCheck.Param(rng, c[2], c[1] / c[18], c[6], c[7], c[8]);
        var b = GradCheck.Param(rng, c[2]);
        GradCheck.Check(t => Ops.Conv3d(t[0], t[1], t[2], (c[9], c[10], c[11]), (c[12], c[13], c[14]), (c[15], c[16], c[17]), c[18]), new[] { x, w, b });
    }

    [Fact]
    public void Large_outputs_are_processed_in_tiles_and_match_the_reference()
    {
        // K·oS above the im2col tile budget forces several tiles, the last one starting mid-row.
        var rng = new Rng(11);
        int n = 2, c = 16, cout = 2;
        int[] sp = { 10, 20, 25 };
        var x = GradCheck.Param(rng, n, c, sp[0], sp[1], sp[2]);
        var w = GradCheck.Param(rng, cout, c, 3, 3, 3);
        var b = GradCheck.Param(rng, cout);
        ((long)c * 27 * 10 * 20 * 25).Should().BeGreaterThan(Learner.Nn.Kernels.ConvKernels.MaxColElements);
        var y = Ops.Conv3d(x, w, b, 1, 1);
        var gy = Tensor.Uniform(rng, -1, 1, y.ShapeArray);
        y.Backward(gy);
        var r = ConvReference.Run(x.ToArray(), n, c, sp, w.ToArray(), cout, new[] { 3, 3, 3 }, b.ToArray(),
            new[] { 1, 1, 1 }, new[] { 1, 1, 1 }, new[] { 1, 1, 1 }, 1, gy.ToArray());
        ConvReference.AssertClose(y.Data, r.Y, "y", atol: 2e-4);
        ConvReference.AssertClose(x.Grad!.Data, r.Gx, "gx", atol: 2e-4);
        ConvReference.AssertClose(w.Grad!.Data, r.Gw, "gw", rtol: 2e-4, atol: 2e-3);
        ConvReference.AssertClose(b.Grad!.Data, r.Gb, "gb", atol: 1e-3);
    }

    [Fact]
    public void Batch_parallel_results_are_bit_identical_across_runs_and_match_per_sample_convolutions()
    {
        var rng = new Rng(12);
        var x = Tensor.Uniform(rng, -1, 1, 6, 16, 12, 12);
        var w = Tensor.Uniform(rng, -0.2f, 0.2f, 16, 16, 3, 3);
        var gy = Tensor.Uniform(rng, -1, 1, 6, 16, 12, 12);

        (float[] Y, float[] Gx, float[] Gw) Run()
        {
            var xr = x.Clone().RequireGrad(); var wr = w.Clone().RequireGrad();
            var y = Ops.Conv2d(xr, wr, null, 1, 1);
            y.Backward(gy);
            return (y.ToArray(), xr.Grad!.ToArray(), wr.Grad!.ToArray());
        }
        var a = Run();
        var b = Run();
        a.Y.Should().Equal(b.Y);
        a.Gx.Should().Equal(b.Gx);
        a.Gw.Should().Equal(b.Gw);

        var gwSum = new double[w.Size];
        for (int i = 0; i < 6; i++)
        {
            var xi = Ops.Slice(x, 0, i, 1).RequireGrad();
            var wi = w.Clone().RequireGrad();
            var yi = Ops.Conv2d(xi, wi, null, 1, 1);
            yi.Backward(Ops.Slice(gy, 0, i, 1));
            Fixtures.AssertClose(yi.Data, a.Y.AsSpan(i * yi.Size, yi.Size), $"y[{i}]");
            Fixtures.AssertClose(xi.Grad!.Data, a.Gx.AsSpan(i * xi.Size, xi.Size), $"gx[{i}]");
            for (int j = 0; j < gwSum.Length; j++) gwSum[j] += wi.Grad!.Data[j];
        }
        ConvReference.AssertClose(a.Gw, gwSum, "gw", atol: 1e-4);
    }

    [Fact]
    public void Conv_fixtures_match_pytorch()
    {
        int count = 0;
        foreach (var fc in Fixtures.Load("conv.json"))
        {
            string op = fc.Params.GetProperty("op").GetString()!;
            if (op != "conv2d" && op != "conv3d") continue;
            count++;
            var x = fc.Tensor("x").RequireGrad();
            var w = fc.Tensor("w").RequireGrad();
            var b = fc.Params.GetProperty("bias").GetBoolean() ? fc.Tensor("b").RequireGrad() : null;
            int[] s = fc.Ints("stride"), p = fc.Ints("padding"), d = fc.Ints("dilation");
            int groups = fc.Int("groups");
            var y = op == "conv2d"
                ? Ops.Conv2d(x, w, b, (s[0], s[1]), (p[0], p[1]), (d[0], d[1]), groups)
                : Ops.Conv3d(x, w, b, (s[0], s[1], s[2]), (p[0], p[1], p[2]), (d[0], d[1], d[2]), groups);
            y.ShapeArray.Should().Equal(fc.Tensors["y"].Shape, fc.Name);
            Fixtures.AssertClose(y.Data, fc.Tensors["y"].Data, $"{fc.Name} y");
            y.Backward(fc.Tensor("gy"));
            Fixtures.AssertClose(x.Grad!.Data, fc.Tensors["gx"].Data, $"{fc.Name} gx");
            Fixtures.AssertClose(w.Grad!.Data, fc.Tensors["gw"].Data, $"{fc.Name} gw");
            if (b is not null) Fixtures.AssertClose(b.Grad!.Data, fc.Tensors["gb"].Data, $"{fc.Name} gb");
        }
        count.Should().BeGreaterThanOrEqualTo(14);
    }

    [Fact]
    public void Only_inputs_that_require_gradients_receive_them()
    {
        var rng = new Rng(4);
        var x = Tensor.Uniform(rng, -1, 1, 2, 3, 5, 5);
        var w = GradCheck.Param(rng, 4, 3, 3, 3);
        var b = Tensor.Uniform(rng, -1, 1, 4);
        Ops.Sum(Ops.Conv2d(x, w, b, padding: 1)).Backward();
        x.Grad.Should().BeNull();
        b.Grad.Should().BeNull();
        w.Grad.Should().NotBeNull();
        using (Autograd.NoGrad())
            Ops.Conv2d(x, w, b).IsLeaf.Should().BeTrue();
    }

    [Fact]
    public void Bad_convolution_inputs_name_the_shapes_and_values()
    {
        var x = Tensor.Zeros(2, 4, 5, 5);
        Invoking(() => Ops.Conv2d(Tensor.Zeros(4, 5, 5), Tensor.Zeros(2, 4, 3, 3))).Should().Throw<ShapeMismatchException>().WithMessage("*[N, C, H, W]*[4, 5, 5]*");
        Invoking(() => Ops.Conv2d(x, Tensor.Zeros(2, 4, 3))).Should().Throw<ShapeMismatchException>().WithMessage("*weight*[2, 4, 3]*");
        Invoking(() => Ops.Conv2d(x, Tensor.Zeros(2, 3, 3, 3))).Should().Throw<ShapeMismatchException>().WithMessage("*[2, 3, 3, 3]*3 input channels*needs 4*");
        Invoking(() => Ops.Conv2d(x, Tensor.Zeros(2, 2, 3, 3), groups: 3)).Should().Throw<ShapeMismatchException>().WithMessage("*4*not divisible by groups = 3*");
        Invoking(() => Ops.Conv2d(x, Tensor.Zeros(3, 2, 3, 3), groups: 2)).Should().Throw<ShapeMismatchException>().WithMessage("*output channels 3*groups = 2*");
        Invoking(() => Ops.Conv2d(x, Tensor.Zeros(2, 4, 7, 3))).Should().Throw<ShapeMismatchException>().WithMessage("*along H (size 7*larger than the padded input (5 + 2·0 = 5)*");
        Invoking(() => Ops.Conv2d(x, Tensor.Zeros(2, 4, 3, 3), dilation: 3)).Should().Throw<ShapeMismatchException>().WithMessage("*span 7*");
        Invoking(() => Ops.Conv2d(x, Tensor.Zeros(2, 4, 3, 3), Tensor.Zeros(3))).Should().Throw<ShapeMismatchException>().WithMessage("*bias must be [2]*[3]*");
        Invoking(() => Ops.Conv2d(x, Tensor.Zeros(2, 4, 3, 3), stride: 0)).Should().Throw<ShapeMismatchException>().WithMessage("*stride along H must be ≥ 1, got 0*");
        Invoking(() => Ops.Conv2d(x, Tensor.Zeros(2, 4, 3, 3), padding: -1)).Should().Throw<ShapeMismatchException>().WithMessage("*padding*-1*");
        Invoking(() => Ops.Conv2d(x, Tensor.Zeros(2, 4, 3, 3), groups: 0)).Should().Throw<ShapeMismatchException>().WithMessage("*groups must be ≥ 1, got 0*");
        Invoking(() => Ops.Conv3d(x, Tensor.Zeros(2, 4, 3, 3, 3))).Should().Throw<ShapeMismatchException>().WithMessage("*[N, C, D, H, W]*[2, 4, 5, 5]*");
        Invoking(() => Ops.Conv3d(Tensor.Zeros(1, 1, 2, 5, 5), Tensor.Zeros(1, 1, 3, 3, 3))).Should().Throw<ShapeMismatchException>().WithMessage("*along D*");
    }

    private static Action Invoking(Func<Tensor> f) => () => f();

    [Fact]
    public void Conv2d_module_has_pytorch_parameters_and_default_initialisation()
    {
        var conv = new Conv2d(6, 8, 3, new Rng(1), padding: 1, groups: 2);
        conv.NamedParameters().Select(p => p.Key).Should().Equal("weight", "bias");
        conv.Weight.ShapeArray.Should().Equal(8, 3, 3, 3);
        conv.Bias!.ShapeArray.Should().Equal(8);
        float bound = 1f / MathF.Sqrt(3 * 3 * 3);
        conv.Weight.ToArray().Should().OnlyContain(v => v >= -bound && v <= bound);
        conv.Weight.ToArray().Max().Should().BeGreaterThan(0.8f * bound);
        conv.Weight.ToArray().Min().Should().BeLessThan(-0.8f * bound);
        conv.Bias.ToArray().Should().OnlyContain(v => v >= -bound && v <= bound);
        conv.ParameterCount.Should().Be(8 * 27 + 8);

        var again = new Conv2d(6, 8, 3, new Rng(1), padding: 1, groups: 2);
        again.Weight.ToArray().Should().Equal(conv.Weight.ToArray());
        new Conv2d(6, 8, 3, new Rng(2), padding: 1, groups: 2).Weight.ToArray().Should().NotEqual(conv.Weight.ToArray());

        var x = Tensor.Uniform(new Rng(3), -1, 1, 2, 6, 5, 5);
        conv.Forward(x).ToArray().Should().Equal(Ops.Conv2d(x, conv.Weight, conv.Bias, padding: 1, groups: 2).ToArray());
        conv.Forward(x).ShapeArray.Should().Equal(2, 8, 5, 5);

        new Conv2d(3, 4, 1, new Rng(1), bias: false).NamedParameters().Select(p => p.Key).Should().Equal("weight");
        var act = () => new Conv2d(3, 4, 3, new Rng(1), groups: 2);
        act.Should().Throw<ShapeMismatchException>().WithMessage("*groups = 2*inChannels = 3*");
    }

    [Fact]
    public void Conv3d_module_has_pytorch_parameters_and_trains()
    {
        var conv = new Conv3d(2, 3, (1, 3, 3), new Rng(5), (1, 2, 2), (0, 1, 1), (1, 1, 1));
        conv.Weight.ShapeArray.Should().Equal(3, 2, 1, 3, 3);
        float bound = 1f / MathF.Sqrt(2 * 9);
        conv.Weight.ToArray().Should().OnlyContain(v => v >= -bound && v <= bound);
        var x = Tensor.Uniform(new Rng(6), -1, 1, 2, 2, 4, 6, 6);
        var y = conv.Forward(x);
        y.ShapeArray.Should().Equal(2, 3, 4, 3, 3);
        Ops.Sum(y).Backward();
        conv.Weight.Grad.Should().NotBeNull();
        conv.Bias!.Grad!.ToArray().Should().OnlyContain(v => v == 2 * 4 * 3 * 3);
    }

    [Theory]
    [InlineData(1, 1, 1, true)]       // a single product element: the matrix-vector paths
    [InlineData(128, 64, 96, true)]   // ResNet-18's last stage on 1×1 maps, narrower
    [InlineData(300, 40, 1, false)]   // one output channel
    [InlineData(3, 700, 520, false)]  // a reduction deeper than one GEMM slice
    public void A_pointwise_convolution_on_1x1_maps_is_one_matrix_product_per_result(int n, int c, int cout, bool withBias)
    {
        var g = new ConvGeometry(n, c, 1, 1, 1, cout, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1);
        var rng = new Rng(21);
        float[] x = Tensor.Uniform(rng, -1, 1, n * c).ToArray(), wt = Tensor.Uniform(rng, -0.3f, 0.3f, cout * c).ToArray();
        float[]? b = withBias ? Tensor.Uniform(rng, -0.5f, 0.5f, cout).ToArray() : null;
        float[] gy = Tensor.Uniform(rng, -1, 1, n * cout).ToArray();
        (float[], float[], float[], float[]) Run(int threads)
        {
            var y = Enumerable.Repeat(float.NaN, n * cout).ToArray();
            var gx = Enumerable.Repeat(float.NaN, x.Length).ToArray();
            var gw = Enumerable.Repeat(float.NaN, wt.Length).ToArray();
            var gb = Enumerable.Repeat(float.NaN, cout).ToArray();
            ConvKernels.Forward(g, x, wt, b, y, threads);
            ConvKernels.Backward(g, gy, x, wt, gx, gw, gb, threads);
            return (y, gx, gw, gb);
        }
        var (y1, gx1, gw1, gb1) = Run(1);
        var r = ConvReference.Run(x, n, c, new[] { 1, 1, 1 }, wt, cout, new[] { 1, 1, 1 }, b, new[] { 1, 1, 1 }, new[] { 0, 0, 0 }, new[] { 1, 1, 1 }, 1, gy);
        ConvReference.AssertClose(y1, r.Y, "y", rtol: 1e-5, atol: 1e-5 * Math.Sqrt(c));
        ConvReference.AssertClose(gx1, r.Gx, "gx", rtol: 1e-5, atol: 1e-5 * Math.Sqrt(cout));
        ConvReference.AssertClose(gw1, r.Gw, "gw", rtol: 1e-5, atol: 1e-5 * Math.Sqrt(n));
        ConvReference.AssertClose(gb1, r.Gb, "gb", rtol: 1e-5, atol: 1e-5 * Math.Sqrt(n));
        var (y3, gx3, gw3, gb3) = Run(3);
        y3.Should().Equal(y1); gx3.Should().Equal(gx1); gw3.Should().Equal(gw1); gb3.Should().Equal(gb1);
    }

    [Theory]
    [InlineData(2, 3, 5, 5, 4, 3, 1, "gemm")]       // im2col, blocks run side by side (a weight-gradient partial each)
    [InlineData(1, 64, 16, 16, 96, 3, 1, "gemm")]   // im2col, one block with its GEMMs split over the cores
    [InlineData(2, 3, 8, 8, 4, 3, 2, "auto")]       // stride 2 through im2col under auto
    [InlineData(3, 8, 16, 16, 8, 3, 1, "implicit")] // the implicit GEMM
    [InlineData(2, 1, 12, 12, 8, 3, 1, "auto")]     // a stem: implicit GEMM for the weights, im2col for the input
    [InlineData(2, 32, 8, 8, 32, 3, 1, "winograd")]
    public void With_frozen_weights_the_input_gradient_alone_matches_a_direct_convolution(int n, int c, int h, int w, int cout, int k, int s, string algorithm)
    {
        // Fine-tuning behind a frozen layer asks for the input gradient without the weight gradient.
        var g = new ConvGeometry(n, c, 1, h, w, cout, 1, 1, k, k, 1, s, s, 0, k / 2, k / 2, 1, 1, 1);
        var rng = new Rng(12);
        float[] x = Tensor.Uniform(rng, -1, 1, n * c * h * w).ToArray();
        float[] wt = Tensor.Uniform(rng, -0.3f, 0.3f, cout * c * k * k).ToArray();
        float[] gy = Tensor.Uniform(rng, -1, 1, n * cout * g.OutSpatial).ToArray();
        var gx = Enumerable.Repeat(float.NaN, x.Length).ToArray();
        ConvKernels.Backward(g, gy, x, wt, gx, null, null, 2, WinogradConv.Parse(algorithm));
        var r = ConvReference.Run(x, n, c, new[] { 1, h, w }, wt, cout, new[] { 1, k, k }, null,
            new[] { 1, s, s }, new[] { 0, k / 2, k / 2 }, new[] { 1, 1, 1 }, 1, gy);
        ConvReference.AssertClose(gx, r.Gx, "gx", rtol: 1e-4, atol: 1e-4 * Math.Sqrt(cout * k * k));
    }
}

/// <summary>A direct, loop-by-loop double-precision convolution used as an independent reference in tests.
/// Shapes are 3-D ([N, C, D, H, W]); 2-D callers pass D = 1 and a depth-1 kernel.</summary>
internal static class ConvReference
{
    internal static int Out(int input, int k, int s, int p, int d) => (input + 2 * p - d * (k - 1) - 1) / s + 1;

    /// <summary>Forward and, given <paramref name="gy"/>, the gradients of Σ y·gy.</summary>
    internal static (double[] Y, double[] Gx, double[] Gw, double[] Gb) Run(
        float[] x, int n, int c, int[] sp, float[] w, int cout, int[] k, float[]? b,
        int[] s, int[] p, int[] d, int groups, float[]? gy)
    {
        int od = Out(sp[0], k[0], s[0], p[0], d[0]), oh = Out(sp[1], k[1], s[1], p[1], d[1]), ow = Out(sp[2], k[2], s[2], p[2], d[2]);
        int cg = c / groups, coutG = cout / groups;
        var y = new double[n * cout * od * oh * ow];
        var gx = new double[x.Length];
        var gw = new double[w.Length];
        var gb = new double[cout];
        int Xi(int ni, int ci, int zi, int yi, int xi) => (((ni * c + ci) * sp[0] + zi) * sp[1] + yi) * sp[2] + xi;
        int Wi(int co, int ci, int a, int bb, int cc) => (((co * cg + ci) * k[0] + a) * k[1] + bb) * k[2] + cc;
        int o = 0;
        for (int ni = 0; ni < n; ni++)
            for (int co = 0; co < cout; co++)
                for (int z = 0; z < od; z++)
                    for (int yy = 0; yy < oh; yy++)
                        for (int xx = 0; xx < ow; xx++, o++)
                        {
                            int gr = co / coutG;
                            double acc = b is null ? 0 : b[co];
                            double g = gy is null ? 0 : gy[o];
                            gb[co] += g;
                            for (int ci = 0; ci < cg; ci++)
                                for (int a = 0; a < k[0]; a++)
                                    for (int bb = 0; bb < k[1]; bb++)
                                        for (int cc = 0; cc < k[2]; cc++)
                                        {
                                            int iz = z * s[0] - p[0] + a * d[0], iy = yy * s[1] - p[1] + bb * d[1], ix = xx * s[2] - p[2] + cc * d[2];
                                            if (iz < 0 || iz >= sp[0] || iy < 0 || iy >= sp[1] || ix < 0 || ix >= sp[2]) continue;
                                            int xi = Xi(ni, gr * cg + ci, iz, iy, ix), wi = Wi(co, ci, a, bb, cc);
                                            acc += (double)x[xi] * w[wi];
                                            gx[xi] += g * w[wi];
                                            gw[wi] += g * x[xi];
                                        }
                            y[o] = acc;
                        }
        return (y, gx, gw, gb);
    }

    /// <summary>Checks the input and weight gradients <paramref name="algorithm"/> computes for L = Σ y·gy against central
    /// differences at 12 random elements of each. L is linear in x and in w, so the difference is exact up to rounding
    /// for any step.</summary>
    internal static void AssertGradientsMatchFiniteDifferences(in ConvGeometry g, float[] x, float[] w, float[]? b, float[] gy, ConvAlgorithm algorithm)
    {
        var geo = g;
        double Loss(float[] xs, float[] ws)
        {
            var y = new float[gy.Length];
            ConvKernels.Forward(geo, xs, ws, b, y, 1, algorithm);
            double l = 0;
            for (int i = 0; i < y.Length; i++) l += (double)y[i] * gy[i];
            return l;
        }
        var gx = new float[x.Length];
        var gw = new float[w.Length];
        ConvKernels.Backward(g, gy, x, w, gx, gw, null, 1, algorithm);
        var rng = new Random(5);
        const float step = 0.25f;
        for (int k = 0; k < 12; k++)
        {
            int i = rng.Next(x.Length);
            float keep = x[i];
            x[i] = keep + step; double up = Loss(x, w);
            x[i] = keep - step; double down = Loss(x, w);
            x[i] = keep;
            ((up - down) / (2 * step)).Should().BeApproximately(gx[i], 2e-3, $"dL/dx[{i}]");
            int j = rng.Next(w.Length);
            keep = w[j];
            w[j] = keep + step; up = Loss(x, w);
            w[j] = keep - step; down = Loss(x, w);
            w[j] = keep;
            ((up - down) / (2 * step)).Should().BeApproximately(gw[j], 2e-3, $"dL/dw[{j}]");
        }
    }

    internal static void AssertClose(ReadOnlySpan<float> actual, double[] expected, string what, double rtol = 1e-4, double atol = 1e-4)
    {
        if (actual.Length != expected.Length) throw new Xunit.Sdk.XunitException($"{what}: {actual.Length} values, expected {expected.Length}.");
        for (int i = 0; i < actual.Length; i++)
        {
            double diff = Math.Abs(actual[i] - expected[i]);
            if (!(diff <= atol + rtol * Math.Abs(expected[i])))
                throw new Xunit.Sdk.XunitException($"{what}: index {i}: got {actual[i]:G9}, expected {expected[i]:G9}.");
        }
    }
}
