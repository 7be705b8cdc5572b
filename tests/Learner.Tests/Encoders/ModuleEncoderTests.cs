using Learner.Encoders;
using Learner.Nn;
using Learner.Nn.Modules;

namespace Learner.Tests.Encoders;

public class ModuleEncoderTests
{
    private static ModuleEncoder Make(int seed) =>
        new(new Sequential(new Linear(5, 8, new Rng(seed)), new Tanh(), new Linear(8, 3, new Rng(seed + 1))), 3, "mlp");

    [Fact]
    public void Backward_through_the_seam_equals_backward_through_the_module()
    {
        var rng = new Rng(1);
        var x = Tensor.Uniform(rng, -1, 1, 4, 5);
        var g = Tensor.Uniform(rng, -1, 1, 4, 3);

        var direct = Make(7);
        direct.Module.Forward(x).Backward(g);
        var expected = direct.Module.Parameters().Select(p => p.Grad!.ToArray()).ToArray();

        var seam = Make(7);
        var emb = new float[12];
        seam.Forward(x, emb, requiresGrad: true);
        seam.Backward(g.Data);
        var actual = seam.Module.Parameters().Select(p => p.Grad!.ToArray()).ToArray();
        actual.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());

        var again = new float[12];
        seam.Forward(x, again, requiresGrad: false);
        again.Should().Equal(emb);
    }

    [Fact]
    public void Protocol_violations_are_reported()
    {
        var enc = Make(3);
        var x = Tensor.Ones(2, 5);
        FluentActions.Invoking(() => enc.Backward(new float[6])).Should().Throw<InvalidOperationException>().WithMessage("*pending*");
        enc.Forward(x, new float[6], requiresGrad: true);
        FluentActions.Invoking(() => enc.Forward(x, new float[6], true)).Should().Throw<InvalidOperationException>().WithMessage("*still pending*");
        FluentActions.Invoking(() => enc.Backward(new float[5])).Should().Throw<ShapeMismatchException>();
        enc.Forward(x, new float[6], requiresGrad: false); // the failed backward released the graph
        FluentActions.Invoking(() => enc.Forward(x, new float[5], false)).Should().Throw<ShapeMismatchException>().WithMessage("*2×3*");
    }

    [Fact]
    public void Optimizer_steps_and_checkpoints_round_trip()
    {
        var enc = Make(5);
        var opt = enc.CreateOptimizer(new EncoderOptimizerOptions { LearningRate = 0.1 });
        var x = Tensor.Ones(2, 5);
        var before = new float[6];
        enc.Forward(x, before, false);
        opt.ZeroGrad();
        enc.Forward(x, new float[6], true);
        enc.Backward(Enumerable.Repeat(1f, 6).ToArray());
        opt.ClipGradNorm(10).Should().BeGreaterThan(0);
        opt.Step();
        opt.StepCount.Should().Be(1);
        var after = new float[6];
        enc.Forward(x, after, false);
        after.Should().NotEqual(before);

        string path = Path.Combine(Path.GetTempPath(), $"enc-{Guid.NewGuid():N}.safetensors");
        try
        {
            enc.Save(path, opt, new Dictionary<string, string> { ["k"] = "v" });
            var other = Make(99);
            var otherOpt = other.CreateOptimizer(new EncoderOptimizerOptions { LearningRate = 0.1 });
            other.Load(path, otherOpt)["k"].Should().Be("v");
            var reloaded = new float[6];
            other.Forward(x, reloaded, false);
            reloaded.Should().Equal(after);
            otherOpt.StepCount.Should().Be(1);
            FluentActions.Invoking(() => enc.Save(path, otherOpt)).Should().Throw<ArgumentException>();
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Invalid_optimizer_options_name_the_option()
    {
        FluentActions.Invoking(() => Make(1).CreateOptimizer(new EncoderOptimizerOptions { LearningRate = 0 }))
            .Should().Throw<ArgumentException>().WithMessage("*LearningRate*");
        FluentActions.Invoking(() => Make(1).CreateOptimizer(new EncoderOptimizerOptions { Kind = OptimizerKind.Sgd, Momentum = 0, Nesterov = true }))
            .Should().Throw<ArgumentException>().WithMessage("*Nesterov*");
    }
}
