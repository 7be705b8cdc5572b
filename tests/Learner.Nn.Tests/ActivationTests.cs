using Learner.Nn;
using Learner.Nn.Modules;

namespace Learner.Nn.Tests;

public class ActivationTests
{
    public static TheoryData<string> ActivationCases => NormFixtures.Names("activation_");

    private static Tensor Apply(string op, Tensor x) => op switch
    {
        "gelu" => Ops.Gelu(x),
        "gelu_tanh" => Ops.Gelu(x, approximateTanh: true),
        "relu" => Ops.Relu(x),
        "leaky_relu" => Ops.LeakyRelu(x, 0.05f),
        "sigmoid" => Ops.Sigmoid(x),
        "tanh" => Ops.Tanh(x),
        "softplus" => Ops.Softplus(x),
        "softplus_beta2" => Ops.Softplus(x, 2f),
        _ => throw new ArgumentException(op),
    };

    [Theory]
    [MemberData(nameof(ActivationCases))]
    public void Forward_and_gradients_match_pytorch(string name)
    {
        var c = NormFixtures.Get(name);
        string op = c.Params.GetProperty("op").GetString()!;
        NormFixtures.Verify(c, t => Apply(op, t["x"]), "x");
    }

    /// <summary>Uniform values in ±[0.05, 2], away from the kinks of relu and leaky relu at 0.</summary>
    private static Tensor AwayFromZero(Rng rng, params int[] shape)
    {
        var t = Tensor.Uniform(rng, 0.05f, 2f, shape);
        var d = t.Data;
        for (int i = 0; i < d.Length; i++) if (rng.NextInt(2) == 0) d[i] = -d[i];
        return t.RequireGrad();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(17)]
    [InlineData(33)]
    [InlineData(65)]
    public void Gradients_match_finite_differences(int n)
    {
        var rng = new Rng(n);
        var x = AwayFromZero(rng, 2, n);
        GradCheck.Check(t => Ops.Relu(t[0]), new[] { x });
        GradCheck.Check(t => Ops.LeakyRelu(t[0], 0.2f), new[] { x });
        GradCheck.Check(t => Ops.Gelu(t[0]), new[] { x });
        GradCheck.Check(t => Ops.Gelu(t[0], approximateTanh: true), new[] { x });
        GradCheck.Check(t => Ops.Sigmoid(t[0]), new[] { x });
        GradCheck.Check(t => Ops.Tanh(t[0]), new[] { x });
        GradCheck.Check(t => Ops.Softplus(t[0]), new[] { x });
        GradCheck.Check(t => Ops.Softplus(t[0], 3f), new[] { x });
        var wide = Tensor.Uniform(rng, -6f, 6f, n).RequireGrad();
        GradCheck.Check(t => Ops.Gelu(t[0]), new[] { wide });
        GradCheck.Check(t => Ops.Gelu(t[0], approximateTanh: true), new[] { wide });
    }

    [Fact]
    public void Extreme_inputs_give_finite_limits_and_NaN_propagates()
    {
        var x = Tensor.FromSpan(new float[] { -1e30f, -100f, 100f, 1e30f }, 4);
        Ops.Gelu(x).ToArray().Should().Equal(-0f, -0f, 100f, 1e30f);
        Ops.Gelu(x, approximateTanh: true).ToArray().Should().Equal(-0f, -0f, 100f, 1e30f);
        Ops.Sigmoid(x).ToArray().Should().Equal(0f, 0f, 1f, 1f);
        Ops.Tanh(x).ToArray().Should().Equal(-1f, -1f, 1f, 1f);
        var sp = Ops.Softplus(x).ToArray();
        sp[0].Should().Be(0f);
        sp[1].Should().BeApproximately(MathF.Exp(-100f), 1e-50f);
        sp[2].Should().Be(100f);
        sp[3].Should().Be(1e30f);
        float tiny = Ops.Softplus(Tensor.FromSpan(new float[] { -30f }, 1)).Item();
        tiny.Should().BeApproximately((float)Math.Exp(-30), (float)Math.Exp(-30) * 1e-5f, "log1p keeps relative precision");
        var nan = Tensor.FromSpan(new float[] { float.NaN }, 1);
        float.IsNaN(Ops.Relu(nan).Item()).Should().BeTrue();
        float.IsNaN(Ops.Gelu(nan).Item()).Should().BeTrue();
        float.IsNaN(Ops.LeakyRelu(nan).Item()).Should().BeTrue();
    }

    [Fact]
    public void Large_inputs_split_across_cores_give_the_same_values_as_small_pieces()
    {
        var rng = new Rng(77);
        var x = Tensor.Uniform(rng, -5f, 5f, 300_001).RequireGrad();
        var y = Ops.Gelu(x);
        var g = Tensor.Uniform(rng, -1f, 1f, 300_001);
        y.Backward(g);
        for (int start = 0; start < 300_001; start += 50_000)
        {
            int len = Math.Min(50_000, 300_001 - start);
            var xs = Tensor.FromSpan(x.Data.Slice(start, len), len).RequireGrad();
            var ys = Ops.Gelu(xs);
            ys.Backward(Tensor.FromSpan(g.Data.Slice(start, len), len));
            ys.ToArray().Should().Equal(y.Data.Slice(start, len).ToArray());
            xs.Grad!.ToArray().Should().Equal(x.Grad!.Data.Slice(start, len).ToArray());
        }
    }

    [Fact]
    public void Instance_methods_and_modules_apply_the_ops()
    {
        var rng = new Rng(4);
        var x = Tensor.Uniform(rng, -3f, 3f, 3, 5);
        x.Relu().ToArray().Should().Equal(Ops.Relu(x).ToArray());
        x.Gelu(true).ToArray().Should().Equal(Ops.Gelu(x, true).ToArray());
        x.LeakyRelu(0.3f).ToArray().Should().Equal(Ops.LeakyRelu(x, 0.3f).ToArray());
        x.Softplus(2f).ToArray().Should().Equal(Ops.Softplus(x, 2f).ToArray());
        new Relu().Forward(x).ToArray().Should().Equal(Ops.Relu(x).ToArray());
        new LeakyRelu(0.3f).Forward(x).ToArray().Should().Equal(Ops.LeakyRelu(x, 0.3f).ToArray());
        new Gelu().Forward(x).ToArray().Should().Equal(Ops.Gelu(x).ToArray());
        new Gelu(approximateTanh: true).Forward(x).ToArray().Should().Equal(Ops.Gelu(x, true).ToArray());
        new Sigmoid().Forward(x).ToArray().Should().Equal(x.Sigmoid().ToArray());
        new Tanh().Forward(x).ToArray().Should().Equal(x.Tanh().ToArray());
        new Relu().ParameterCount.Should().Be(0);
        Ops.Relu(x).ToArray().Should().Equal(x.ToArray().Select(v => v < 0 ? 0f : v));
        Ops.LeakyRelu(x, 0.3f).ToArray().Should().Equal(x.ToArray().Select(v => v > 0 ? v : 0.3f * v));
    }

    [Fact]
    public void Bad_parameters_name_the_value()
    {
        var x = Tensor.Ones(3);
        FluentActions.Invoking(() => Ops.LeakyRelu(x, float.NaN)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*slope*NaN*");
        FluentActions.Invoking(() => Ops.Softplus(x, 0f)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*beta*0*");
        FluentActions.Invoking(() => Ops.Softplus(x, -1f)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*beta*-1*");
        FluentActions.Invoking(() => new LeakyRelu(float.PositiveInfinity)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
