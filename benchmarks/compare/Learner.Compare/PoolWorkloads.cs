using Learner.Nn;

namespace Learner.Compare;

/// <summary>Max pooling forward + backward (Learner only), named "pool/max-k{k}s{s}p{p}-{c}-{hw}-n{n}": the ResNet-18
/// preset's 3×3 stride-2 padding-1 pool after its ImageNet stem (64 channels of 16×16 on 128 frames), and the small
/// CNN's 2×2 stride-2 one.</summary>
public static class PoolWorkloads
{
    /// <summary>(kernel, stride, padding, channels, square size, batch).</summary>
    public static readonly (int K, int S, int P, int C, int Hw, int N)[] Shapes =
    {
        (3, 2, 1, 64, 16, 128), (2, 2, 0, 16, 32, 32),
    };

    /// <summary>Adds the pool workloads.</summary>
    public static void Register(WorkloadRegistry registry)
    {
        foreach (var (k, s, p, c, hw, n) in Shapes)
            registry.Add($"pool/max-k{k}s{s}p{p}-{c}-{hw}-n{n}", $"max pool {k}×{k}/{s} pad {p}, {n}×{c}×{hw}×{hw}, forward+backward", () =>
            {
                var x = Tensor.Uniform(new Rng(1), -1, 1, n, c, hw, hw).RequireGrad();
                int o = (hw + 2 * p - k) / s + 1;
                var gy = Tensor.Uniform(new Rng(2), -1, 1, n, c, o, o);
                return () =>
                {
                    using var scope = TensorScope.Begin();
                    x.ZeroGrad();
                    Ops.MaxPool2d(x, k, s, p).Backward(gy);
                };
            });
    }
}
