using Learner.Nn;

namespace Learner.Nn.Tests;

public class SoftmaxTests
{
    public static TheoryData<string> SoftmaxCases => NormFixtures.Names("softmax_", "log_softmax_", "logsumexp_");

    [Theory]
    [MemberData(nameof(SoftmaxCases))]
    public void Forward_and_gradients_match_pytorch(string name)
    {
        var c = NormFixtures.Get(name);
        string op = c.Params.GetProperty("op").GetString()!;
        int axis = c.Int("axis");
        NormFixtures.Verify(c, t => op switch
        {
            "softmax" => Ops.Softmax(t["x"], axis),
            "log_softmax" => Ops.LogSoftmax(t["x"], axis),
            "logsumexp" => Ops.LogSumExp(t["x"], axis),
            _ => Ops.LogSumExp(t["x"], axis, keepDims: true),
        }, "x");
    }

    public static TheoryData<int[], int> Shapes => new()
    {
        { new[] { 1 }, 0 }, { new[] { 3 }, -1 }, { new[] { 2, 7 }, -1 }, { new[] { 3, 17 }, 1 }, { new[] { 2, 33 }, -1 },
        { new[] { 65 }, 0 }, { new[] { 3, 4, 5 }, 1 }, { new[] { 2, 3, 4 }, 0 }, { new[] { 5, 1 }, 0 }, { new[] { 1, 3, 7 }, -2 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Gradients_match_finite_differences(int[] shape, int axis)
    {
        var rng = new Rng(shape.Sum() * 10 + axis + 3);
        var x = Tensor.Uniform(rng, -3f, 3f, shape).RequireGrad();
        GradCheck.Check(t => Ops.Softmax(t[0], axis), new[] { x });
        GradCheck.Check(t => Ops.LogSoftmax(t[0], axis), new[] { x });
        GradCheck.Check(t => Ops.LogSumExp(t[0], axis), new[] { x });
        GradCheck.Check(t => Ops.LogSumExp(t[0], axis, keepDims: true), new[] { x });
    }

    [Fact]
    public void Huge_magnitudes_give_no_NaN()
    {
        var x = Tensor.FromSpan(new float[] { 1e30f, -1e30f, 0f, -1e30f, -1e30f, -1e30f, 3e38f, 3e38f, -3e38f }, 3, 3);
        var p = Ops.Softmax(x);
        p.ToArray().Should().OnlyContain(v => float.IsFinite(v));
        p.ToArray()[..3].Should().Equal(1f, 0f, 0f);
        p.ToArray()[3..6].Should().OnlyContain(v => Math.Abs(v - 1f / 3) < 1e-6);
        p.ToArray()[6..].Should().Equal(0.5f, 0.5f, 0f);
        var lp = Ops.LogSoftmax(x);
        lp.ToArray().Should().NotContain(v => float.IsNaN(v));
        lp[0, 0].Should().BeApproximately(0f, 2e-7f);
        lp[0, 1].Should().Be(-2e30f);
        lp[2, 0].Should().BeApproximately(-MathF.Log(2f), 1e-6f);
        lp[2, 2].Should().Be(float.NegativeInfinity, "−3e38 − 3e38 is below float's range, as in PyTorch");
        var lse = Ops.LogSumExp(x);
        lse.ToArray().Should().OnlyContain(v => float.IsFinite(v));
        lse[0].Should().Be(1e30f);
        lse[1].Should().BeApproximately(-1e30f, 1e24f);
        lse[2].Should().Be(3e38f + MathF.Log(2f));
        // and along a non-last axis
        var xt = x.Transpose(0, 1);
        Fixtures.AssertClose(Ops.Softmax(xt, 0).Transpose(0, 1).Data, p.Data, "softmax along axis 0", 1e-6, 1e-7);
        Fixtures.AssertClose(Ops.LogSumExp(xt, 0).Data, lse.Data, "logsumexp along axis 0", 1e-6, 0);
    }

    [Fact]
    public void Negative_infinity_is_handled_like_pytorch()
    {
        float ninf = float.NegativeInfinity;
        var x = Tensor.FromSpan(new float[] { ninf, 0f, MathF.Log(3f), ninf, ninf, ninf }, 2, 3).RequireGrad();
        var p = Ops.Softmax(x);
        p[0, 0].Should().Be(0f);
        p[0, 1].Should().BeApproximately(0.25f, 1e-7f);
        p[0, 2].Should().BeApproximately(0.75f, 1e-7f);
        float.IsNaN(p[1, 0]).Should().BeTrue("an all −∞ row has no distribution (PyTorch gives NaN too)");
        var lp = Ops.LogSoftmax(x);
        lp[0, 0].Should().Be(ninf);
        lp[0, 1].Should().BeApproximately(MathF.Log(0.25f), 1e-6f);
        var lse = Ops.LogSumExp(x);
        lse[0].Should().BeApproximately(MathF.Log(4f), 1e-6f);
        lse[1].Should().Be(ninf);
        Ops.LogSumExp(Tensor.FromSpan(new float[] { float.PositiveInfinity, 1f, ninf }, 3)).Item().Should().Be(float.PositiveInfinity);
        // The gradient of logsumexp is softmax: zero at −∞ entries.
        var row = Tensor.FromSpan(new float[] { ninf, 0f, MathF.Log(3f) }, 3).RequireGrad();
        Ops.LogSumExp(row).Backward();
        row.Grad![0].Should().Be(0f);
        row.Grad![1].Should().BeApproximately(0.25f, 1e-7f);
        row.Grad![2].Should().BeApproximately(0.75f, 1e-7f);
        Ops.LogSumExp(Tensor.Zeros(2, 0), 1).ToArray().Should().Equal(ninf, ninf);
    }

    [Fact]
    public void Softmax_rows_sum_to_one_and_logsumexp_matches_a_double_computation()
    {
        var rng = new Rng(21);
        var x = Tensor.Normal(rng, 0f, 5f, 6, 1000);
        var p = Ops.Softmax(x);
        var lse = Ops.LogSumExp(x);
        for (int r = 0; r < 6; r++)
        {
            double s = 0, m = double.NegativeInfinity, e = 0;
            for (int j = 0; j < 1000; j++) { s += p[r, j]; m = Math.Max(m, x[r, j]); }
            for (int j = 0; j < 1000; j++) e += Math.Exp(x[r, j] - m);
            s.Should().BeApproximately(1.0, 1e-5);
            lse[r].Should().BeApproximately((float)(m + Math.Log(e)), 1e-5f);
        }
    }

    [Theory]
    [InlineData(300, 401, 1)]   // last axis: parallel over rows
    [InlineData(4, 50, 600)]    // middle axis with more columns than one block, parallel over blocks
    [InlineData(1, 70, 1500)]   // first axis
    public void Large_inputs_along_any_axis_equal_the_last_axis_computation(int outer, int n, int inner)
    {
        var rng = new Rng(outer + n + inner);
        var x = Tensor.Uniform(rng, -4f, 4f, outer, n, inner).RequireGrad();
        var g = Tensor.Uniform(rng, -1f, 1f, outer, n, inner);
        var xl = x.Permute(0, 2, 1).Detach().Clone().RequireGrad();   // the same values with the axis last
        var gl = g.Permute(0, 2, 1);
        foreach (var (f, name) in new (Func<Tensor, int, Tensor>, string)[] { (Ops.Softmax, "softmax"), (Ops.LogSoftmax, "log_softmax") })
        {
            x.Grad = null; xl.Grad = null;
            var y = f(x, 1);
            var yl = f(xl, -1);
            y.Backward(g); yl.Backward(gl);
            Fixtures.AssertClose(y.Permute(0, 2, 1).Data, yl.Data, name, 1e-5, 1e-6);
            Fixtures.AssertClose(x.Grad!.Permute(0, 2, 1).Data, xl.Grad!.Data, name + " grad", 1e-4, 1e-6);
        }
        x.Grad = null; xl.Grad = null;
        var lse = Ops.LogSumExp(x, 1);
        var lsel = Ops.LogSumExp(xl, -1);
        Fixtures.AssertClose(lse.Data, lsel.Data, "logsumexp", 1e-6, 1e-6);
        var gs = Tensor.Uniform(rng, -1f, 1f, outer, inner);
        lse.Backward(gs); lsel.Backward(gs);
        Fixtures.AssertClose(x.Grad!.Permute(0, 2, 1).Data, xl.Grad!.Data, "logsumexp grad", 1e-5, 1e-7);
    }

    [Fact]
    public void Instance_methods_module_and_errors()
    {
        var x = Tensor.Arange(6).Reshape(2, 3);
        x.Softmax().ToArray().Should().Equal(Ops.Softmax(x).ToArray());
        x.LogSoftmax(0).ToArray().Should().Equal(Ops.LogSoftmax(x, 0).ToArray());
        x.LogSumExp(1, keepDims: true).ShapeArray.Should().Equal(2, 1);
        x.LogSumExp(0).ShapeArray.Should().Equal(3);
        new Learner.Nn.Modules.Softmax(0).Forward(x).ToArray().Should().Equal(Ops.Softmax(x, 0).ToArray());
        FluentActions.Invoking(() => Ops.Softmax(Tensor.Scalar(1f))).Should().Throw<ShapeMismatchException>().WithMessage("*Softmax*scalar*");
        FluentActions.Invoking(() => Ops.LogSoftmax(x, 2)).Should().Throw<ShapeMismatchException>().WithMessage("*LogSoftmax*axis 2*rank 2*");
        FluentActions.Invoking(() => Ops.LogSumExp(x, -3)).Should().Throw<ShapeMismatchException>().WithMessage("*LogSumExp*axis -3*rank 2*");
    }
}
