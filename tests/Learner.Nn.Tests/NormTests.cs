using Learner.Nn;
using Learner.Nn.Modules;

namespace Learner.Nn.Tests;

/// <summary>The cases of Fixtures/norms.json (generate_norm_fixtures.py), parsed once.</summary>
internal static class NormFixtures
{
    private static readonly Lazy<IReadOnlyList<FixtureCase>> All = new(() => Fixtures.Load("norms.json"));

    internal static FixtureCase Get(string name) => All.Value.Single(c => c.Name == name);

    internal static TheoryData<string> Names(params string[] prefixes)
    {
        var data = new TheoryData<string>();
        foreach (var c in All.Value) if (prefixes.Any(p => c.Name.StartsWith(p, StringComparison.Ordinal))) data.Add(c.Name);
        return data;
    }

    /// <summary>Runs <paramref name="f"/> on the case's inputs (those named in <paramref name="grad"/> require gradients),
    /// back-propagates the case's "gy", and compares y and the gradients with the references.</summary>
    internal static void Verify(FixtureCase c, Func<IReadOnlyDictionary<string, Tensor>, Tensor> f, params string[] grad)
    {
        var inputs = new Dictionary<string, Tensor>();
        foreach (var (name, _) in c.Tensors)
            if (!name.StartsWith('g') && name != "y" && !name.EndsWith("_out", StringComparison.Ordinal))
                inputs[name] = c.Tensor(name);
        foreach (var g in grad) inputs[g].RequireGrad();
        var y = f(inputs);
        y.ShapeArray.Should().Equal(c.Tensors["y"].Shape, $"{c.Name}: output shape");
        Fixtures.AssertClose(y.Data, c.Tensors["y"].Data, $"{c.Name}: y");
        y.Backward(c.Tensor("gy"));
        foreach (var g in grad)
        {
            string refName = g == "x" ? "gx" : "g" + g;
            Fixtures.AssertClose(inputs[g].Grad!.Data, c.Tensors[refName].Data, $"{c.Name}: {refName}");
        }
    }
}

public class NormTests
{
    public static TheoryData<string> NormCases => NormFixtures.Names("batchnorm_", "layernorm_", "groupnorm_", "l2normalize_");

    [Theory]
    [MemberData(nameof(NormCases))]
    public void Forward_and_gradients_match_pytorch(string name)
    {
        var c = NormFixtures.Get(name);
        string op = c.Params.GetProperty("op").GetString()!;
        bool affine = !c.Has("affine") || c.Int("affine") == 1;
        var grads = affine && op != "l2normalize" ? new[] { "x", "weight", "bias" } : new[] { "x" };
        switch (op)
        {
            case "batchnorm":
                Tensor? rm = null, rv = null;
                NormFixtures.Verify(c, t =>
                {
                    rm = t["running_mean"]; rv = t["running_var"];
                    return Ops.BatchNorm(t["x"], affine ? t["weight"] : null, affine ? t["bias"] : null, rm, rv,
                        training: c.Int("training") == 1, momentum: c.Float("momentum"), eps: c.Float("eps"));
                }, grads);
                Fixtures.AssertClose(rm!.Data, c.Tensors["running_mean_out"].Data, $"{name}: running mean");
                Fixtures.AssertClose(rv!.Data, c.Tensors["running_var_out"].Data, $"{name}: running variance");
                break;
            case "layernorm":
                NormFixtures.Verify(c, t => Ops.LayerNorm(t["x"], c.Ints("normalized_shape"), affine ? t["weight"] : null, affine ? t["bias"] : null, c.Float("eps")), grads);
                break;
            case "groupnorm":
                NormFixtures.Verify(c, t => Ops.GroupNorm(t["x"], c.Int("groups"), affine ? t["weight"] : null, affine ? t["bias"] : null, c.Float("eps")), grads);
                break;
            default:
                float eps = c.Has("eps") ? c.Float("eps") : 1e-12f;
                NormFixtures.Verify(c, t => Ops.L2Normalize(t["x"], c.Int("axis"), eps), grads);
                break;
        }
    }

    public static TheoryData<int[]> BatchNormShapes => new()
    {
        new[] { 3, 2 }, new[] { 7, 1 }, new[] { 2, 3, 7 }, new[] { 1, 3, 17 }, new[] { 2, 2, 3, 3 }, new[] { 2, 1, 2, 2, 3 }, new[] { 3, 2, 33 },
    };

