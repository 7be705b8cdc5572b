using Learner.Nn;

namespace Learner.Compare;

/// <summary>Batch normalisation in training mode, forward + backward (Learner only), named
/// "norm/batch-{c}-{hw}-n{n}": the ResNet-18 preset's maps on 32×32 clips (128 frames), from 8×8 down to 1×1, where
/// each (frame, channel) plane is 64, 16, 4 or 1 floats.</summary>
public static class NormWorkloads
{
    /// <summary>(channels, square size, batch).</summary>
    public static readonly (int C, int Hw, int N)[] Shapes =
    {
        (64, 8, 128), (128, 4, 128), (256, 2, 128), (512, 1, 128),
    };

    /// <summary>Adds the norm workloads.</summary>
    public static void Register(WorkloadRegistry registry)
    {
        foreach (var (c, hw, n) in Shapes)
            registry.Add($"norm/batch-{c}-{hw}-n{n}", $"batch norm (training), {n}×{c}×{hw}×{hw}, forward+backward", () =>
            {
                var x = Tensor.Uniform(new Rng(1), -1, 1, n, c, hw, hw).RequireGrad();
                var w = Tensor.Uniform(new Rng(2), 0.5f, 1.5f, c).RequireGrad();
                var b = Tensor.Uniform(new Rng(3), -0.1f, 0.1f, c).RequireGrad();
                var mean = Tensor.Zeros(c);
                var variance = Tensor.Ones(c);
                var gy = Tensor.Uniform(new Rng(4), -1, 1, n, c, hw, hw);
                return () =>
                {
                    using var scope = TensorScope.Begin();
                    x.ZeroGrad(); w.ZeroGrad(); b.ZeroGrad();
                    Ops.BatchNorm(x, w, b, mean, variance, training: true).Backward(gy);
                };
            });
    }
}
