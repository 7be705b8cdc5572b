using Learner.Nn;
using Learner.Nn.Modules;

namespace Learner.Nn.Tests;

public class PoolTests
{
    /// <summary>Distinct values spaced far more than the finite-difference step apart, so no window has a near tie.</summary>
    private static Tensor DistinctParam(int seed, params int[] shape)
    {
        var t = Tensor.Empty(shape);
        var order = Enumerable.Range(0, t.Size).ToArray();
        new Rng(seed).Shuffle<int>(order);
        var d = t.Data;
        for (int i = 0; i < d.Length; i++) d[i] = (order[i] - t.Size / 2) * 0.05f;
        return t.RequireGrad();
    }

    // kernel (h, w), stride (h, w), padding (h, w), input (n, c, h, w)
    public static TheoryData<int[]> Pool2dConfigs => new()
    {
        new[] { 2, 2, 2, 2, 0, 0, 1, 2, 4, 5 },
        new[] { 3, 3, 2, 2, 1, 1, 2, 1, 7, 6 },
        new[] { 3, 3, 1, 1, 1, 1, 1, 2, 5, 5 },
        new[] { 2, 3, 1, 2, 1, 1, 1, 1, 5, 7 },
        new[] { 1, 1, 1, 1, 0, 0, 1, 1, 3, 3 },
        new[] { 3, 1, 3, 1, 0, 0, 1, 3, 3, 1 },
    };

    [Theory]
    [MemberData(nameof(Pool2dConfigs))]
    public void Pool2d_gradients_match_finite_differences(int[] c)
    {
        var x = DistinctParam(c.Sum(), c[6], c[7], c[8], c[9]);
        GradCheck.Check(t => Ops.MaxPool2d(t[0], (c[0], c[1]), (c[2], c[3]), (c[4], c[5])), new[] { x });
        GradCheck.Check(t => Ops.AvgPool2d(t[0], (c[0], c[1]), (c[2], c[3]), (c[4], c[5])), new[] { x });
    }

    [Theory]
    [InlineData(2, 2, 0)]
    [InlineData(3, 2, 1)]
    [InlineData(3, 1, 1)]
    public void Pool3d_gradients_match_finite_differences(int k, int s, int p)
    {
        var x = DistinctParam(k * 10 + s, 1, 2, 4, 3, 5);
        GradCheck.Check(t => Ops.MaxPool3d(t[0], k, s, p), new[] { x });
        GradCheck.Check(t => Ops.AvgPool3d(t[0], k, s, p), new[] { x });
    }

    [Theory]
    [InlineData(7, 5, 3, 2)]
    [InlineData(3, 4, 5, 6)]
    [InlineData(4, 4, 1, 1)]
    [InlineData(1, 1, 2, 3)]
    [InlineData(5, 5, 5, 5)]
    public void AdaptiveAvgPool_gradients_match_finite_differences(int h, int w, int oh, int ow)
    {
        var rng = new Rng(h * 100 + w * 10 + oh);
        var x = GradCheck.Param(rng, 2, 2, h, w);
        GradCheck.Check(t => Ops.AdaptiveAvgPool2d(t[0], oh, ow), new[] { x });
        var x3 = GradCheck.Param(rng, 1, 2, 3, h, w);
        GradCheck.Check(t => Ops.AdaptiveAvgPool3d(t[0], 2, oh, ow), new[] { x3 });
    }

    [Fact]
    public void GlobalAvgPool_is_the_spatial_mean_and_has_its_gradient()
    {
        var rng = new Rng(8);
        var x = GradCheck.Param(rng, 3, 4, 5, 3);
        var y = Ops.GlobalAvgPool(x);
        y.ShapeArray.Should().Equal(3, 4);
        Fixtures.AssertClose(y.Data, Ops.Mean(x, new[] { 2, 3 }).Data, "mean", 1e-6, 1e-7);
        Fixtures.AssertClose(y.Data, Ops.AdaptiveAvgPool2d(x, 1, 1).Data, "adaptive", 1e-6, 1e-7);
        GradCheck.Check(t => Ops.GlobalAvgPool(t[0]), new[] { x });
        var x3 = GradCheck.Param(rng, 2, 3, 2, 3, 2);
        GradCheck.Check(t => Ops.GlobalAvgPool(t[0]), new[] { x3 });
        Ops.GlobalAvgPool(GradCheck.Param(rng, 2, 3, 7)).ShapeArray.Should().Equal(2, 3);
    }