    [Theory]
    [MemberData(nameof(BatchNormShapes))]
    public void BatchNorm_gradients_match_finite_differences_in_training_and_evaluation(int[] shape)
    {
        var rng = new Rng(shape.Sum());
        int c = shape[1];
        var x = GradCheck.Param(rng, shape);
        var w = Tensor.Uniform(rng, 0.5f, 1.5f, c).RequireGrad();
        var b = GradCheck.Param(rng, c);
        var rm = Tensor.Uniform(rng, -0.5f, 0.5f, c);
        var rv = Tensor.Uniform(rng, 0.5f, 2f, c);
        foreach (bool training in new[] { true, false })
        {
            GradCheck.Check(t => Ops.BatchNorm(t[0], t[1], t[2], rm, rv, training), new[] { x, w, b });
            GradCheck.Check(t => Ops.BatchNorm(t[0], null, null, rm, rv, training), new[] { x });
        }
    }

    public static TheoryData<int[], int[]> LayerNormShapes => new()
    {
        { new[] { 1 }, new[] { 1 } }, { new[] { 2, 3 }, new[] { 3 } }, { new[] { 3, 7 }, new[] { 7 } }, { new[] { 17 }, new[] { 17 } },
        { new[] { 2, 33 }, new[] { 33 } }, { new[] { 65 }, new[] { 65 } }, { new[] { 2, 3, 5 }, new[] { 3, 5 } },
    };

    [Theory]
    [MemberData(nameof(LayerNormShapes))]
    public void LayerNorm_gradients_match_finite_differences(int[] shape, int[] normalized)
    {
        var rng = new Rng(shape.Sum() + 100);
        var x = GradCheck.Param(rng, shape);
        var w = Tensor.Uniform(rng, 0.5f, 1.5f, normalized).RequireGrad();
        var b = GradCheck.Param(rng, normalized);
        GradCheck.Check(t => Ops.LayerNorm(t[0], normalized, t[1], t[2]), new[] { x, w, b });
        GradCheck.Check(t => Ops.LayerNorm(t[0], normalized, null, t[1]), new[] { x, b });
        GradCheck.Check(t => Ops.LayerNorm(t[0], normalized, t[1], null), new[] { x, w });
    }

    public static TheoryData<int[], int> GroupNormShapes => new()
    {
        { new[] { 2, 4, 3 }, 2 }, { new[] { 1, 6, 5 }, 3 }, { new[] { 2, 3, 7 }, 3 }, { new[] { 2, 4, 2, 3 }, 1 }, { new[] { 1, 2, 17 }, 2 },
        { new[] { 2, 2, 1, 2, 2 }, 2 }, { new[] { 1, 4, 33 }, 2 },
    };

    [Theory]
    [MemberData(nameof(GroupNormShapes))]
    public void GroupNorm_gradients_match_finite_differences(int[] shape, int groups)
    {
        var rng = new Rng(shape.Sum() + groups);
        int c = shape[1];
        var x = GradCheck.Param(rng, shape);
        var w = Tensor.Uniform(rng, 0.5f, 1.5f, c).RequireGrad();
        var b = GradCheck.Param(rng, c);
        GradCheck.Check(t => Ops.GroupNorm(t[0], groups, t[1], t[2]), new[] { x, w, b });
        GradCheck.Check(t => Ops.GroupNorm(t[0], groups, null, null), new[] { x });
    }

    public static TheoryData<int[], int> L2Shapes => new()
    {
        { new[] { 1, 1 }, -1 }, { new[] { 3 }, 0 }, { new[] { 2, 7 }, 1 }, { new[] { 17 }, -1 }, { new[] { 2, 33 }, -1 },
        { new[] { 65 }, 0 }, { new[] { 3, 4, 5 }, 1 }, { new[] { 2, 3, 4 }, 0 },
    };

    [Theory]
    [MemberData(nameof(L2Shapes))]
    public void L2Normalize_gradients_match_finite_differences(int[] shape, int axis)
    {
        var rng = new Rng(shape.Sum() + 7);
        var x = GradCheck.Param(rng, shape);
        GradCheck.Check(t => Ops.L2Normalize(t[0], axis), new[] { x });
        GradCheck.Check(t => t[0].L2Normalize(axis, eps: 0.05f), new[] { Tensor.Uniform(rng, -0.003f, 0.003f, shape).RequireGrad() }, eps: 1e-4f);
    }

