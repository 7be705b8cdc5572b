using Learner.Nn.Kernels;

namespace Learner.Nn.Tests;

/// <summary>
/// A GEMM that reads a pre-packed A (<see cref="GemmPackedA"/>) must give the very bits of the GEMM that packs A
/// itself, for every micro-kernel family, both storage orders of A, ragged row panels, several KC slices, every update
/// mode and any thread split.
/// </summary>
public class GemmPackedATests
{
    [Theory]
    [MemberData(nameof(GemmTests.Isas), MemberType = typeof(GemmTests))]
    public void Products_with_a_prepacked_A_are_bit_identical(string isaName)
    {
        var isa = Enum.Parse<GemmIsa>(isaName);
        var rng = new Rng(17);
        // (m, n, k): m off every MR, k over two KC slices, a product large enough to split over threads.
        // (32, 32): on AVX2 the pack takes 4×24 tiles by its rows while an unpacked product that narrow takes 6×16.
        foreach (var (m, n, k) in new[] { (37, 45, 600), (130, 257, 300), (5, 3, 17), (64, 512, 1152), (32, 32, 300) })
            foreach (bool transA in new[] { false, true })
                foreach (float beta in new[] { 0f, 1f, 0.5f })
                    foreach (int threads in new[] { 1, 2, 3 })
                    {
                        int lda = (transA ? m : k) + 2, ldb = n + 1, ldc = n + 3;
                        float[] a = Tensor.Uniform(rng, -1, 1, (transA ? k : m) * lda).ToArray();
                        float[] b = Tensor.Uniform(rng, -1, 1, k * ldb).ToArray();
                        float[] c0 = Tensor.Uniform(rng, -1, 1, m * ldc).ToArray();
                        float[] expected = (float[])c0.Clone(), actual = (float[])c0.Clone();
                        var packed = new float[GemmPackedA.Length(isa, m, k) + 5];
                        Array.Fill(packed, float.NaN);
                        GemmPackedA.Pack(isa, threads, transA, m, k, a, lda, packed);
                        Gemm.SgemmCore(isa, threads, transA, false, m, n, k, 0.75f, a, lda, b, ldb, beta, expected, ldc);
                        Gemm.SgemmCore(isa, threads, transA, false, m, n, k, 0.75f, a, lda, b, ldb, beta, actual, ldc, packedA: packed);
                        for (int i = 0; i < expected.Length; i++)
                            BitConverter.SingleToInt32Bits(actual[i]).Should().Be(BitConverter.SingleToInt32Bits(expected[i]),
                                $"{isa} m={m} n={n} k={k} transA={transA} beta={beta} threads={threads}, element {i}");
                    }
    }

    [Fact]
    public void A_pack_too_short_or_given_with_a_blocking_is_refused()
    {
        var a = new float[40 * 30];
        var b = new float[30 * 20];
        var c = new float[40 * 20];
        var packed = new float[GemmPackedA.Length(Gemm.BestIsa, 40, 30)];
        var pack = () => GemmPackedA.Pack(Gemm.BestIsa, 1, false, 40, 30, a, 30, packed.AsSpan(0, packed.Length - 1));
        pack.Should().Throw<ArgumentException>().WithMessage("*needs*");
        var shortA = () => GemmPackedA.Pack(Gemm.BestIsa, 1, false, 40, 30, a.AsSpan(0, 100), 30, packed);
        shortA.Should().Throw<ArgumentException>().WithMessage("*40×30*");
        GemmPackedA.Pack(Gemm.BestIsa, 1, false, 40, 30, a, 30, packed);
        var shortUse = () => Gemm.SgemmCore(Gemm.BestIsa, 1, false, false, 40, 20, 30, 1f, a, 30, b, 20, 0f, c, 20,
            packedA: packed.AsSpan(0, 10));
        shortUse.Should().Throw<ArgumentException>().WithMessage("*pre-packed A needs*");
        var withBlocking = () => Gemm.SgemmCore(Gemm.BestIsa, 1, false, false, 40, 20, 30, 1f, a, 30, b, 20, 0f, c, 20,
            new GemmBlocking(64, 64, 64), packed);
        withBlocking.Should().Throw<ArgumentException>().WithMessage("*blocking*");
    }
}
