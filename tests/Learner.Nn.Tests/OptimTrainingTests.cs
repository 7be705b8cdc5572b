using Learner.Nn;
using Learner.Nn.Modules;
using Learner.Nn.Optim;

namespace Learner.Nn.Tests;

public class OptimTrainingTests
{
    /// <summary>Fits y = sin(2·x₀)·x₁ + 0.5·x₂ with a small MLP, AdamW, warm-up + cosine and clipping.</summary>
    private static (float[][] Weights, float FirstLoss, float LastLoss) Train(int seed)
    {
        var rng = new Rng(seed);
        var model = new Sequential(new Linear(3, 32, rng), new SoftSign(), new Linear(32, 32, rng), new SoftSign(), new Linear(32, 1, rng));
        var decay = model.NamedParameters().Where(p => p.Key.EndsWith("weight")).Select(p => p.Value);
        var noDecay = model.NamedParameters().Where(p => p.Key.EndsWith("bias")).Select(p => p.Value);
        var opt = new AdamW(new[] { new ParameterGroupSpec(decay), new ParameterGroupSpec(noDecay, weightDecay: 0) }, 1e-2, weightDecay: 1e-2);
        var sched = new CosineWithWarmup(opt, 20, 300, minLr: 1e-4);
        var data = rng.Fork(1);
        var x = Tensor.Uniform(data, -1, 1, 128, 3);
        var y = Tensor.Empty(128, 1);
        for (int i = 0; i < 128; i++) y.Data[i] = MathF.Sin(2 * x[i, 0]) * x[i, 1] + 0.5f * x[i, 2];
        float first = 0, last = 0;
        for (int step = 0; step < 300; step++)
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            var loss = Ops.Mean(Ops.Square(model.Forward(x) - y));
            loss.Backward();
            GradClip.ClipGradNorm(opt.Parameters, 1f);
            opt.Step();
            sched.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        return (model.Parameters().Select(p => p.ToArray()).ToArray(), first, last);
    }

    [Fact]
    public void Training_with_a_fixed_seed_is_bit_identical_and_reduces_the_loss()
    {
        var a = Train(42);
        var b = Train(42);
        a.Weights.Length.Should().Be(b.Weights.Length);
        for (int i = 0; i < a.Weights.Length; i++)
            a.Weights[i].Select(BitConverter.SingleToInt32Bits).Should().Equal(b.Weights[i].Select(BitConverter.SingleToInt32Bits), $"parameter {i}");
        a.LastLoss.Should().Be(b.LastLoss);
        a.LastLoss.Should().BeLessThan(0.1f * a.FirstLoss);
        var c = Train(43);
        c.Weights[0].Should().NotEqual(a.Weights[0]);
    }
}
