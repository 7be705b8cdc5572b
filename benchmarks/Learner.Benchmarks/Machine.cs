namespace Learner.Benchmarks;

/// <summary>The machine line every benchmark table prints.</summary>
internal static class Machine
{
    public static string Describe() => Learner.Nn.Kernels.CpuInfo.Describe();
}
