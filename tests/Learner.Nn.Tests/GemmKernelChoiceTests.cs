using Learner.Nn.Kernels;

namespace Learner.Nn.Tests;

public class GemmKernelChoiceTests
{
    [Fact]
    public void The_FMA_kernels_give_bit_identical_products_whatever_their_tile()
    {
        var kernels = new[] { GemmIsa.Avx512, GemmIsa.Avx512Tall, GemmIsa.Avx512Mixed, GemmIsa.Avx2, GemmIsa.Avx2Wide, GemmIsa.Avx2Mixed }
            .Where(k => k is GemmIsa.Avx2 or GemmIsa.Avx2Wide or GemmIsa.Avx2Mixed ? Avx2MicroKernel.IsSupported : Avx512MicroKernel.IsSupported).ToArray();
        if (kernels.Length < 2) return;  // one FMA kernel only: nothing to compare on this machine
        var rng = new Rng(31);
        foreach (var (m, n, k, ta, tb) in new[] { (37, 45, 600, false, false), (130, 70, 257, true, false), (64, 300, 513, false, true), (8, 500, 300, false, false), (24, 90, 72, false, true), (16, 286, 144, false, false), (8, 72, 1086, false, true) })
        {
            var a = new float[m * k]; rng.FillUniform(a, -1, 1);
            var b = new float[k * n]; rng.FillUniform(b, -1, 1);
            var c0 = new float[m * n]; rng.FillUniform(c0, -1, 1);
            float[]? first = null;
            foreach (var isa in kernels)
            {
                var c = (float[])c0.Clone();
                Gemm.SgemmCore(isa, 2, ta, tb, m, n, k, 0.7f, a, ta ? m : k, b, tb ? k : n, 0.3f, c, n);
                c.Should().NotEqual(c0);
                if (first is null) first = c;
                else c.Should().Equal(first, $"{isa} against {kernels[0]} for {m}×{n}×{k}");
            }
        }
    }

    [Fact]
    public void The_override_names_a_kernel_or_is_refused()
    {
        GemmKernelChoice.Parse(null).Should().BeNull();
        GemmKernelChoice.Parse(" ").Should().BeNull();
        GemmKernelChoice.Parse("AVX512-16x16").Should().Be(GemmIsa.Avx512Tall);
        GemmKernelChoice.Parse("avx2").Should().Be(GemmIsa.Avx2);
        GemmKernelChoice.Parse("avx512-mixed").Should().Be(GemmIsa.Avx512Mixed);
        GemmKernelChoice.Parse("AVX2-4x24").Should().Be(GemmIsa.Avx2Wide);
        GemmKernelChoice.Parse("avx2-mixed").Should().Be(GemmIsa.Avx2Mixed);
        FluentActions.Invoking(() => GemmKernelChoice.Parse("avx1024")).Should().Throw<InvalidOperationException>()
            .WithMessage("*avx1024*avx512-16x16*");
    }

    [Fact]
    public void Zen_4_gets_its_measured_kernel_and_other_processors_the_widest()
    {
        if (!Avx512MicroKernel.IsSupported && Avx2MicroKernel.IsSupported)
        {
            // Without AVX-512, every processor kind takes the AVX2 choice between the 6×16 and 4×24 tiles.
            GemmKernelChoice.ForProcessor("AMD EPYC", 25).Should().Be(GemmIsa.Avx2Mixed);
            GemmKernelChoice.ForProcessor("Intel(R) Core(TM) i7", 6).Should().Be(GemmIsa.Avx2Mixed);
        }
        if (!Avx512MicroKernel.IsSupported) return;  // the rest concerns AVX-512 machines
        GemmKernelChoice.ForProcessor("AMD EPYC 9R14", 25).Should().Be(GemmKernelChoice.ZenFourKernel);
        GemmKernelChoice.ForProcessor("AMD EPYC 9R45", 26).Should().Be(GemmIsa.Avx512);
        GemmKernelChoice.ForProcessor("Intel(R) Xeon(R) Processor", 6).Should().Be(GemmIsa.Avx512);
    }

    [Fact]
    public void An_AVX512_kernel_asked_for_on_a_processor_without_it_becomes_that_processors_default()
    {
        foreach (var isa in new[] { GemmIsa.Avx512, GemmIsa.Avx512Tall, GemmIsa.Avx512Mixed })
        {
            var expected = Avx512MicroKernel.IsSupported ? isa
                : Avx2MicroKernel.IsSupported ? GemmKernelChoice.AvxTwoKernel   // LEARNER_GEMM_KERNEL=avx512 on Zen 3: 6×16 / 4×24, not 6×16 alone
                : Gemm.Supported(GemmIsa.Vector128);
            Gemm.Supported(isa).Should().Be(expected, $"{isa} on this processor");
        }
    }

