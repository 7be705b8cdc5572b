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
    public void A_gradient_passed_through_to_several_inputs_is_never_shared_by_two_that_accumulate()
    {
        // w = (h + k) + h with h = 2x and k = 3x: both additions pass their incoming gradient through to both inputs,
        // h's gradient is accumulated from two consumers, and k's must stay the one contribution it gets.
        var x = Tensor.FromSpan(new[] { 1f, -2f, 0.5f }, 3).RequireGrad();
        var r = Tensor.FromSpan(new[] { 0.25f, 1f, -3f }, 3);
        var h = Ops.Mul(x, 2f);
        var k = Ops.Mul(x, 3f);
        var w = Ops.Add(Ops.Add(h, k), h);
        Ops.Sum(Ops.Mul(w, r)).Backward();
        x.Grad!.ToArray().Should().Equal(r.ToArray().Select(v => 7f * v));
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
    public void A_gradient_a_custom_function_returns_as_given_is_passed_on_as_a_copy()
    {
        // The function keeps the gradient it was given and returns it; its input's gradient is then accumulated from a
        // second consumer, which must not change the tensor the function holds.
        var x = Tensor.FromSpan(new[] { 1f, 2f }, 2).RequireGrad();
        var h = Ops.Mul(x, 1f);
        Tensor? kept = null;
        var y = Autograd.Function("PassThrough", new[] { h }, h.Detach().Clone(), g => { kept = g; return new Tensor?[] { g }; });
        // Reverse topological order runs the function before h's other consumer (the first addend), so the function's
        // returned gradient is h's first: the one the second consumer would accumulate into.
        Ops.Sum(Ops.Add(Ops.Mul(h, 1f), Ops.Mul(y, 3f))).Backward();
        kept!.ToArray().Should().Equal(3f, 3f);
        x.Grad!.ToArray().Should().Equal(4f, 4f);
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