    [Fact]
    public void Pool_fixtures_match_pytorch()
    {
        int count = 0;
        foreach (var fc in Fixtures.Load("conv.json"))
        {
            string op = fc.Params.GetProperty("op").GetString()!;
            if (!op.Contains("pool")) continue;
            count++;
            var x = fc.Tensor("x").RequireGrad();
            Tensor y;
            if (op.StartsWith("adaptive"))
            {
                int[] o = fc.Ints("output_size");
                y = op.EndsWith("2d") ? Ops.AdaptiveAvgPool2d(x, o[0], o[1]) : Ops.AdaptiveAvgPool3d(x, o[0], o[1], o[2]);
            }
            else
            {
                int[] k = fc.Ints("kernel_size"), s = fc.Ints("stride"), p = fc.Ints("padding");
                y = op switch
                {
                    "max_pool2d" => Ops.MaxPool2d(x, (k[0], k[1]), (s[0], s[1]), (p[0], p[1])),
                    "avg_pool2d" => Ops.AvgPool2d(x, (k[0], k[1]), (s[0], s[1]), (p[0], p[1])),
                    "max_pool3d" => Ops.MaxPool3d(x, (k[0], k[1], k[2]), (s[0], s[1], s[2]), (p[0], p[1], p[2])),
                    "avg_pool3d" => Ops.AvgPool3d(x, (k[0], k[1], k[2]), (s[0], s[1], s[2]), (p[0], p[1], p[2])),
                    _ => throw new InvalidOperationException(op),
                };
            }
            y.ShapeArray.Should().Equal(fc.Tensors["y"].Shape, fc.Name);
            Fixtures.AssertClose(y.Data, fc.Tensors["y"].Data, $"{fc.Name} y");
            y.Backward(fc.Tensor("gy"));
            Fixtures.AssertClose(x.Grad!.Data, fc.Tensors["gx"].Data, $"{fc.Name} gx");
        }
        count.Should().BeGreaterThanOrEqualTo(19);
    }

    [Fact]
    public void Parallel_pooling_of_many_planes_matches_single_plane_pooling()
    {
        var rng = new Rng(21);
        var x = Tensor.Uniform(rng, -1, 1, 4, 8, 32, 32).RequireGrad();
        var gy = Tensor.Uniform(rng, -1, 1, 4, 8, 16, 16);
        foreach (bool max in new[] { true, false })
        {
            x.Grad = null;
            var y = max ? Ops.MaxPool2d(x, 3, 2, 1) : Ops.AvgPool2d(x, 3, 2, 1);
            y.Backward(gy);
            var gAll = x.Grad!.ToArray();
            for (int i = 0; i < 4; i++)
            {
                var xi = Ops.Slice(x.Detach(), 0, i, 1).RequireGrad();
                var yi = max ? Ops.MaxPool2d(xi, 3, 2, 1) : Ops.AvgPool2d(xi, 3, 2, 1);
                yi.Backward(Ops.Slice(gy, 0, i, 1));
                yi.ToArray().Should().Equal(y.ToArray().Skip(i * yi.Size).Take(yi.Size));
                xi.Grad!.ToArray().Should().Equal(gAll.Skip(i * xi.Size).Take(xi.Size));
            }
        }
    }