    [Fact]
    public void L2Normalize_gives_unit_rows_for_huge_and_tiny_magnitudes_and_zero_for_zero_rows()
    {
        var x = Tensor.FromSpan(new float[] { 3e30f, -4e30f, 3e-30f, 4e-30f, 0, 0 }, 3, 2);
        var y = Ops.L2Normalize(x, eps: 0f);
        y.Data[0].Should().BeApproximately(0.6f, 1e-6f);
        y.Data[1].Should().BeApproximately(-0.8f, 1e-6f);
        y.Data[2].Should().BeApproximately(0.6f, 1e-6f);
        y.Data[3].Should().BeApproximately(0.8f, 1e-6f);
        var z = Ops.L2Normalize(Tensor.Zeros(2, 3));
        z.ToArray().Should().OnlyContain(v => v == 0f);
    }

    /// <summary>Double-precision batch norm (training), written from the definition, as an independent reference.</summary>
    private static (double[] Y, double[] Gx, double[] Gw, double[] Gb) ReferenceBatchNorm(float[] x, float[] w, float[] b, float[] g, int n, int c, int inner, double eps)
    {
        var y = new double[x.Length]; var gx = new double[x.Length]; var gw = new double[c]; var gb = new double[c];
        int m = n * inner;
        for (int ch = 0; ch < c; ch++)
        {
            double mean = 0, v = 0;
            for (int i = 0; i < n; i++) for (int s = 0; s < inner; s++) mean += x[(i * c + ch) * inner + s];
            mean /= m;
            for (int i = 0; i < n; i++) for (int s = 0; s < inner; s++) { double d = x[(i * c + ch) * inner + s] - mean; v += d * d; }
            v /= m;
            double inv = 1 / Math.Sqrt(v + eps), sg = 0, sgx = 0;
            for (int i = 0; i < n; i++)
                for (int s = 0; s < inner; s++)
                {
                    int k = (i * c + ch) * inner + s;
                    double xh = (x[k] - mean) * inv;
                    y[k] = xh * w[ch] + b[ch];
                    sg += g[k]; sgx += g[k] * xh;
                }
            gw[ch] = sgx; gb[ch] = sg;
            for (int i = 0; i < n; i++)
                for (int s = 0; s < inner; s++)
                {
                    int k = (i * c + ch) * inner + s;
                    double xh = (x[k] - mean) * inv;
                    gx[k] = w[ch] * inv * (g[k] - sg / m - xh * sgx / m);
                }
        }
        return (y, gx, gw, gb);
    }

    private static void AssertClose(ReadOnlySpan<float> actual, double[] expected, string what, double rtol = 1e-4, double atol = 1e-5)
    {
        var e = expected.Select(v => (float)v).ToArray();
        Fixtures.AssertClose(actual, e, what, rtol, atol);
    }

    [Theory]
    [InlineData(8, 48, 16 * 16)]   // large: the parallel path over channels
    [InlineData(600, 130, 1)]      // [N, C]: the row-sweep path
    [InlineData(3, 5, 1000)]
    [InlineData(1000, 64, 3)]      // many chunks shorter than a vector: the padded-tail path, 64 000 times per pass
    public void BatchNorm_matches_a_double_precision_reference_on_large_inputs(int n, int c, int inner)
    {
        var rng = new Rng(n + c + inner);
        var shape = inner == 1 ? new[] { n, c } : new[] { n, c, inner };
        var x = Tensor.Normal(rng, 3f, 2f, shape).RequireGrad();
        var w = Tensor.Uniform(rng, 0.5f, 1.5f, c).RequireGrad();
        var b = Tensor.Uniform(rng, -1f, 1f, c).RequireGrad();
        var g = Tensor.Uniform(rng, -1f, 1f, shape);
        var y = Ops.BatchNorm(x, w, b, Tensor.Zeros(c), Tensor.Ones(c), training: true);
        y.Backward(g);
        var r = ReferenceBatchNorm(x.ToArray(), w.ToArray(), b.ToArray(), g.ToArray(), n, c, inner, 1e-5);
        AssertClose(y.Data, r.Y, "y");
        AssertClose(x.Grad!.Data, r.Gx, "gx", atol: 1e-5);
        AssertClose(w.Grad!.Data, r.Gw, "gw", rtol: 2e-4, atol: 1e-3);
        AssertClose(b.Grad!.Data, r.Gb, "gb", rtol: 2e-4, atol: 1e-3);
    }

