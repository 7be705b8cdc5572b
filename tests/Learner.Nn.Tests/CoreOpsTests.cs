using Learner.Nn;

namespace Learner.Nn.Tests;

public class CoreOpsTests
{
    public static TheoryData<int[], int[]> BroadcastPairs => new()
    {
        { new[] { 3, 4 }, new[] { 3, 4 } },
        { new[] { 3, 4 }, new[] { 4 } },
        { new[] { 3, 1 }, new[] { 1, 5 } },
        { new[] { 2, 3, 5 }, new[] { 3, 1 } },
        { new[] { 1 }, new[] { 2, 7 } },
        { new[] { 2, 1, 3, 1 }, new[] { 4, 1, 5 } },
        { new int[0], new[] { 17 } },
    };

    [Theory]
    [MemberData(nameof(BroadcastPairs))]
    public void Binary_ops_broadcast_and_match_gradients(int[] sa, int[] sb)
    {
        var rng = new Rng(3);
        var a = GradCheck.Param(rng, sa);
        var b = Tensor.Uniform(rng, 0.5f, 2f, sb).RequireGrad();
        GradCheck.Check(x => x[0] + x[1], new[] { a, b });
        GradCheck.Check(x => x[0] - x[1], new[] { a, b });
        GradCheck.Check(x => x[0] * x[1], new[] { a, b });
        GradCheck.Check(x => x[0] / x[1], new[] { a, b });
    }

    [Fact]
    public void Broadcast_values_match_a_direct_loop()
    {
        var rng = new Rng(5);
        var a = Tensor.Uniform(rng, -1, 1, 2, 1, 3);
        var b = Tensor.Uniform(rng, -1, 1, 4, 1);
        var c = a * b;
        c.ShapeArray.Should().Equal(2, 4, 3);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 3; k++)
                    c[i, j, k].Should().Be(a[i, 0, k] * b[j, 0]);
    }

    [Fact]
    public void Incompatible_broadcast_names_both_shapes()
    {
        var act = () => Tensor.Zeros(3, 4) + Tensor.Zeros(5);
        act.Should().Throw<ShapeMismatchException>().WithMessage("*[3, 4]*[5]*");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(33)]
    public void Unary_ops_match_finite_differences(int n)
    {
        var rng = new Rng(n);
        var a = Tensor.Uniform(rng, 0.3f, 2f, n, 3).RequireGrad();
        GradCheck.Check(x => Ops.Exp(x[0]), new[] { a });
        GradCheck.Check(x => Ops.Log(x[0]), new[] { a });
        GradCheck.Check(x => Ops.Sqrt(x[0]), new[] { a });
        GradCheck.Check(x => Ops.Pow(x[0], 1.7f), new[] { a });
        GradCheck.Check(x => Ops.Square(x[0]), new[] { a });
        GradCheck.Check(x => 2f / x[0] - 3f * x[0] + 1f, new[] { a });
    }

    [Fact]
    public void Reductions_match_finite_differences()
    {
        var rng = new Rng(9);
        var a = GradCheck.Param(rng, 3, 5, 7);
        GradCheck.Check(x => Ops.Sum(x[0]), new[] { a });
        GradCheck.Check(x => Ops.Mean(x[0]), new[] { a });
        GradCheck.Check(x => Ops.Sum(x[0], 1), new[] { a });
        GradCheck.Check(x => Ops.Mean(x[0], new[] { 0, 2 }, keepDims: true), new[] { a });
        GradCheck.Check(x => Ops.Max(x[0], 2), new[] { a });
        GradCheck.Check(x => Ops.Max(x[0], 0, keepDims: true), new[] { a });
        GradCheck.Check(x => Ops.Max(x[0]), new[] { a });
    }

    [Fact]
    public void Sum_over_axes_matches_a_loop()
    {
        var a = Tensor.Arange(24).Reshape(2, 3, 4);
        var s = Ops.Sum(a, new[] { 0, 2 });
        s.ShapeArray.Should().Equal(3);
        for (int j = 0; j < 3; j++)
        {
            float e = 0;
            for (int i = 0; i < 2; i++) for (int k = 0; k < 4; k++) e += a[i, j, k];
            s[j].Should().Be(e);
        }
        Ops.Max(a, 1)[1, 2].Should().Be(a[1, 2, 2]);
    }

    [Fact]
    public void Shape_ops_match_finite_differences()
    {
        var rng = new Rng(11);
        var a = GradCheck.Param(rng, 2, 3, 4);
        var b = GradCheck.Param(rng, 2, 5, 4);
        GradCheck.Check(x => x[0].Reshape(6, -1), new[] { a });
        GradCheck.Check(x => x[0].Permute(2, 0, 1), new[] { a });
        GradCheck.Check(x => x[0].Transpose(0, 2), new[] { a });
        GradCheck.Check(x => Ops.Concat(new[] { x[0], x[1] }, 1), new[] { a, b });
        GradCheck.Check(x => Ops.Slice(x[0], 2, 1, 2), new[] { a });
        GradCheck.Check(x => Ops.IndexSelect(x[0], 1, new[] { 2, 0, 2, 2 }), new[] { a });
        GradCheck.Check(x => Ops.Stack(new[] { x[0], x[0] * x[0] }, 1), new[] { a });
    }

    [Fact]
    public void Permute_moves_elements()
    {
        var a = Tensor.Arange(24).Reshape(2, 3, 4);
        var p = a.Permute(2, 0, 1);
        p.ShapeArray.Should().Equal(4, 2, 3);
        for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 4; k++) p[k, i, j].Should().Be(a[i, j, k]);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 5, 7)]
    [InlineData(17, 9, 33)]
    public void MatMul_and_Linear_match_finite_differences(int m, int k, int n)
    {
        var rng = new Rng(m * 100 + n);
        var a = GradCheck.Param(rng, m, k);
        var b = GradCheck.Param(rng, k, n);
        GradCheck.Check(x => Ops.MatMul(x[0], x[1]), new[] { a, b });
        var w = GradCheck.Param(rng, n, k);
        var bias = GradCheck.Param(rng, n);
        GradCheck.Check(x => Ops.Linear(x[0], x[1], x[2]), new[] { a, w, bias });
    }

    [Fact]
    public void Batched_MatMul_broadcasts_batch_axes()
    {
        var rng = new Rng(2);
        var a = GradCheck.Param(rng, 2, 1, 3, 4);
        var b = GradCheck.Param(rng, 3, 4, 2);
        GradCheck.Check(x => Ops.MatMul(x[0], x[1]), new[] { a, b });
        var c = Ops.MatMul(a, b);
        c.ShapeArray.Should().Equal(2, 3, 3, 2);
        float e = 0;
        for (int p = 0; p < 4; p++) e += a[1, 0, 2, p] * b[2, p, 1];
        c[1, 2, 2, 1].Should().BeApproximately(e, 1e-5f);
    }

    [Fact]
    public void MatMul_reports_inner_dimension_mismatch()
    {
        var act = () => Ops.MatMul(Tensor.Zeros(2, 3), Tensor.Zeros(4, 5));
        act.Should().Throw<ShapeMismatchException>().WithMessage("*[2, 3]*[4, 5]*");
    }
}