    [Theory]
    [InlineData(7, 9)]     // odd sizes: the last row and column are outside every window; 4 outputs a row (128-bit rung)
    [InlineData(4, 2)]     // one output a row (scalar only)
    [InlineData(6, 16)]    // 8 a row (256-bit rung)
    [InlineData(5, 30)]    // 15 a row: 256 + 128 + 3 scalar
    [InlineData(8, 32)]    // 16 a row (512-bit rung)
    [InlineData(3, 71)]    // 35 a row: 512 × 2 + scalar, odd width
    [InlineData(10, 126)]  // 63 a row: every rung
    public void The_2x2_stride_2_fast_path_chooses_values_and_arg_max_as_the_documented_rule(int h, int w)
    {
        // Ties, signed zeros, −∞ and NaNs: the value and the arg-max must be the first maximum scanning top-left,
        // top-right, bottom-left, bottom-right, a NaN winning — bit for bit, on every vector rung and the scalar tail.
        float[] pool = { -0f, 0f, 1f, 1f, float.NegativeInfinity, float.NaN, 2f, -3f };
        var rng = new Rng(11);
        int n = 3, c = 2, oh = h / 2, ow = w / 2;
        var x = Tensor.Empty(n, c, h, w);
        for (int i = 0; i < x.Size; i++) x.Data[i] = pool[rng.NextInt(pool.Length)];
        x.RequireGrad();
        var gy = Tensor.Empty(n, c, oh, ow);
        for (int i = 0; i < gy.Size; i++) gy.Data[i] = i + 1;
        var y = Ops.MaxPool2d(x, 2, 2, 0);
        y.Backward(gy);

        var (expectY, expectGx) = ScalarMaxPool(x.ToArray(), gy.ToArray(), n * c, h, w, 2, 2, 2, 2, 0, 0);
        y.ToArray().Select(BitConverter.SingleToInt32Bits).Should().Equal(expectY.Select(BitConverter.SingleToInt32Bits));
        x.Grad!.ToArray().Select(BitConverter.SingleToInt32Bits).Should().Equal(expectGx.Select(BitConverter.SingleToInt32Bits));
    }

    [Theory]
    [InlineData(16, 16, 3, 3, 2, 2, 1, 1)]   // ResNet's pool after the ImageNet stem: 8 outputs a row
    [InlineData(13, 16, 3, 3, 2, 2, 1, 1)]   // rows 16 wide at stride 2 (AVX-512 permutes), an odd number of output rows
    [InlineData(9, 16, 4, 4, 3, 2, 1, 1)]    // the same kernel with a 4×4 window, stride 3 down the plane
    [InlineData(17, 13, 3, 3, 2, 2, 1, 1)]   // odd planes: 7 outputs a row, a padded last lane
    [InlineData(9, 40, 3, 3, 1, 1, 1, 1)]    // stride 1 (the forward has its own row kernel; the backward is this one)
    [InlineData(11, 23, 5, 5, 3, 3, 2, 2)]   // 5×5 stride 3
    [InlineData(8, 9, 2, 3, 2, 1, 1, 0)]     // a 2×3 window, strides 2 and 1, padding on one axis
    [InlineData(6, 40, 2, 2, 2, 2, 1, 1)]    // 2×2 stride 2 padded (not the unpadded fast path): 21 outputs a row
    [InlineData(5, 5, 1, 1, 2, 2, 0, 0)]     // 1×1 stride 2: a plain subsample
    [InlineData(3, 1100, 3, 3, 1, 1, 1, 1)]  // rows wider than the vector window kernel takes (MaxRow): the fallback keeps the rule
    [InlineData(4, 2070, 2, 3, 2, 2, 0, 1)]  // the same at stride 2
    public void Windowed_max_pooling_chooses_values_and_arg_max_as_the_documented_rule(int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        // The first maximum in scan order (rows of the window top to bottom, each left to right), a NaN winning, the
        // arg-max starting at the window's first position inside the plane — bit for bit.
        float[] pool = { -0f, 0f, 1f, 1f, float.NegativeInfinity, float.NaN, 2f, -3f };
        var rng = new Rng(13);
        int n = 2, c = 3;
        var x = Tensor.Empty(n, c, h, w);
        for (int i = 0; i < x.Size; i++) x.Data[i] = pool[rng.NextInt(pool.Length)];
        x.RequireGrad();
        var y = Ops.MaxPool2d(x, (kh, kw), (sh, sw), (ph, pw));
        int oh = y.Shape[2], ow = y.Shape[3];
        var gy = Tensor.Empty(n, c, oh, ow);
        for (int i = 0; i < gy.Size; i++) gy.Data[i] = i + 1;
        y.Backward(gy);

        var (expectY, expectGx) = ScalarMaxPool(x.ToArray(), gy.ToArray(), n * c, h, w, kh, kw, sh, sw, ph, pw);
        y.ToArray().Select(BitConverter.SingleToInt32Bits).Should().Equal(expectY.Select(BitConverter.SingleToInt32Bits));
        x.Grad!.ToArray().Select(BitConverter.SingleToInt32Bits).Should().Equal(expectGx.Select(BitConverter.SingleToInt32Bits));
    }

