using Learner.Nn;

namespace Learner.Nn.Tests;

public class DropoutTests
{
    [Fact]
    public void The_same_seed_gives_the_same_mask_and_another_seed_a_different_one()
    {
        var x = Tensor.Ones(1001);
        var a = Ops.Dropout(x, 0.5f, training: true, new Rng(42)).ToArray();
        var b = Ops.Dropout(x, 0.5f, training: true, new Rng(42)).ToArray();
        var c = Ops.Dropout(x, 0.5f, training: true, new Rng(43)).ToArray();
        a.Should().Equal(b);
        a.Should().NotEqual(c);
        var rng = new Rng(42);
        var first = Ops.Dropout(x, 0.5f, true, rng).ToArray();
        var second = Ops.Dropout(x, 0.5f, true, rng).ToArray();
        first.Should().NotEqual(second, "the generator advances between calls");
    }

    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.3f)]
    [InlineData(0.9f)]
    public void Survivors_are_scaled_so_the_expectation_is_unchanged(float p)
    {
        const int N = 200_001;
        var x = Tensor.Full(2f, N);
        var y = Ops.Dropout(x, p, training: true, new Rng(7)).ToArray();
        float scaled = 2f * (float)(1.0 / (1.0 - p));
        y.Should().OnlyContain(v => v == 0f || v == scaled);
        double kept = y.Count(v => v != 0f) / (double)N;
        double sd = Math.Sqrt(p * (1 - p) / N);
        kept.Should().BeApproximately(1 - p, 5 * sd);
        y.Average(v => (double)v).Should().BeApproximately(2.0, 5 * sd * scaled);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(33)]
    public void The_gradient_flows_through_the_same_mask(int n)
    {
        var rng = new Rng(n);
        var x = Tensor.Uniform(rng, 0.5f, 1.5f, 3, n).RequireGrad();
        var y = Ops.Dropout(x, 0.4f, training: true, new Rng(99));
        var g = Tensor.Uniform(rng, -1f, 1f, 3, n);
        y.Backward(g);
        var yd = y.ToArray(); var xd = x.ToArray(); var gd = g.ToArray(); var gi = x.Grad!.ToArray();
        for (int i = 0; i < yd.Length; i++)
        {
            if (yd[i] == 0f) gi[i].Should().Be(0f);
            else
            {
                yd[i].Should().Be(xd[i] * (1f / 0.6f));
                gi[i].Should().Be(gd[i] * (1f / 0.6f));
            }
        }
        // a fixed mask makes the op linear, so finite differences agree with the analytic gradient
        GradCheck.Check(t => Ops.Dropout(t[0], 0.4f, true, new Rng(5)), new[] { x });
    }

    [Fact]
    public void Evaluation_and_zero_probability_return_the_input()
    {
        var x = Tensor.Ones(4);
        Ops.Dropout(x, 0.5f, training: false, new Rng(1)).Should().BeSameAs(x);
        Ops.Dropout(x, 0f, training: true, new Rng(1)).Should().BeSameAs(x);
        var layer = new Learner.Nn.Modules.Dropout(0.5f, new Rng(3));
        var big = Tensor.Ones(1000);
        layer.Forward(big).ToArray().Should().Contain(0f);
        layer.Eval();
        layer.Forward(big).Should().BeSameAs(big);
        x.Dropout(0.5f, false, new Rng(1)).Should().BeSameAs(x);
    }

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(1f)]
    [InlineData(float.NaN)]
    public void A_probability_outside_zero_to_one_is_rejected_with_its_value(float p)
    {
        FluentActions.Invoking(() => Ops.Dropout(Tensor.Ones(2), p, true, new Rng(1)))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage($"*[0, 1)*{p.ToString(System.Globalization.CultureInfo.InvariantCulture)}*");
        FluentActions.Invoking(() => new Learner.Nn.Modules.Dropout(p, new Rng(1))).Should().Throw<ArgumentOutOfRangeException>();
    }
}
