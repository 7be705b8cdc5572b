using BenchmarkDotNet.Attributes;
using Learner.Nn;
using Learner.Nn.Kernels;

namespace Learner.Benchmarks;

/// <summary>SGEMM (C = A·B, row-major, no transposes) on square and skinny shapes.</summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    private float[] _a = Array.Empty<float>(), _b = Array.Empty<float>(), _c = Array.Empty<float>();

    /// <summary>The shape as "m×n×k".</summary>
    [Params("256x256x256", "512x512x512", "1024x1024x1024", "2048x2048x2048", "4096x128x128", "128x4096x128", "1024x1024x64")]
    public string Shape { get; set; } = "1024x1024x1024";

    private int _m, _n, _k;

    [GlobalSetup]
    public void Setup()
    {
        var d = Shape.Split('x').Select(int.Parse).ToArray();
        (_m, _n, _k) = (d[0], d[1], d[2]);
        var rng = new Rng(1);
        _a = new float[_m * _k];
        _b = new float[_k * _n];
        _c = new float[_m * _n];
        rng.FillUniform(_a, -1f, 1f);
        rng.FillUniform(_b, -1f, 1f);
    }

    [Benchmark]
    public void Sgemm() => Gemm.Sgemm(false, false, _m, _n, _k, 1f, _a, _k, _b, _n, 0f, _c, _n);
}