    [Theory]
    [InlineData(16, 16, 3, 3, 2, 2, 1, 1)]   // rows 16 wide at stride 2 (AVX-512 permutes)
    [InlineData(13, 16, 3, 3, 2, 2, 1, 1)]   // the same, an odd number of output rows
    [InlineData(16, 10, 3, 3, 2, 2, 1, 1)]   // narrow outputs, whole planes (gathers)
    [InlineData(9, 40, 3, 3, 2, 2, 1, 1)]    // the row kernel
    public void A_window_of_minus_infinity_sends_its_gradient_to_its_first_position_inside_the_plane(int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        // Every value −∞: no tap is ever taken, so only the starting arg-max decides where the gradient goes.
        var x = Tensor.Empty(2, 1, h, w);
        x.Data.Fill(float.NegativeInfinity);
        x.RequireGrad();
        var y = Ops.MaxPool2d(x, (kh, kw), (sh, sw), (ph, pw));
        var gy = Tensor.Empty(y.ShapeArray);
        for (int i = 0; i < gy.Size; i++) gy.Data[i] = i + 1;
        y.Backward(gy);
        var (expectY, expectGx) = ScalarMaxPool(x.ToArray(), gy.ToArray(), 2, h, w, kh, kw, sh, sw, ph, pw);
        y.ToArray().Should().Equal(expectY);
        x.Grad!.ToArray().Should().Equal(expectGx);
    }

    /// <summary>The documented rule, element by element: each window scanned row by row, a value replacing the running
    /// maximum when greater or NaN, the arg-max starting at the window's first position inside the plane; the output
    /// gradient added at the arg-max, outputs in order.</summary>
    private static (float[] Y, float[] Gx) ScalarMaxPool(float[] x, float[] gy, int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
    {
        int oh = (h + 2 * ph - kh) / sh + 1, ow = (w + 2 * pw - kw) / sw + 1;
        var y = new float[planes * oh * ow];
        var gx = new float[x.Length];
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int h0 = Math.Max(i * sh - ph, 0), h1 = Math.Min(i * sh - ph + kh, h), w0 = Math.Max(j * sw - pw, 0), w1 = Math.Min(j * sw - pw + kw, w);
                    float m = float.NegativeInfinity; int arg = p * h * w + h0 * w + w0;
                    for (int a = h0; a < h1; a++)
                        for (int b = w0; b < w1; b++)
                        {
                            int at = p * h * w + a * w + b;
                            float v = x[at];
                            if (v > m || float.IsNaN(v)) { m = v; arg = at; }
                        }
                    int o = (p * oh + i) * ow + j;
                    y[o] = m;
                    gx[arg] += gy[o];
                }
        return (y, gx);
    }

    [Fact]
    public void Max_pooling_propagates_nan_and_ignores_padding()
    {
        var x = Tensor.FromSpan(new float[] { -5, -6, float.NaN, -7 }, 1, 1, 2, 2);
        var y = Ops.MaxPool2d(x, 2, 1, 1);
        y.ShapeArray.Should().Equal(1, 1, 3, 3);
        y.ToArray().Should().Equal(-5, -5, -6, float.NaN, float.NaN, -6, float.NaN, float.NaN, -7);
        // Stride 2 uses the scalar path; it must agree.
        Ops.MaxPool2d(x, 2, 2, 1).ToArray().Should().Equal(-5, -6, float.NaN, -7);
        var avg = Ops.AvgPool2d(Tensor.Ones(1, 1, 2, 2), 2, 1, 1);
        avg.ToArray().Should().Equal(0.25f, 0.5f, 0.25f, 0.5f, 1f, 0.5f, 0.25f, 0.5f, 0.25f);
    }

