using Learner.Nn.Kernels;

namespace Learner.Nn.Tests;

public class GemmBlockingTests
{
    [Theory]
    [InlineData(1024 * 1024, 16L << 20, 8, 32, 256, 2048)]   // Zen 5: the blocking measured in docs/performance.md
    [InlineData(1024 * 1024, 4L << 20, 8, 32, 256, 2048)]    // Zen 4: 1 MiB L2, 4 MiB L3 per core
    [InlineData(2048 * 1024, 150L << 20, 8, 32, 512, 2048)]  // Sapphire/Emerald Rapids: 2 MiB L2
    [InlineData(256 * 1024, 1L << 20, 6, 16, 60, 512)]       // an AVX2 core with a small L2
    [InlineData(64 * 1024, 512 * 1024, 4, 8, 16, 512)]       // clamped at the lower limits
    public void Blocking_follows_the_cache_sizes_with_one_reduction_depth(long l2, long l3, int mr, int nr, int mc, int nc)
    {
        var b = GemmBlocking.FromCaches(l2, l3, mr, nr);
        b.Should().Be(new GemmBlocking(GemmBlocking.FixedKC, mc, nc), "KC, which alone changes bits, is the same on every machine");
        (b.MC % mr).Should().Be(0);
        (b.NC % nr).Should().Be(0);
    }

    [Theory]
    [InlineData(1L << 20, 2, 2, 1L << 20)]          // a private L2 shared by a core's two SMT threads
    [InlineData(32L << 20, 16, 2, 4L << 20)]        // an L3 of 8 SMT cores (16 logical CPUs)
    [InlineData(32L << 20, 8, 1, 4L << 20)]         // the same L3 without SMT
    [InlineData(1L << 20, 1, 1, 1L << 20)]
    public void A_shared_cache_is_divided_by_cores_not_by_hardware_threads(long size, int sharing, int threadsPerCore, long perCore)
        => CpuInfo.PerCore(size, sharing, threadsPerCore).Should().Be(perCore);

    [Theory]
    [InlineData("48K", 48 * 1024)]
    [InlineData("2048K", 2 * 1024 * 1024)]
    [InlineData("32M", 32L * 1024 * 1024)]
    [InlineData("512", 512)]
    [InlineData("", 0)]
    [InlineData("abcK", 0)]
    public void Sysfs_sizes_are_parsed(string text, long bytes) => CpuInfo.ParseSize(text).Should().Be(bytes);

    [Theory]
    [InlineData("0", 1)]
    [InlineData("0-1", 2)]
    [InlineData("0-3,8-11", 8)]
    [InlineData("0,2,4", 3)]
    public void Sysfs_cpu_lists_are_counted(string list, int count) => CpuInfo.CountCpus(list).Should().Be(count);

    [Fact]
    public void The_machine_line_names_family_model_and_the_GEMM_kernel_with_its_tile_and_blocking()
    {
        var isa = Gemm.Supported(GemmKernelChoice.Current);
        var (mr, nr) = GemmKernelChoice.Tile(isa);
        var blocking = GemmBlocking.For(mr, nr);
        string line = CpuInfo.Describe();
        line.Should().MatchRegex(@"family (\d+|\?) model (\d+|\?);");
        line.Should().Contain($"GEMM kernel {GemmKernelChoice.Names.First(n => n.Isa == isa).Name} {mr}×{nr} (KC {blocking.KC}, MC {blocking.MC}, NC {blocking.NC})");
    }

    /// <summary>Blockings covering a KC of 1, KC below and above the reduction, MC/NC of one tile, odd sizes and the
    /// machine's own.</summary>
    private static IEnumerable<GemmBlocking> Blockings() => new[]
    {
        new GemmBlocking(1, 1, 1), new GemmBlocking(7, 5, 3), new GemmBlocking(16, 8, 32), new GemmBlocking(64, 64, 64),
        new GemmBlocking(100, 13, 70), new GemmBlocking(160, 408, 2048), new GemmBlocking(256, 256, 2048), new GemmBlocking(512, 4096, 512),
    };

    public static TheoryData<string> Isas() => GemmTests.Isas();

