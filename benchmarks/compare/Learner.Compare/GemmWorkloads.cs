using Learner.Nn;
using Learner.Nn.Kernels;

namespace Learner.Compare;

/// <summary>SGEMM workloads: C = A·B (row-major, no transposes), named "gemm/{m}x{n}x{k}" as in compare_gemm.py.</summary>
public static class GemmWorkloads
{
    /// <summary>The shapes (m, n, k) compared with torch.mm.</summary>
    public static readonly (int M, int N, int K)[] Shapes =
    {
        (256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048),
        (4096, 128, 128), (128, 4096, 128), (1024, 1024, 64),
    };

    /// <summary>Adds the GEMM workloads.</summary>
    public static void Register(WorkloadRegistry registry)
    {
        foreach (var (m, n, k) in Shapes)
        {
            registry.Add($"gemm/{m}x{n}x{k}", $"SGEMM C[{m}×{n}] = A[{m}×{k}]·B[{k}×{n}]", () =>
            {
                var rng = new Rng(1);
                var a = new float[m * k];
                var b = new float[k * n];
                var c = new float[m * n];
                rng.FillNormal(a, 0f, 1f);
                rng.FillNormal(b, 0f, 1f);
                return () => Gemm.Sgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
            });
        }
    }
}
