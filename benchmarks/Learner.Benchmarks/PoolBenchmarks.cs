using BenchmarkDotNet.Attributes;
using Learner.Nn;

namespace Learner.Benchmarks;

/// <summary>2×2 stride-2 max pooling, forward and backward, on the two pooled activations of the small CNN
/// (<see cref="TrainingStepBenchmarks.SmallCnn"/>): the shapes where the branchless kernel replaced a scalar loop
/// that mispredicted on every other element of random data.</summary>
[MemoryDiagnoser]
public class PoolBenchmarks
{
    private Tensor _x = null!;
    private Tensor _gy = null!;

    /// <summary>The input shape, N×C×H×W.</summary>
    [Params("32x16x32x32", "32x32x16x16", "8x64x31x31")]
    public string Shape { get; set; } = "32x16x32x32";

    /// <summary>A standard-normal input that requires a gradient.</summary>
    [GlobalSetup]
    public void Setup()
    {
        int[] dims = Shape.Split('x').Select(int.Parse).ToArray();
        var rng = new Rng(5);
        _x = Tensor.Normal(rng, 0, 1, dims).RequireGrad();
        _gy = Tensor.Normal(rng, 0, 1, dims[0], dims[1], dims[2] / 2, dims[3] / 2);
    }

    /// <summary>Forward only, no graph.</summary>
    [Benchmark]
    public float Forward()
    {
        using var scope = TensorScope.Begin();
        using var noGrad = Autograd.NoGrad();
        return Ops.MaxPool2d(_x, 2).Data[0];
    }

    /// <summary>Forward, then the backward of a fixed output gradient (the input gradient).</summary>
    [Benchmark]
    public float ForwardBackward()
    {
        using var scope = TensorScope.Begin();
        Ops.MaxPool2d(_x, 2).Backward(_gy);
        return _x.Grad!.Data[0];
    }
}