    /// <summary>
    /// Every blocking gives bit-for-bit the result of a reference that sums each element the way the blocked kernels do:
    /// each KC slice of the reduction from zero (fused multiply–adds on the AVX kernels, multiply then add elsewhere), then
    /// <c>alpha·slice</c> added to C in slice order. MC and NC must not change a bit; KC changes only the slicing.
    /// </summary>
    [Theory]
    [MemberData(nameof(Isas))]
    public void Every_blocking_matches_the_reference_bit_for_bit(string isaName)
    {
        var isa = Enum.Parse<GemmIsa>(isaName);
        bool fused = isa is GemmIsa.Avx512 or GemmIsa.Avx512Tall or GemmIsa.Avx512Mixed or GemmIsa.Avx2 or GemmIsa.Avx2Wide or GemmIsa.Avx2Mixed || (isa == GemmIsa.Vector128 && System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported);
        var rng = new Rng(41);
        foreach (var (m, n, k, ta, tb) in new[] { (37, 45, 300, false, false), (64, 96, 129, true, false), (9, 70, 513, false, true), (70, 9, 40, true, true) })
        {
            var a = Random(rng, m * k);
            var b = Random(rng, k * n);
            var c0 = Random(rng, m * n);
            int lda = ta ? m : k, ldb = tb ? k : n;
            foreach (float beta in new[] { 0f, 1f, 0.5f })
                foreach (var blocking in Blockings())
                {
                    var c = (float[])c0.Clone();
                    Gemm.SgemmCore(isa, 1, ta, tb, m, n, k, 1.5f, a, lda, b, ldb, beta, c, n, blocking);
                    var expected = Reference(fused, blocking.KC, ta, tb, m, n, k, 1.5f, a, lda, b, ldb, beta, c0);
                    c.Select(BitConverter.SingleToInt32Bits).Should().Equal(expected.Select(BitConverter.SingleToInt32Bits),
                        $"{isa} {m}×{n}×{k} ta={ta} tb={tb} beta={beta} blocking {blocking}");
                }
        }
    }

    [Fact]
    public void The_environment_override_is_parsed_and_checked()
    {
        GemmBlocking.ParseOverride(null).Should().BeNull();
        GemmBlocking.ParseOverride(" ").Should().BeNull();
        GemmBlocking.ParseOverride("128, 96, 1024").Should().Be(new GemmBlocking(128, 96, 1024));
        GemmBlocking.ParseOverride("128,96,1024")!.Value.RoundedTo(8, 32).Should().Be(new GemmBlocking(128, 96, 1024));
        GemmBlocking.ParseOverride("100,20,70")!.Value.RoundedTo(8, 32).Should().Be(new GemmBlocking(100, 24, 96));
        FluentActions.Invoking(() => GemmBlocking.ParseOverride("256,256")).Should().Throw<InvalidOperationException>().WithMessage("*LEARNER_GEMM_BLOCKING*'256,256'*");
        FluentActions.Invoking(() => GemmBlocking.ParseOverride("0,256,2048")).Should().Throw<ArgumentException>().WithMessage("*KC = 0*");
    }

    [Fact]
    public void A_bad_blocking_is_rejected()
    {
        var x = new float[4];
        FluentActions.Invoking(() => Gemm.SgemmCore(GemmIsa.Scalar, 1, false, false, 2, 2, 2, 1f, x, 2, x, 2, 0f, new float[4], 2, new GemmBlocking(0, 8, 8)))
            .Should().Throw<ArgumentException>().WithMessage("*KC = 0*");
    }

    private static float[] Random(Rng rng, int length)
    {
        var x = new float[length];
        rng.FillUniform(x, -1f, 1f);
        return x;
    }

    private static float[] Reference(bool fused, int kc, bool ta, bool tb, int m, int n, int k, float alpha,
        float[] a, int lda, float[] b, int ldb, float beta, float[] c0)
    {
        var c = (float[])c0.Clone();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float cij = c0[i * n + j];
                for (int p0 = 0; p0 < k; p0 += kc)
                {
                    float t = 0f;
                    for (int p = p0; p < Math.Min(k, p0 + kc); p++)
                    {
                        float x = ta ? a[p * lda + i] : a[i * lda + p];
                        float y = tb ? b[j * ldb + p] : b[p * ldb + j];
                        t = fused ? MathF.FusedMultiplyAdd(x, y, t) : t + x * y;
                    }
                    float r = t * alpha;
                    if (p0 > 0 || beta == 1f) r += cij;
                    else if (beta != 0f) r += cij * beta;
                    cij = r;
                }
                c[i * n + j] = cij;
            }
        return c;
    }
}