    [Fact]
    public void LayerNorm_statistics_stay_accurate_for_a_large_offset()
    {
        // Values 1e4 + noise of size 1: a one-pass float variance would lose most digits.
        var rng = new Rng(5);
        var x = Tensor.Uniform(rng, -1f, 1f, 4, 257);
        var d = x.Data;
        for (int i = 0; i < d.Length; i++) d[i] += 1e4f;
        var y = Ops.LayerNorm(x, new[] { 257 }, null, null);
        for (int r = 0; r < 4; r++)
        {
            double mean = 0, v = 0;
            for (int j = 0; j < 257; j++) mean += d[r * 257 + j];
            mean /= 257;
            for (int j = 0; j < 257; j++) v += Math.Pow(d[r * 257 + j] - mean, 2);
            double inv = 1 / Math.Sqrt(v / 257 + 1e-5);
            for (int j = 0; j < 257; j++)
                y.Data[r * 257 + j].Should().BeApproximately((float)((d[r * 257 + j] - mean) * inv), 2e-4f);
        }
    }

    [Fact]
    public void LayerNorm_parallel_rows_equal_the_rows_computed_separately()
    {
        var rng = new Rng(8);
        var x = Tensor.Normal(rng, 0f, 1f, 512, 200).RequireGrad();
        var w = Tensor.Uniform(rng, 0.5f, 1.5f, 200).RequireGrad();
        var b = Tensor.Uniform(rng, -1f, 1f, 200).RequireGrad();
        var g = Tensor.Uniform(rng, -1f, 1f, 512, 200);
        var y = Ops.LayerNorm(x, new[] { 200 }, w, b);
        y.Backward(g);
        var gwTotal = new double[200];
        for (int r = 0; r < 512; r += 128)
        {
            var xs = Tensor.FromSpan(x.Data.Slice(r * 200, 128 * 200), 128, 200).RequireGrad();
            var ws = w.Clone().RequireGrad();
            var ys = Ops.LayerNorm(xs, new[] { 200 }, ws, b.Clone());
            ys.Backward(Tensor.FromSpan(g.Data.Slice(r * 200, 128 * 200), 128, 200));
            Fixtures.AssertClose(y.Data.Slice(r * 200, 128 * 200), ys.Data, "y block", 1e-6, 1e-6);
            Fixtures.AssertClose(x.Grad!.Data.Slice(r * 200, 128 * 200), xs.Grad!.Data, "gx block", 1e-6, 1e-6);
            for (int j = 0; j < 200; j++) gwTotal[j] += ws.Grad!.Data[j];
        }
        AssertClose(w.Grad!.Data, gwTotal, "gw", 1e-5, 1e-4);
    }

    [Fact]
    public void GroupNorm_with_one_group_per_channel_is_instance_norm_and_with_one_group_is_layer_norm_over_channels()
    {
        var rng = new Rng(12);
        var x = Tensor.Normal(rng, 1f, 2f, 2, 6, 5, 5);
        var gnAll = Ops.GroupNorm(x, 1, null, null);
        var ln = Ops.LayerNorm(x, new[] { 6, 5, 5 }, null, null);
        Fixtures.AssertClose(gnAll.Data, ln.Data, "GroupNorm(1) vs LayerNorm", 1e-5, 1e-5);
        var gnEach = Ops.GroupNorm(x, 6, null, null);
        var inst = Ops.LayerNorm(x.Reshape(2, 6, 25), new[] { 25 }, null, null);
        Fixtures.AssertClose(gnEach.Data, inst.Data, "GroupNorm(C) vs per-channel LayerNorm", 1e-5, 1e-5);
    }

