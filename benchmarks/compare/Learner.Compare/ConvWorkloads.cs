using Learner.Nn;

namespace Learner.Compare;

/// <summary>Conv2d forward+backward (input, weight and bias gradients for a fixed upstream gradient), named
/// "conv/k{k}s{s}-{cin}-{cout}-{hw}-n{n}" as in compare_conv.py; padding is k / 2.</summary>
public static class ConvWorkloads
{
    /// <summary>(kernel, stride, in channels, out channels, square size, batch).</summary>
    public static readonly (int K, int S, int Cin, int Cout, int Hw, int N)[] Shapes =
    {
        (3, 1, 64, 64, 32, 64), (3, 1, 128, 128, 16, 64), (1, 1, 64, 256, 32, 64), (3, 2, 64, 128, 32, 64), (7, 2, 3, 64, 112, 16),
        // the rest of ResNet-18's basic-block shapes on 32×32 inputs at batch 64 (stages 2–4, 1×1 stride-2 shortcuts)
        (1, 2, 64, 128, 32, 64), (3, 2, 128, 256, 16, 64), (3, 1, 256, 256, 8, 64), (1, 2, 128, 256, 16, 64),
        (3, 2, 256, 512, 8, 64), (3, 1, 512, 512, 4, 64), (1, 2, 256, 512, 8, 64),
    };

    /// <summary>3×3 stride-1 shapes around the Winograd threshold (Learner only, no PyTorch twin): the TSM default
    /// preset's stages (widths 8–64 on 32×32 frames, 16 clips × 8 frames = 128 frames, as Learner.TorchSharp.Benchmarks
    /// --quick) and the channel × size grid between them and ResNet-18's, named "conv/k3s1-{cin}-{cout}-{hw}-n{n}".</summary>
    public static readonly (int K, int S, int Cin, int Cout, int Hw, int N)[] ThresholdShapes =
    {
        (3, 1, 8, 8, 32, 128), (3, 1, 16, 16, 16, 128), (3, 1, 32, 32, 8, 128), (3, 1, 64, 64, 4, 128),
        (3, 1, 32, 32, 32, 64), (3, 1, 64, 64, 8, 64), (3, 1, 64, 64, 16, 64), (3, 1, 128, 128, 4, 64), (3, 1, 128, 128, 8, 64),
        (3, 1, 256, 256, 4, 64),
    };

    /// <summary>The TSM default preset's convolutions that are not 3×3 stride-1 (Learner only): its stem (1 → 8 on 32×32)
    /// and each stage's stride-2 3×3 entry and 1×1 stride-2 shortcut, on 128 frames (16 clips × 8).</summary>
    public static readonly (int K, int S, int Cin, int Cout, int Hw, int N)[] TsmEntryShapes =
    {
        (3, 1, 1, 8, 32, 128), (3, 2, 8, 16, 32, 128), (1, 2, 8, 16, 32, 128), (3, 2, 16, 32, 16, 128), (1, 2, 16, 32, 16, 128),
        (3, 2, 32, 64, 8, 128), (1, 2, 32, 64, 8, 128),
    };

    /// <summary>The 3×3 convolutions of the ResNet-18 preset's last two stages on 32×32 clips (16 clips × 8 frames), whose
    /// maps are 2×2 and 1×1 (Learner only): the taps that meet only padding are cut (<c>ConvWindowCrop</c>: to one on
    /// 1×1 maps, to 2×2 for the stride-2 one from 2×2), while on 2×2 maps at stride 1 every tap meets some output
    /// (compare with <c>LEARNER_CONV_ALGORITHM=gemm</c>, the uncut im2col path).</summary>
    public static readonly (int K, int S, int Cin, int Cout, int Hw, int N)[] SmallMapShapes =
    {
        (3, 1, 256, 256, 2, 128), (3, 2, 256, 512, 2, 128), (3, 1, 512, 512, 1, 128),
    };

    /// <summary>The convolutions of the ResNet-18 preset's stem and first two stages on 32×32 clips (16 clips × 8
    /// frames; Learner only): the stem, then 8×8 and 4×4 maps, where Winograd's tiles are gathered across samples.</summary>
    public static readonly (int K, int S, int Cin, int Cout, int Hw, int N)[] PresetStageShapes =
    {
        (7, 2, 3, 64, 32, 128), (3, 1, 64, 64, 8, 128), (3, 2, 64, 128, 8, 128), (1, 2, 64, 128, 8, 128),
        (3, 1, 128, 128, 4, 128), (3, 2, 128, 256, 4, 128), (1, 2, 128, 256, 4, 128),
    };

    /// <summary>Adds the conv workloads.</summary>
    public static void Register(WorkloadRegistry registry)
    {
        foreach (var (k, s, cin, cout, hw, n) in Shapes.Concat(ThresholdShapes).Concat(TsmEntryShapes).Concat(SmallMapShapes).Concat(PresetStageShapes))
        {
            registry.Add($"conv/k{k}s{s}-{cin}-{cout}-{hw}-n{n}", $"conv2d {k}×{k}/{s} {cin}→{cout}, {n}×{hw}×{hw}, forward+backward", () =>
            {
                var rng = new Rng(1);
                var x = Tensor.Uniform(rng, -1, 1, n, cin, hw, hw).RequireGrad();
                var w = Tensor.Uniform(rng, -0.1f, 0.1f, cout, cin, k, k).RequireGrad();
                var b = Tensor.Uniform(rng, -0.1f, 0.1f, cout).RequireGrad();
                int o = (hw + 2 * (k / 2) - k) / s + 1;
                var gy = Tensor.Uniform(rng, -1, 1, n, cout, o, o);
                return () =>
                {
                    using var scope = TensorScope.Begin();
                    x.ZeroGrad(); w.ZeroGrad(); b.ZeroGrad();
                    Ops.Conv2d(x, w, b, s, k / 2).Backward(gy);
                };
            });
        }
    }
}
