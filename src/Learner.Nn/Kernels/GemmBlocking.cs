using System.Globalization;

namespace Learner.Nn.Kernels;

/// <summary>
/// The GEMM's cache blocking for one micro-kernel: the reduction depth <see cref="KC"/> of a packed slice, the rows
/// <see cref="MC"/> of a packed A block and the columns <see cref="NC"/> of a packed B block.
/// </summary>
/// <remarks>
/// <para>KC is fixed at 256 on every machine: it sets where the reduction is split (each KC slice is summed from zero
/// and added to C), so a KC derived from the cache would make machines with the same instruction set round differently
/// in the last bits, and no measurement showed a gain from changing it (a B micro-panel of 256 × 32 floats plus an A
/// micro-panel fit a 48 KiB L1d; on a 32 KiB L1d they spill to L2, which was not measured to matter). MC and NC only
/// partition C and never change a bit: they are derived from the cache sizes <see cref="CpuInfo"/> reads at start-up —
/// MC puts the packed A block at a quarter of the core's L2 and NC the packed B block at half of the core's share of L3
/// (within [512, 2048]: 2048 is the largest block measured).</para>
/// <para>The environment variable <c>LEARNER_GEMM_BLOCKING</c> = <c>KC,MC,NC</c> overrides all three for every kernel
/// (MC and NC are rounded up to the kernel's tile); a KC other than 256 changes the last bits of results.</para>
/// </remarks>
internal readonly record struct GemmBlocking(int KC, int MC, int NC)
{
    /// <summary>The name of the environment variable that overrides the blocking.</summary>
    internal const string EnvironmentVariable = "LEARNER_GEMM_BLOCKING";

    private static readonly Lazy<GemmBlocking?> Override = new(ReadOverride);

    /// <summary>The blocking of micro-kernel <typeparamref name="TK"/> on this machine (computed once).</summary>
    internal static GemmBlocking Of<TK>() where TK : struct, IGemmMicroKernel => PerKernel<TK>.Value;

    /// <summary>The blocking for a kernel of <paramref name="mr"/> × <paramref name="nr"/> tiles on this machine.</summary>
    internal static GemmBlocking For(int mr, int nr) =>
        Override.Value is { } o ? o.RoundedTo(mr, nr) : FromCaches(CpuInfo.L2Bytes, CpuInfo.L3PerCoreBytes, mr, nr);

    /// <summary>The reduction depth of a packed slice on every machine (see the type's remarks).</summary>
    internal const int FixedKC = 256;

    /// <summary>The blocking the cache sizes give (see the type's remarks for the rules).</summary>
    internal static GemmBlocking FromCaches(long l2Bytes, long l3PerCoreBytes, int mr, int nr)
    {
        const int KC = FixedKC;
        long mc = l2Bytes / 4 / (KC * sizeof(float)) / mr * mr;
        int MC = (int)Math.Clamp(mc, mr, 4096 / mr * mr);
        long nc = l3PerCoreBytes / 2 / (KC * sizeof(float)) / nr * nr;
        int NC = (int)Math.Clamp(nc, (512 + nr - 1) / nr * nr, 2048 / nr * nr);
        return new GemmBlocking(KC, MC, NC);
    }

    /// <summary>This blocking with MC and NC rounded up to whole tiles.</summary>
    internal GemmBlocking RoundedTo(int mr, int nr) => new(KC, (MC + mr - 1) / mr * mr, (NC + nr - 1) / nr * nr);

    /// <summary>Checks a blocking given by a caller.</summary>
    internal GemmBlocking Validated(string source)
    {
        if (KC < 1 || MC < 1 || NC < 1 || KC > 1 << 16 || MC > 1 << 16 || NC > 1 << 16)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"GEMM blocking KC = {KC}, MC = {MC}, NC = {NC} from {source}: each must be between 1 and 65536."));
        return this;
    }

    private static GemmBlocking? ReadOverride() => ParseOverride(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>Parses a <c>KC,MC,NC</c> override; null or blank means none.</summary>
    /// <exception cref="InvalidOperationException">The text is not three whole numbers.</exception>
    /// <exception cref="ArgumentException">A number is outside [1, 65536].</exception>
    internal static GemmBlocking? ParseOverride(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 3 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int kc)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int mc)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int nc))
            throw new InvalidOperationException($"{EnvironmentVariable} = '{text}' is not three whole numbers KC,MC,NC (e.g. 256,256,2048).");
        return new GemmBlocking(kc, mc, nc).Validated(EnvironmentVariable);
    }

    private static class PerKernel<TK> where TK : struct, IGemmMicroKernel
    {
        public static readonly GemmBlocking Value = For(TK.MR, TK.NR);
    }
}
