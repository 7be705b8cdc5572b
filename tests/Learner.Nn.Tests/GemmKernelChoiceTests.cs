using Learner.Nn.Kernels;

namespace Learner.Nn.Tests;

public class GemmKernelChoiceTests
{
    [Fact]
    public void The_FMA_kernels_give_bit_identical_products_whatever_their_tile()
    {
        var kernels = new[] { GemmIsa.Avx512, GemmIsa.Avx512Tall, GemmIsa.Avx2 }
            .Where(k => k == GemmIsa.Avx2 ? Avx2MicroKernel.IsSupported : Avx512MicroKernel.IsSupported).ToArray();
        if (kernels.Length < 2) return;  // one FMA kernel only: nothing to compare on this machine
        var rng = new Rng(31);
        foreach (var (m, n, k, ta, tb) in new[] { (37, 45, 600, false, false), (130, 70, 257, true, false), (64, 300, 513, false, true) })
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
        FluentActions.Invoking(() => GemmKernelChoice.Parse("avx1024")).Should().Throw<InvalidOperationException>()
            .WithMessage("*avx1024*avx512-16x16*");
    }

    [Fact]
    public void Zen_4_gets_its_measured_kernel_and_other_processors_the_widest()
    {
        if (!Avx512MicroKernel.IsSupported) return;  // the rule only concerns AVX-512 machines
        GemmKernelChoice.ForProcessor("AMD EPYC 9R14", 25).Should().Be(GemmKernelChoice.ZenFourKernel);
        GemmKernelChoice.ForProcessor("AMD EPYC 9R45", 26).Should().Be(GemmIsa.Avx512);
        GemmKernelChoice.ForProcessor("Intel(R) Xeon(R) Processor", 6).Should().Be(GemmIsa.Avx512);
    }
}
