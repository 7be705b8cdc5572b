using Learner.Nn;
using Learner.Nn.Modules;

namespace Learner.Nn.Tests;

public class ModuleTests
{
    [Fact]
    public void Linear_registers_weight_and_bias_with_pytorch_shapes_and_bounds()
    {
        var lin = new Linear(7, 3, new Rng(1));
        lin.NamedParameters().Select(p => p.Key).Should().Equal("weight", "bias");
        lin.Weight.ShapeArray.Should().Equal(3, 7);
        lin.Bias!.ShapeArray.Should().Equal(3);
        lin.ParameterCount.Should().Be(3 * 7 + 3);
        float bound = 1f / MathF.Sqrt(7);
        lin.Weight.ToArray().Should().OnlyContain(v => Math.Abs(v) <= bound);
        lin.Bias.ToArray().Should().OnlyContain(v => Math.Abs(v) <= bound);
        lin.Weight.RequiresGrad.Should().BeTrue();
        new Linear(7, 3, new Rng(1), bias: false).NamedParameters().Select(p => p.Key).Should().Equal("weight");
    }

    [Fact]
    public void Linear_weight_spans_its_pytorch_bound()
    {
        // kaiming_uniform(a=√5) on fan-in 64 is U(−1/8, 1/8): the extremes must come close to ±1/8.
        var lin = new Linear(64, 256, new Rng(2));
        var w = lin.Weight.ToArray();
        w.Max().Should().BeInRange(0.12f, 0.125f);
        w.Min().Should().BeInRange(-0.125f, -0.12f);
    }

    [Fact]
    public void Linear_is_deterministic_for_a_seed()
    {
        var a = new Linear(5, 4, new Rng(9));
        var b = new Linear(5, 4, new Rng(9));
        var c = new Linear(5, 4, new Rng(10));
        a.Weight.ToArray().Should().Equal(b.Weight.ToArray());
        a.Bias!.ToArray().Should().Equal(b.Bias!.ToArray());
        a.Weight.ToArray().Should().NotEqual(c.Weight.ToArray());
    }

    [Fact]
    public void Linear_forward_matches_a_direct_loop()
    {
        var rng = new Rng(4);
        var lin = new Linear(3, 2, rng);
        var x = Tensor.Uniform(rng, -1, 1, 2, 5, 3);
        var y = lin.Forward(x);
        y.ShapeArray.Should().Equal(2, 5, 2);
        for (int a = 0; a < 2; a++)
            for (int r = 0; r < 5; r++)
                for (int o = 0; o < 2; o++)
                {
                    double s = lin.Bias![o];
                    for (int i = 0; i < 3; i++) s += x[a, r, i] * lin.Weight[o, i];
                    y[a, r, o].Should().BeApproximately((float)s, 1e-5f);
                }
    }

    [Theory]
    [InlineData(1, 1, 1, true)]
    [InlineData(3, 5, 4, true)]
    [InlineData(7, 9, 17, false)]
    public void Linear_gradients_match_finite_differences(int rows, int inF, int outF, bool bias)
    {
        var rng = new Rng(rows * 100 + inF);
        var lin = new Linear(inF, outF, rng, bias);
        var x = GradCheck.Param(rng, rows, inF);
        var inputs = bias ? new[] { x, lin.Weight, lin.Bias! } : new[] { x, lin.Weight };
        GradCheck.Check(_ => lin.Forward(x), inputs);
    }

    [Fact]
    public void Linear_rejects_a_mismatched_input_naming_the_shapes()
    {
        var lin = new Linear(4, 2, new Rng(1));
        var act = () => lin.Forward(Tensor.Zeros(3, 5));
        act.Should().Throw<ShapeMismatchException>().WithMessage("*[3, 5]*4*");
        ((Action)(() => new Linear(0, 2, new Rng(1)))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Sequential_names_children_by_position_and_chains_forward()
    {
        var rng = new Rng(5);
        var seq = new Sequential(new Linear(4, 6, rng), new Linear(6, 3, rng, bias: false)).Add(new Linear(3, 2, rng));
        seq.Count.Should().Be(3);
        seq.NamedParameters().Select(p => p.Key).Should().Equal("0.weight", "0.bias", "1.weight", "2.weight", "2.bias");
        seq.NamedChildren().Select(c => c.Key).Should().Equal("0", "1", "2");
        seq[1].Should().BeOfType<Linear>().Which.OutFeatures.Should().Be(3);
        seq.Should().HaveCount(3);
        ((Func<Module>)(() => seq[3])).Should().Throw<ArgumentOutOfRangeException>();

        var x = Tensor.Uniform(rng, -1, 1, 5, 4);
        var expected = seq[2].Forward(seq[1].Forward(seq[0].Forward(x)));
        seq.Forward(x).ToArray().Should().Equal(expected.ToArray());
        new Sequential().Forward(x).Should().BeSameAs(x);
    }

    [Fact]
    public void Sequential_gradients_match_finite_differences()
    {
        var rng = new Rng(6);
        var seq = new Sequential(new Linear(3, 5, rng), new SoftSign(), new Linear(5, 2, rng));
        var x = GradCheck.Param(rng, 4, 3);
        GradCheck.Check(_ => seq.Forward(x), new[] { x }.Concat(seq.Parameters()).ToArray());
    }

    [Fact]
    public void Nested_modules_have_dotted_names_and_propagate_training_mode()
    {
        var rng = new Rng(7);
        var inner = new Sequential(new Linear(2, 2, rng), new Linear(2, 2, rng));
        var outer = new Sequential(new Linear(2, 2, rng), inner);
        outer.NamedParameters().Select(p => p.Key).Should().Contain("1.1.bias");
        outer.NamedModules().Select(m => m.Key).Should().Equal("0", "1", "1.0", "1.1");
        outer.Eval();
        inner[1].Training.Should().BeFalse();
        outer.Train();
        inner[0].Training.Should().BeTrue();
    }

    [Fact]
    public void ModuleList_holds_parameters_but_has_no_forward()
    {
        var rng = new Rng(8);
        var list = new ModuleList(new Linear(2, 3, rng)).Add(new Linear(3, 1, rng));
        list.NamedParameters().Select(p => p.Key).Should().Equal("0.weight", "0.bias", "1.weight", "1.bias");
        list[1].Should().BeOfType<Linear>();
        var act = () => list.Forward(Tensor.Zeros(1, 2));
        act.Should().Throw<InvalidOperationException>().WithMessage("*ModuleList*");
    }

    [Fact]
    public void ZeroGrad_clears_every_parameter_gradient()
    {
        var rng = new Rng(9);
        var seq = new Sequential(new Linear(3, 2, rng));
        Ops.Sum(seq.Forward(Tensor.Uniform(rng, -1, 1, 4, 3))).Backward();
        seq.Parameters().Should().OnlyContain(p => p.Grad != null && p.Grad.ToArray().Any(v => v != 0));
        seq.ZeroGrad();
        seq.Parameters().Should().OnlyContain(p => p.Grad!.ToArray().All(v => v == 0));
    }
}

/// <summary>x / (1 + |x|): a smooth elementwise activation built from existing ops, for tests.</summary>
internal sealed class SoftSign : Module
{
    public override Tensor Forward(Tensor input) => Ops.Div(input, Ops.Add(Ops.Abs(input), 1f));
}
