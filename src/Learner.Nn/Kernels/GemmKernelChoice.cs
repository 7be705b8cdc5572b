namespace Learner.Nn.Kernels;

/// <summary>
/// Which GEMM micro-kernel runs on this machine: the one measured fastest for the processor kind (<see cref="CpuInfo"/>'s
/// family; on AVX2-only processors the 6×16 / 4×24 choice), else the widest the hardware supports; the environment variable <c>LEARNER_GEMM_KERNEL</c> overrides it.
/// </summary>
/// <remarks>
/// Every FMA kernel (AVX-512 8×32 and 16×16, AVX2 6×16 and 4×24) reduces each element of C in the same order, so the choice changes
/// speed only, never a bit of the result; the 128-bit and scalar kernels round differently (no fused multiply–add on
/// every target).
/// </remarks>
internal static class GemmKernelChoice
{
    /// <summary>The name of the environment variable that overrides the choice.</summary>
    internal const string EnvironmentVariable = "LEARNER_GEMM_KERNEL";

    /// <summary>The kernel names the override accepts, with their kernels.</summary>
    internal static readonly (string Name, GemmIsa Isa)[] Names =
    {
        ("avx512", GemmIsa.Avx512), ("avx512-16x16", GemmIsa.Avx512Tall), ("avx512-mixed", GemmIsa.Avx512Mixed), ("avx2", GemmIsa.Avx2), ("avx2-4x24", GemmIsa.Avx2Wide), ("avx2-mixed", GemmIsa.Avx2Mixed),
        ("vector128", GemmIsa.Vector128), ("scalar", GemmIsa.Scalar),
    };

    /// <summary>The kernel of this process (read once).</summary>
    internal static GemmIsa Current { get; } =
        Parse(Environment.GetEnvironmentVariable(EnvironmentVariable)) ?? ForProcessor(CpuInfo.ModelName, CpuInfo.Family);

    /// <summary>The default for a processor: the widest kernel, with the per-kind exceptions measured (see docs/performance.md).</summary>
    internal static GemmIsa ForProcessor(string model, int? family)
    {
        GemmIsa widest = Avx512MicroKernel.IsSupported ? GemmIsa.Avx512 :
            Avx2MicroKernel.IsSupported ? AvxTwoKernel :
            Vector128MicroKernel.IsSupported ? GemmIsa.Vector128 : GemmIsa.Scalar;
        bool zen4 = family == 25 && model.Contains("AMD", StringComparison.OrdinalIgnoreCase);
        return widest == GemmIsa.Avx512 && zen4 ? ZenFourKernel : widest;
    }

    /// <summary>The kernel chosen on AMD family 25 (Zen 4, whose AVX-512 runs as two 256-bit halves, with a 32 KiB
    /// L1d that the 8×32 kernel's 32 KiB B micro-panel fills): the 16×16 tile, whose panel takes half of it, except for
    /// products whose rows would leave its last tile at most half full, which take the 8×32 tile
    /// (<see cref="GemmIsa.Avx512Mixed"/>). On a quiet Zen 4 (session 17, docs/performance.md) 16×16 was 3–5 % faster on
    /// 1024³ and 2048³ products, on one thread and two, but 16×16 everywhere made the TSM preset's pretraining step 20 %
    /// slower than 8×32 (its 8-channel convolutions' GEMMs have 8 rows).</summary>
    internal const GemmIsa ZenFourKernel = GemmIsa.Avx512Mixed;

    /// <summary>The kernel chosen on every processor with AVX2 and FMA but not AVX-512: the 6×16 tile, or the 4×24 one
    /// for products that 6-row tiles pad much more (<see cref="GemmIsa.Avx2Mixed"/>, <see cref="Gemm.ForShape"/>). On Zen 3
    /// (session 24, docs/performance.md; `Learner.Benchmarks gemm-kernels`, both in one process) the 4×24 tile made the
    /// TSM preset's 8- and 16-row products 1.13–1.54× faster and the 6×16 tile was as fast or faster everywhere else
    /// (0.80× for 4×24 on 4096 × 128 × 128, whose 128 columns leave a 24-column panel a third full).</summary>
    internal const GemmIsa AvxTwoKernel = GemmIsa.Avx2Mixed;

    /// <summary>The micro-kernel tile (rows × columns of C) of a kernel family, as the hardware resolves it (for
    /// <see cref="GemmIsa.Avx512Mixed"/>, its 16×16 tile; <see cref="Gemm.ForRows"/> says which one a product takes).</summary>
    internal static (int MR, int NR) Tile(GemmIsa isa) => Gemm.Supported(isa) switch
    {
        GemmIsa.Avx512 => (Avx512MicroKernel.MR, Avx512MicroKernel.NR),
        GemmIsa.Avx512Tall or GemmIsa.Avx512Mixed => (Avx512TallMicroKernel.MR, Avx512TallMicroKernel.NR),
        GemmIsa.Avx2 or GemmIsa.Avx2Mixed => (Avx2MicroKernel.MR, Avx2MicroKernel.NR),
        GemmIsa.Avx2Wide => (Avx2WideMicroKernel.MR, Avx2WideMicroKernel.NR),
        GemmIsa.Vector128 => (Vector128MicroKernel.MR, Vector128MicroKernel.NR),
        _ => (ScalarMicroKernel.MR, ScalarMicroKernel.NR),
    };

    /// <summary>"avx512 8×32 (KC 256, MC 256, NC 2048)": the kernel this process runs, its tile and cache blocking.</summary>
    internal static string Describe()
    {
        GemmIsa isa = Gemm.Supported(Current);
        string name = Names.First(n => n.Isa == isa).Name;
        var (mr, nr) = Tile(isa);
        var b = GemmBlocking.For(mr, nr);
        string line = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{name} {mr}×{nr} (KC {b.KC}, MC {b.MC}, NC {b.NC})");
        if (isa is not (GemmIsa.Avx512Mixed or GemmIsa.Avx2Mixed)) return line;
        bool avx512 = isa == GemmIsa.Avx512Mixed;
        var (mr2, nr2) = Tile(avx512 ? GemmIsa.Avx512 : GemmIsa.Avx2Wide);
        var b2 = GemmBlocking.For(mr2, nr2);
        string rule = avx512 ? "rows ≡ 1…8 mod 16" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"products its tiles pad {Gemm.WideTileSaving:P0} less");
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{line}, or {mr2}×{nr2} (KC {b2.KC}, MC {b2.MC}, NC {b2.NC}) for {rule}");
    }

    /// <summary>Parses an override; null or blank means none.</summary>
    /// <exception cref="InvalidOperationException">The name is not one of <see cref="Names"/>.</exception>
    internal static GemmIsa? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        foreach (var (name, isa) in Names)
            if (string.Equals(name, text.Trim(), StringComparison.OrdinalIgnoreCase)) return isa;
        throw new InvalidOperationException(
            $"{EnvironmentVariable} = '{text}' is not a GEMM kernel; expected one of {string.Join(", ", Names.Select(n => n.Name))}.");
    }
}