    [Fact]
    public void The_mixed_choice_gives_rows_that_would_half_fill_a_16_row_tile_to_the_8_row_kernel()
    {
        // m mod 16 in 1 … 8 → 8×32; a multiple of 16 or 9 … 15 left over → 16×16; other families are themselves.
        foreach (var (m, expected) in new[] { (1, GemmIsa.Avx512), (8, GemmIsa.Avx512), (9, GemmIsa.Avx512Tall), (16, GemmIsa.Avx512Tall),
                     (24, GemmIsa.Avx512), (32, GemmIsa.Avx512Tall), (1000, GemmIsa.Avx512), (1024, GemmIsa.Avx512Tall), (0, GemmIsa.Avx512Tall) })
            Gemm.ForRows(GemmIsa.Avx512Mixed, m).Should().Be(expected, "for {0} rows", m);
        foreach (var isa in new[] { GemmIsa.Avx512, GemmIsa.Avx512Tall, GemmIsa.Avx2, GemmIsa.Vector128, GemmIsa.Scalar })
            Gemm.ForRows(isa, 8).Should().Be(isa);
        GemmPackedA.PaddedRows(GemmIsa.Avx512Mixed, 8).Should().Be(Avx512MicroKernel.IsSupported ? 8 : GemmPackedA.PaddedRows(GemmKernelChoice.AvxTwoKernel, 8));
        GemmPackedA.PaddedRows(GemmIsa.Avx512Mixed, 20).Should().Be(Avx512MicroKernel.IsSupported ? 24 : GemmPackedA.PaddedRows(GemmKernelChoice.AvxTwoKernel, 20));
        GemmPackedA.PaddedRows(GemmIsa.Avx512Mixed, 25).Should().Be(Avx512MicroKernel.IsSupported ? 32 : GemmPackedA.PaddedRows(GemmKernelChoice.AvxTwoKernel, 25));
    }

    [Fact]
    public void The_AVX2_mixed_choice_takes_the_4x24_kernel_where_its_tiles_pad_at_least_4_percent_less_area()
    {
        // Columns unknown (a pre-packed A): rows alone — 8, 16, 32 rows pad a third, an eighth, an eighth in 6-row tiles;
        // 64 and 1024 only 3 % and 0.2 %; 12, 72, 144 none; 10 and 5 as much or more in 4-row tiles.
        foreach (var (m, expected) in new[] { (8, GemmIsa.Avx2Wide), (16, GemmIsa.Avx2Wide), (32, GemmIsa.Avx2Wide), (4, GemmIsa.Avx2Wide),
                     (1, GemmIsa.Avx2Wide), (13, GemmIsa.Avx2Wide), (64, GemmIsa.Avx2), (1024, GemmIsa.Avx2), (6, GemmIsa.Avx2), (12, GemmIsa.Avx2),
                     (72, GemmIsa.Avx2), (144, GemmIsa.Avx2), (10, GemmIsa.Avx2), (5, GemmIsa.Avx2), (0, GemmIsa.Avx2) })
            Gemm.ForRows(GemmIsa.Avx2Mixed, m).Should().Be(expected, "for {0} rows", m);
        // Columns known: the padded area of both tilings (a last 24-column panel a third or two thirds full at 32, 64, 128 columns loses).
        foreach (var (m, n, expected) in new[] { (8, 1086, GemmIsa.Avx2Wide), (16, 286, GemmIsa.Avx2Wide), (8, 72, GemmIsa.Avx2Wide),
                     (32, 256, GemmIsa.Avx2Wide), (32, 32, GemmIsa.Avx2), (64, 64, GemmIsa.Avx2), (4096, 128, GemmIsa.Avx2), (1024, 1024, GemmIsa.Avx2),
                     (96, 96, GemmIsa.Avx2) })
            Gemm.ForShape(GemmIsa.Avx2Mixed, m, n).Should().Be(expected, "for {0}×{1}", m, n);
        foreach (var isa in new[] { GemmIsa.Avx512, GemmIsa.Avx512Tall, GemmIsa.Avx2, GemmIsa.Avx2Wide, GemmIsa.Vector128, GemmIsa.Scalar })
            Gemm.ForShape(isa, 8, 1086).Should().Be(isa);
        if (!Avx2WideMicroKernel.IsSupported) return;
        GemmPackedA.PaddedRows(GemmIsa.Avx2Mixed, 8).Should().Be(8);
        GemmPackedA.PaddedRows(GemmIsa.Avx2Mixed, 10).Should().Be(12);
        GemmPackedA.PaddedRows(GemmIsa.Avx2Mixed, 13).Should().Be(16);
        GemmPackedA.PaddedRows(GemmIsa.Avx2Mixed, 64).Should().Be(66);
        GemmPackedA.PaddedRows(GemmIsa.Avx2Wide, 9).Should().Be(12);
    }
}