    [Fact]
    public void BatchNorm_updates_running_statistics_with_the_unbiased_variance_only_in_training()
    {
        var x = Tensor.FromSpan(new float[] { 1, 10, 3, 20, 5, 60 }, 3, 2); // channel 0: 1,3,5; channel 1: 10,20,60
        var rm = Tensor.Zeros(2); var rv = Tensor.Ones(2);
        Ops.BatchNorm(x, null, null, rm, rv, training: true, momentum: 0.5f);
        rm.ToArray().Should().Equal(1.5f, 15f);               // 0.5·0 + 0.5·mean
        rv.Data[0].Should().BeApproximately(0.5f + 0.5f * 4f, 1e-5f);       // unbiased var of 1,3,5 = 4
        rv.Data[1].Should().BeApproximately(0.5f + 0.5f * 700f, 1e-3f);     // unbiased var of 10,20,60 = 700
        var before = (rm.ToArray(), rv.ToArray());
        var y = Ops.BatchNorm(x, null, null, rm, rv, training: false);
        rm.ToArray().Should().Equal(before.Item1);
        rv.ToArray().Should().Equal(before.Item2);
        y.Data[0].Should().BeApproximately((float)((1 - 1.5) / Math.Sqrt(2.5 + 1e-5)), 1e-6f);
    }

    [Fact]
    public void BatchNorm_module_has_pytorch_names_and_tracks_batches()
    {
        var bn = new BatchNorm2d(3);
        bn.NamedParameters().Select(p => p.Key).Should().Equal("weight", "bias");
        bn.NamedBuffers().Select(p => p.Key).Should().Equal("running_mean", "running_var", "num_batches_tracked");
        bn.NumBatchesTracked!.Rank.Should().Be(0);
        bn.ParameterCount.Should().Be(6);
        var rng = new Rng(1);
        var x = Tensor.Normal(rng, 2f, 1f, 4, 3, 5, 5);
        bn.Forward(x);
        bn.Forward(x);
        bn.NumBatchesTracked.Item().Should().Be(2f);
        bn.Eval();
        var y = bn.Forward(x);
        bn.NumBatchesTracked.Item().Should().Be(2f);
        // eval uses the running statistics: (x − rm)/√(rv + eps)
        float expected = (x[0, 1, 2, 3] - bn.RunningMean!.Data[1]) / MathF.Sqrt(bn.RunningVar!.Data[1] + 1e-5f);
        y[0, 1, 2, 3].Should().BeApproximately(expected, 1e-5f);
    }

    [Fact]
    public void BatchNorm_module_without_momentum_keeps_a_cumulative_average()
    {
        var bn = new BatchNorm1d(1, momentum: null);
        bn.Forward(Tensor.FromSpan(new float[] { 1, 3 }, 2, 1));   // mean 2
        bn.Forward(Tensor.FromSpan(new float[] { 5, 7 }, 2, 1));   // mean 6
        bn.Forward(Tensor.FromSpan(new float[] { 9, 11 }, 2, 1));  // mean 10
        bn.RunningMean!.Item().Should().BeApproximately(6f, 1e-5f);
        bn.RunningVar!.Item().Should().BeApproximately(2f, 1e-5f); // each batch's unbiased variance is 2
    }

    [Fact]
    public void BatchNorm_module_without_running_statistics_uses_batch_statistics_in_eval()
    {
        var bn = new BatchNorm1d(2, affine: false, trackRunningStats: false);
        bn.ParameterCount.Should().Be(0);
        bn.NamedBuffers().Should().BeEmpty();
        bn.Eval();
        var y = bn.Forward(Tensor.FromSpan(new float[] { 1, 2, 3, 4 }, 2, 2));
        y.Data[0].Should().BeApproximately(-1f, 1e-4f);
        y.Data[2].Should().BeApproximately(1f, 1e-4f);
    }

    [Fact]
    public void LayerNorm_and_GroupNorm_modules_register_weight_and_bias()
    {
        var ln = new LayerNorm(new[] { 3, 4 });
        ln.NamedParameters().Select(p => (p.Key, string.Join('x', p.Value.ShapeArray))).Should().Equal(("weight", "3x4"), ("bias", "3x4"));
        ln.Forward(Tensor.Ones(2, 3, 4)).ShapeArray.Should().Equal(2, 3, 4);
        new LayerNorm(8, elementwiseAffine: false).ParameterCount.Should().Be(0);
        var gn = new GroupNorm(2, 4);
        gn.ParameterCount.Should().Be(8);
        gn.Forward(Tensor.Ones(1, 4, 3)).ShapeArray.Should().Equal(1, 4, 3);
    }

