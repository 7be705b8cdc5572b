using Learner.Nn;
using Learner.Nn.Modules;
using Learner.Nn.Optim;

namespace Learner.Nn.Tests;

public class CnnDeterminismTests
{
    private static (float[] Weights, float FirstLoss, float LastLoss) Train(int seed)
    {
        var rng = new Rng(seed);
        var model = new Sequential(
            new Conv2d(2, 8, 3, rng, padding: 1), new BatchNorm2d(8), new Relu(), new MaxPool2d(2),
            new Conv2d(8, 8, 3, rng, padding: 1, groups: 2), new GroupNorm(2, 8), new Gelu(),
            new GlobalAvgPool(), new Dropout(0.1f, rng.Fork(9)), new Linear(8, 3, rng));
        var opt = new AdamW(model.Parameters(), learningRate: 3e-3);
        var data = rng.Fork(1);
        var x = Tensor.Normal(data, 0, 1, 32, 2, 12, 12);
        var y = Enumerable.Range(0, 32).Select(i => i % 3).ToArray();
        // make the classes learnable: shift channel 0 by the class
        for (int n = 0; n < 32; n++) for (int i = 0; i < 144; i++) x.Data[n * 288 + i] += y[n];
        float first = 0, last = 0;
        for (int step = 0; step < 25; step++)
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            var loss = Ops.CrossEntropy(model.Forward(x), y);
            loss.Backward();
            GradClip.ClipGradNorm(model.Parameters(), 1f);
            opt.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        var w = model.StateEntries().SelectMany(e => e.Value.ToArray()).ToArray();
        return (w, first, last);
    }

    [Fact]
    public void A_small_CNN_trained_with_AdamW_is_bit_identical_across_runs_and_learns()
    {
        var a = Train(77);
        var b = Train(77);
        a.Weights.Select(BitConverter.SingleToInt32Bits).Should().Equal(b.Weights.Select(BitConverter.SingleToInt32Bits));
        a.LastLoss.Should().BeLessThan(a.FirstLoss * 0.7f);
        var c = Train(78);
        c.Weights.Should().NotEqual(a.Weights);
    }
}
