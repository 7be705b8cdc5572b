using BenchmarkDotNet.Attributes;
using Learner.Nn;
using Learner.Nn.Modules;
using Learner.Nn.Optim;

namespace Learner.Benchmarks;

/// <summary>One full training step of a small CNN (forward, cross-entropy, backward, clipping, AdamW) inside a
/// TensorScope: the allocation column shows what a steady-state step allocates.</summary>
[MemoryDiagnoser]
public class TrainingStepBenchmarks
{
    private Sequential _model = null!;
    private AdamW _optimizer = null!;
    private Tensor _x = null!;
    private int[] _y = Array.Empty<int>();

    /// <summary>Batch size.</summary>
    [Params(32)]
    public int Batch { get; set; } = 32;

    /// <summary>Builds the model (Conv-BN-ReLU-Pool ×2, global pool, linear) and a batch of 1×32×32 images.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(3);
        _model = SmallCnn(rng);
        _optimizer = new AdamW(_model.Parameters(), learningRate: 1e-3);
        _x = Tensor.Normal(rng, 0, 1, Batch, 1, 32, 32);
        _y = Enumerable.Range(0, Batch).Select(i => i % 3).ToArray();
        for (int i = 0; i < 3; i++) Step(); // warm the pool and the optimizer state
    }

    /// <summary>The benchmark's network; the compare tool trains the same one.</summary>
    public static Sequential SmallCnn(Rng rng) => new(
        new Conv2d(1, 16, 3, rng, padding: 1), new BatchNorm2d(16), new Relu(), new MaxPool2d(2),
        new Conv2d(16, 32, 3, rng, padding: 1), new BatchNorm2d(32), new Relu(), new MaxPool2d(2),
        new Conv2d(32, 64, 3, rng, padding: 1), new BatchNorm2d(64), new Relu(),
        new GlobalAvgPool(), new Linear(64, 3, rng));

    /// <summary>One step.</summary>
    [Benchmark]
    public float Step()
    {
        using var scope = TensorScope.Begin();
        _optimizer.ZeroGrad();
        var loss = Ops.CrossEntropy(_model.Forward(_x), _y);
        loss.Backward();
        GradClip.ClipGradNorm(_model.Parameters(), 5f);
        _optimizer.Step();
        return loss.Item();
    }
}