    [Fact]
    public void Flatten_and_Identity_modules_reshape_and_pass_through()
    {
        var x = Tensor.Arange(120).Reshape(2, 3, 4, 5).RequireGrad();
        new Flatten().Forward(x).ShapeArray.Should().Equal(2, 60);
        new Flatten(1, 2).Forward(x).ShapeArray.Should().Equal(2, 12, 5);
        new Flatten(0).Forward(x).ShapeArray.Should().Equal(120);
        new Identity().Forward(x).Should().BeSameAs(x);
        var y = new Flatten().Forward(x);
        y.Sum().Backward();
        x.Grad!.ToArray().Should().OnlyContain(v => v == 1f);
        var bad = () => new Flatten(2, 1).Forward(x);
        bad.Should().Throw<ShapeMismatchException>().WithMessage("*start axis 2*end axis 1*");
    }

    [Fact]
    public void Bad_inputs_name_the_offending_shape_or_value()
    {
        var x = Tensor.Zeros(4, 3, 5);
        FluentActions.Invoking(() => Ops.BatchNorm(Tensor.Zeros(5), null, null, Tensor.Zeros(5), Tensor.Ones(5), true))
            .Should().Throw<ShapeMismatchException>().WithMessage("*rank ≥ 2*[5]*");
        FluentActions.Invoking(() => Ops.BatchNorm(x, Tensor.Ones(4), null, Tensor.Zeros(3), Tensor.Ones(3), true))
            .Should().Throw<ShapeMismatchException>().WithMessage("*weight must have shape [3]*[4, 3, 5]*got [4]*");
        FluentActions.Invoking(() => Ops.BatchNorm(x, null, null, Tensor.Zeros(2), Tensor.Ones(3), false))
            .Should().Throw<ShapeMismatchException>().WithMessage("*running mean*[3]*got [2]*");
        FluentActions.Invoking(() => Ops.BatchNorm(Tensor.Zeros(1, 3), null, null, Tensor.Zeros(3), Tensor.Ones(3), true))
            .Should().Throw<ShapeMismatchException>().WithMessage("*more than 1 value per channel*[1, 3]*");
        FluentActions.Invoking(() => Ops.BatchNorm(x, null, null, Tensor.Zeros(3), Tensor.Ones(3), true, momentum: 1.5f))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*momentum*1.5*");
        FluentActions.Invoking(() => Ops.LayerNorm(x, new[] { 3, 4 }, null, null))
            .Should().Throw<ShapeMismatchException>().WithMessage("*[4, 3, 5]*[3, 4]*");
        FluentActions.Invoking(() => Ops.LayerNorm(x, new[] { 5 }, Tensor.Ones(4), null))
            .Should().Throw<ShapeMismatchException>().WithMessage("*weight*[5]*got [4]*");
        FluentActions.Invoking(() => Ops.LayerNorm(x, new[] { 5 }, null, null, eps: -1f))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*eps*-1*");
        FluentActions.Invoking(() => Ops.GroupNorm(x, 2, null, null))
            .Should().Throw<ShapeMismatchException>().WithMessage("*3 channels*[4, 3, 5]*2 groups*");
        FluentActions.Invoking(() => Ops.GroupNorm(x, 0, null, null))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*groups*0*");
        FluentActions.Invoking(() => new BatchNorm2d(3).Forward(x))
            .Should().Throw<ShapeMismatchException>().WithMessage("*BatchNorm2d*4-D*[4, 3, 5]*");
        FluentActions.Invoking(() => new BatchNorm1d(4).Forward(x))
            .Should().Throw<ShapeMismatchException>().WithMessage("*[4, 3, 5]*3 channels*expected 4*");
        FluentActions.Invoking(() => new GroupNorm(2, 6).Forward(x))
            .Should().Throw<ShapeMismatchException>().WithMessage("*[N, 6, …]*[4, 3, 5]*");
        FluentActions.Invoking(() => new GroupNorm(4, 6)).Should().Throw<ArgumentException>().WithMessage("*6 channels*4 groups*");
        FluentActions.Invoking(() => Ops.L2Normalize(Tensor.Scalar(1f))).Should().Throw<ShapeMismatchException>().WithMessage("*scalar*");
        FluentActions.Invoking(() => Ops.L2Normalize(x, axis: 3)).Should().Throw<ShapeMismatchException>().WithMessage("*axis 3*rank 3*");
    }
}
