using Learner.Nn;

namespace Learner.Nn.Tests;

public class InitTests
{
    private static (double Mean, double Std) Stats(Tensor t)
    {
        var d = t.ToArray();
        double mean = d.Average(v => (double)v);
        double var = d.Sum(v => (v - mean) * (v - mean)) / d.Length;
        return (mean, Math.Sqrt(var));
    }

    [Theory]
    [InlineData(Nonlinearity.Linear, null, 1.0)]
    [InlineData(Nonlinearity.Conv, null, 1.0)]
    [InlineData(Nonlinearity.Sigmoid, null, 1.0)]
    [InlineData(Nonlinearity.Tanh, null, 5.0 / 3.0)]
    [InlineData(Nonlinearity.Relu, null, 1.4142135623730951)]
    [InlineData(Nonlinearity.LeakyRelu, null, 1.4141428569978354)]
    [InlineData(Nonlinearity.LeakyRelu, 0.2, 1.3867504905630728)]
    [InlineData(Nonlinearity.Selu, null, 0.75)]
    public void Gains_match_pytorch(Nonlinearity nl, double? slope, double expected) =>
        Init.CalculateGain(nl, slope).Should().BeApproximately(expected, 1e-12);

    [Fact]
    public void Fans_cover_linear_and_conv_weights_of_any_rank()
    {
        Init.ComputeFans(new[] { 8, 3 }).Should().Be((3L, 8L));
        Init.ComputeFans(new[] { 64, 32, 3, 3 }).Should().Be((32L * 9, 64L * 9));
        Init.ComputeFans(new[] { 16, 4, 3, 5, 7 }).Should().Be((4L * 105, 16L * 105));
        Init.ComputeFans(new[] { 5, 2, 4 }).Should().Be((8L, 20L));
        var act = () => Init.ComputeFans(new[] { 5 });
        act.Should().Throw<ShapeMismatchException>().WithMessage("*[5]*");
    }

    [Fact]
    public void Kaiming_uniform_has_the_expected_bound_and_spread()
    {
        var w = Tensor.Empty(256, 128, 3);
        Init.KaimingUniform(w, new Rng(1), nonlinearity: Nonlinearity.Relu);
        double bound = Math.Sqrt(2.0) * Math.Sqrt(3.0 / (128 * 3));
        w.ToArray().Should().OnlyContain(v => Math.Abs(v) <= bound);
        var (mean, std) = Stats(w);
        mean.Should().BeApproximately(0, 0.01 * bound);
        std.Should().BeApproximately(bound / Math.Sqrt(3), 0.01 * bound);
    }

    [Fact]
    public void Kaiming_normal_uses_the_selected_fan()
    {
        var w = Tensor.Empty(64, 512, 2, 2);
        Init.KaimingNormal(w, new Rng(2), mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
        var (mean, std) = Stats(w);
        double expected = Math.Sqrt(2.0) / Math.Sqrt(64 * 4);
        mean.Should().BeApproximately(0, 0.01 * expected);
        std.Should().BeApproximately(expected, 0.01 * expected);

        Init.KaimingNormal(w, new Rng(2), a: 0.1, mode: FanMode.FanIn, nonlinearity: Nonlinearity.LeakyRelu);
        Stats(w).Std.Should().BeApproximately(Math.Sqrt(2.0 / 1.01) / Math.Sqrt(512 * 4), 0.01 * expected);
    }

    [Fact]
    public void Xavier_initialisers_match_glorot_scales()
    {
        var w = Tensor.Empty(300, 500);
        Init.XavierUniform(w, new Rng(3), gain: 2.0);
        double bound = 2.0 * Math.Sqrt(6.0 / 800);
        w.ToArray().Should().OnlyContain(v => Math.Abs(v) <= bound);
        Stats(w).Std.Should().BeApproximately(bound / Math.Sqrt(3), 0.01 * bound);

        Init.XavierNormal(w, new Rng(4));
        var (mean, std) = Stats(w);
        mean.Should().BeApproximately(0, 0.001);
        std.Should().BeApproximately(Math.Sqrt(2.0 / 800), 0.01 * Math.Sqrt(2.0 / 800));
    }

    [Fact]
    public void Uniform_normal_and_constants_fill_as_asked()
    {
        var t = Tensor.Empty(100_000);
        Init.Uniform(t, new Rng(5), -2f, 6f);
        t.ToArray().Should().OnlyContain(v => v >= -2f && v < 6f);
        Stats(t).Mean.Should().BeApproximately(2, 0.05);
        Init.Normal(t, new Rng(6), 3f, 0.5f);
        var (mean, std) = Stats(t);
        mean.Should().BeApproximately(3, 0.01);
        std.Should().BeApproximately(0.5, 0.01);
        Init.Zeros(t).ToArray().Should().OnlyContain(v => v == 0f);
        Init.Ones(t).ToArray().Should().OnlyContain(v => v == 1f);
        Init.Constant(t, -1.5f).ToArray().Should().OnlyContain(v => v == -1.5f);
        ((Action)(() => Init.Normal(t, new Rng(1), 0, -1))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*-1*");
        ((Action)(() => Init.Uniform(t, new Rng(1), 1, 0))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Initialisers_are_deterministic_for_a_seed()
    {
        foreach (var init in new Action<Tensor, Rng>[]
                 {
                     (t, r) => Init.KaimingUniform(t, r), (t, r) => Init.KaimingNormal(t, r),
                     (t, r) => Init.XavierUniform(t, r), (t, r) => Init.XavierNormal(t, r),
                     (t, r) => Init.Uniform(t, r), (t, r) => Init.Normal(t, r),
                 })
        {
            var a = Tensor.Empty(6, 5, 3); var b = Tensor.Empty(6, 5, 3); var c = Tensor.Empty(6, 5, 3);
            init(a, new Rng(42)); init(b, new Rng(42)); init(c, new Rng(43));
            a.ToArray().Should().Equal(b.ToArray());
            a.ToArray().Should().NotEqual(c.ToArray());
        }
    }
}