    [Fact]
    public void Bad_pooling_inputs_name_the_shapes_and_values()
    {
        var x = Tensor.Zeros(1, 2, 4, 4);
        Invoking(() => Ops.MaxPool2d(Tensor.Zeros(2, 4, 4), 2)).Should().Throw<ShapeMismatchException>().WithMessage("*[N, C, H, W]*[2, 4, 4]*");
        Invoking(() => Ops.MaxPool2d(x, 5)).Should().Throw<ShapeMismatchException>().WithMessage("*window along H (size 5) is larger than the padded input (4 + 2·0 = 4)*");
        Invoking(() => Ops.AvgPool2d(x, 2, 2, 2)).Should().Throw<ShapeMismatchException>().WithMessage("*padding along H*half the kernel size*got 2*");
        Invoking(() => Ops.AvgPool2d(x, 0)).Should().Throw<ShapeMismatchException>().WithMessage("*kernel size along H must be ≥ 1, got 0*");
        Invoking(() => Ops.MaxPool2d(x, 2, 0)).Should().Throw<ShapeMismatchException>().WithMessage("*stride along H must be ≥ 1, got 0*");
        Invoking(() => Ops.MaxPool3d(x, 2)).Should().Throw<ShapeMismatchException>().WithMessage("*[N, C, D, H, W]*[1, 2, 4, 4]*");
        Invoking(() => Ops.AvgPool3d(Tensor.Zeros(1, 1, 1, 4, 4), 2)).Should().Throw<ShapeMismatchException>().WithMessage("*along D (size 2)*");
        Invoking(() => Ops.AdaptiveAvgPool2d(x, 0, 2)).Should().Throw<ShapeMismatchException>().WithMessage("*output size along H must be ≥ 1, got 0*");
        Invoking(() => Ops.AdaptiveAvgPool3d(x, 1, 1, 1)).Should().Throw<ShapeMismatchException>().WithMessage("*[1, 2, 4, 4]*");
        Invoking(() => Ops.GlobalAvgPool(Tensor.Zeros(2, 3))).Should().Throw<ShapeMismatchException>().WithMessage("*rank ≥ 3*[2, 3]*");
        Invoking(() => Ops.GlobalAvgPool(Tensor.Zeros(2, 3, 0))).Should().Throw<ShapeMismatchException>().WithMessage("*[2, 3, 0]*empty*");
    }

    private static Action Invoking(Func<Tensor> f) => () => f();

    [Fact]
    public void Pool_modules_apply_their_ops()
    {
        var x = Tensor.Uniform(new Rng(2), -1, 1, 2, 3, 6, 6);
        var x3 = Tensor.Uniform(new Rng(3), -1, 1, 1, 2, 4, 4, 4);
        new MaxPool2d(3, 2, 1).Forward(x).ToArray().Should().Equal(Ops.MaxPool2d(x, 3, 2, 1).ToArray());
        new AvgPool2d(2).Forward(x).ShapeArray.Should().Equal(2, 3, 3, 3);
        new AvgPool2d(2).Forward(x).ToArray().Should().Equal(Ops.AvgPool2d(x, 2, 2).ToArray());
        new MaxPool3d(2).Forward(x3).ToArray().Should().Equal(Ops.MaxPool3d(x3, 2).ToArray());
        new AvgPool3d(3, 1, 1).Forward(x3).ToArray().Should().Equal(Ops.AvgPool3d(x3, 3, 1, 1).ToArray());
        new AdaptiveAvgPool2d(2, 3).Forward(x).ShapeArray.Should().Equal(2, 3, 2, 3);
        new AdaptiveAvgPool3d(1, 2, 2).Forward(x3).ShapeArray.Should().Equal(1, 2, 1, 2, 2);
        new GlobalAvgPool().Forward(x).ShapeArray.Should().Equal(2, 3);
        new MaxPool2d(2).ParameterCount.Should().Be(0);
    }
}
