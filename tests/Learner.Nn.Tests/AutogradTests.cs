using Learner.Nn;

namespace Learner.Nn.Tests;

public class AutogradTests
{
    [Fact]
    public void Gradients_accumulate_across_backward_calls_until_zeroed()
    {
        var x = Tensor.FromSpan(new float[] { 1, 2, 3 }, 3).RequireGrad();
        Ops.Sum(x * x).Backward();
        Ops.Sum(x * x).Backward();
        x.Grad!.ToArray().Should().Equal(4, 8, 12);
        x.ZeroGrad();
        x.Grad!.ToArray().Should().Equal(0, 0, 0);
    }

    [Fact]
    public void A_tensor_used_twice_receives_both_contributions()
    {
        var x = Tensor.FromSpan(new float[] { 3 }, 1).RequireGrad();
        var y = x * x + x; // dy/dx = 2x + 1 = 7
        y.Sum().Backward();
        x.Grad!.Item().Should().Be(7);
    }

    [Fact]
    public void Backward_through_a_freed_graph_throws()
    {
        var x = Tensor.Ones(2).RequireGrad();
        var y = Ops.Sum(Ops.Exp(x));
        y.Backward();
        var act = () => y.Backward();
        act.Should().Throw<AutogradException>().WithMessage("*freed graph*retainGraph*");
    }

    [Fact]
    public void RetainGraph_allows_a_second_backward()
    {
        var x = Tensor.Ones(2).RequireGrad();
        var y = Ops.Sum(x * 3f);
        y.Backward(retainGraph: true);
        y.Backward();
        x.Grad!.ToArray().Should().Equal(6, 6);
    }

    [Fact]
    public void NoGrad_records_nothing()
    {
        var x = Tensor.Ones(2).RequireGrad();
        Tensor y;
        using (Autograd.NoGrad()) y = x * 2f;
        y.RequiresGrad.Should().BeFalse();
        y.IsLeaf.Should().BeTrue();
        var act = () => y.Sum().Backward();
        act.Should().Throw<AutogradException>();
    }

    [Fact]
    public void Non_scalar_backward_needs_a_gradient_of_matching_shape()
    {
        var x = Tensor.Ones(2, 2).RequireGrad();
        var y = x * 2f;
        FluentActions.Invoking(() => y.Backward()).Should().Throw<AutogradException>().WithMessage("*[2, 2]*");
        FluentActions.Invoking(() => y.Backward(Tensor.Ones(3))).Should().Throw<ShapeMismatchException>();
        y.Backward(Tensor.Full(0.5f, 2, 2));
        x.Grad!.ToArray().Should().AllBeEquivalentTo(1f);
    }

    [Fact]
    public void User_gradient_is_not_modified_by_backward()
    {
        var x = Tensor.Ones(2, 2).RequireGrad();
        var y = x.Reshape(4);
        var z = y + y.Reshape(2, 2).Reshape(4);
        var seed = Tensor.Full(1f, 4);
        z.Backward(seed);
        seed.ToArray().Should().AllBeEquivalentTo(1f);
        x.Grad!.ToArray().Should().AllBeEquivalentTo(2f);
    }

    [Fact]
    public void Scope_releases_temporaries_and_keeps_what_it_is_told()
    {
        var w = Tensor.Ones(4).RequireGrad();
        Tensor kept, lost;
        using (var scope = TensorScope.Begin())
        {
            lost = w * 2f;
            kept = scope.Keep((w * 3f).Sum());
            kept.Backward();
        }
        lost.IsDisposed.Should().BeTrue();
        FluentActions.Invoking(() => lost.Data.ToArray()).Should().Throw<ObjectDisposedException>().WithMessage("*Keep*");
        kept.Item().Should().Be(12f);
        w.Grad!.ToArray().Should().AllBeEquivalentTo(3f);
        w.IsDisposed.Should().BeFalse();
    }

    [Fact]
    public void Scoped_steps_reuse_pooled_storage()
    {
        var w = Tensor.Ones(1000).RequireGrad();
        for (int i = 0; i < 3; i++)
        {
            using var scope = TensorScope.Begin();
            (w * w).Sum().Backward();
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            using var scope = TensorScope.Begin();
            (w * w).Sum().Backward();
        }
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
        perStep.Should().BeLessThan(1000 * sizeof(float), "tensor storage comes from the pool once warm");
    }

    [Fact]
    public void Same_seed_gives_identical_random_tensors()
    {
        var a = Tensor.Normal(new Rng(42), 0, 1, 100).ToArray();
        var b = Tensor.Normal(new Rng(42), 0, 1, 100).ToArray();
        a.Should().Equal(b);
        Tensor.Normal(new Rng(43), 0, 1, 100).ToArray().Should().NotEqual(a);
    }

    [Fact]
    public void Rng_is_uniform_enough_and_bounded()
    {
        var rng = new Rng(1);
        var counts = new int[10];
        for (int i = 0; i < 100_000; i++) counts[rng.NextInt(10)]++;
        counts.Should().OnlyContain(c => c > 9_500 && c < 10_500);
        double sum = 0, sq = 0;
        for (int i = 0; i < 100_000; i++) { double g = rng.NextGaussian(); sum += g; sq += g * g; }
        (sum / 100_000).Should().BeApproximately(0, 0.02);
        (sq / 100_000).Should().BeApproximately(1, 0.02);
    }

    [Fact]
    public void CheckFinite_names_the_index()
    {
        var t = Tensor.Zeros(2, 3);
        t[1, 2] = float.NaN;
        FluentActions.Invoking(() => t.CheckFinite("logits")).Should().Throw<NonFiniteValueException>().WithMessage("*logits*[1, 2]*");
    }
}

public class CustomFunctionTests
{
    [Fact]
    public void A_custom_function_joins_the_graph_with_its_own_gradient()
    {
        var rng = new Rng(12);
        var x = GradCheck.Param(rng, 3, 4);
        // f(x) = sum of cubes, computed outside the graph, gradient 3x² supplied by hand.
        Tensor Cubes(Tensor[] t)
        {
            var inp = t[0];
            var o = Tensor.Scalar(0f);
            float s = 0; foreach (var v in inp.Data) s += v * v * v;
            o.Data[0] = s;
            return Autograd.Function("Cubes", new[] { inp }, o, g =>
            {
                var gi = Tensor.Empty(inp.ShapeArray);
                for (int i = 0; i < gi.Size; i++) gi.Data[i] = 3 * inp.Data[i] * inp.Data[i] * g.Item();
                return new Tensor?[] { gi };
            });
        }
        GradCheck.Check(t => Ops.Mul(Cubes(t), 2f), new[] { x });
    }

    [Fact]
    public void A_custom_function_with_a_wrongly_shaped_gradient_is_reported()
    {
        var x = Tensor.Ones(2).RequireGrad();
        var y = Autograd.Function("Bad", new[] { x }, Tensor.Scalar(1f), g => new Tensor?[] { Tensor.Ones(3) });
        FluentActions.Invoking(() => y.Backward()).Should().Throw<ShapeMismatchException>().WithMessage("*Bad*[3]*[2]*");
    }

    [Fact]
    public void The_output_of_a_custom_function_must_be_fresh()
    {
        var x = Tensor.Ones(2).RequireGrad();
        FluentActions.Invoking(() => Autograd.Function("F", new[] { x }, x * 2f, g => new Tensor?[] { g }))
            .Should().Throw<AutogradException>().WithMessage("*grad_fn*");
    }
}
