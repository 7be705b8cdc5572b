using BenchmarkDotNet.Attributes;
using Learner.Nn;

namespace Learner.Benchmarks;

/// <summary>Conv2d forward and forward+backward (input, weight and bias gradients) for ResNet-stage shapes.</summary>
[MemoryDiagnoser]
public class ConvBenchmarks
{
    /// <summary>Shape: "k s Cin Cout HW N" (kernel, stride, channels, square input size, batch); padding is k / 2.</summary>
    [Params("3 1 64 64 32 64", "3 1 128 128 16 64", "1 1 64 256 32 64", "1 1 256 64 32 64", "3 2 64 128 32 64", "7 2 3 64 112 16")]
    public string Shape { get; set; } = "3 1 64 64 32 64";

    private Tensor _x = null!, _w = null!, _b = null!, _gy = null!;
    private int _stride, _padding;

    /// <summary>Creates the tensors.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var p = Shape.Split(' ').Select(int.Parse).ToArray();
        int k = p[0], cin = p[2], cout = p[3], hw = p[4], n = p[5];
        _stride = p[1]; _padding = k / 2;
        var rng = new Rng(1);
        _x = Tensor.Uniform(rng, -1, 1, n, cin, hw, hw).RequireGrad();
        _w = Tensor.Uniform(rng, -0.1f, 0.1f, cout, cin, k, k).RequireGrad();
        _b = Tensor.Uniform(rng, -0.1f, 0.1f, cout).RequireGrad();
        int o = (hw + 2 * _padding - k) / _stride + 1;
        _gy = Tensor.Uniform(rng, -1, 1, n, cout, o, o);
    }

    /// <summary>Forward only, no graph.</summary>
    [Benchmark]
    public float Forward()
    {
        using var scope = TensorScope.Begin();
        using var noGrad = Autograd.NoGrad();
        return Ops.Conv2d(_x, _w, _b, _stride, _padding).Data[0];
    }

    /// <summary>Forward and backward: input, weight and bias gradients.</summary>
    [Benchmark]
    public float ForwardBackward()
    {
        using var scope = TensorScope.Begin();
        var y = Ops.Conv2d(_x, _w, _b, _stride, _padding);
        y.Backward(_gy);
        return _w.Grad!.Data[0];
    }
}
