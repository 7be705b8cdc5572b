using Learner.Nn;
using Learner.Nn.Modules;
using Learner.Nn.Optim;

namespace Learner.Compare;

/// <summary>One training step of a small CNN (the same network as compare_training.py): forward, cross-entropy,
/// backward, AdamW; named "train/small-cnn-b32".</summary>
public static class TrainingWorkloads
{
    /// <summary>Adds the training-step workload.</summary>
    public static void Register(WorkloadRegistry registry)
    {
        registry.Add("train/small-cnn-b32", "small CNN (3 conv-BN-ReLU stages, 16-32-64) step on 32×1×32×32 with AdamW", () =>
        {
            var rng = new Rng(3);
            var model = new Sequential(
                new Conv2d(1, 16, 3, rng, padding: 1), new BatchNorm2d(16), new Relu(), new MaxPool2d(2),
                new Conv2d(16, 32, 3, rng, padding: 1), new BatchNorm2d(32), new Relu(), new MaxPool2d(2),
                new Conv2d(32, 64, 3, rng, padding: 1), new BatchNorm2d(64), new Relu(),
                new GlobalAvgPool(), new Linear(64, 3, rng));
            var opt = new AdamW(model.Parameters(), learningRate: 1e-3);
            var x = Tensor.Normal(rng, 0, 1, 32, 1, 32, 32);
            var y = Enumerable.Range(0, 32).Select(i => i % 3).ToArray();
            return () =>
            {
                using var scope = TensorScope.Begin();
                opt.ZeroGrad();
                var loss = Ops.CrossEntropy(model.Forward(x), y);
                loss.Backward();
                opt.Step();
            };
        });
    }
}
