using Learner.Nn.Kernels;

namespace Learner.Tests.Objectives;

public class RowSoftmaxTests
{
    public static IEnumerable<object[]> Lengths() => new[] { 1, 2, 7, 8, 15, 16, 17, 31, 63, 64, 65, 127, 129, 1000, 1024, 1031 }.Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Max_and_exp_shift_sum_match_a_scalar_reference_over_odd_lengths(int n)
    {
        var rng = new Random(n);
        var x = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 40 - 20)).ToArray();
        if (n > 3) x[n / 2] = float.NegativeInfinity; // a masked entry (the anchor itself)
        float expectedMax = x.Max();
        Simd.MaxNoNaN(x).Should().Be(expectedMax);
        var expected = x.Select(v => Math.Exp(v - expectedMax)).ToArray();
        var y = (float[])x.Clone();
        double sum = RowKernels.ExpShiftSum(y, expectedMax);
        sum.Should().BeApproximately(expected.Sum(), expected.Sum() * 1e-6);
        for (int i = 0; i < n; i++) ((double)y[i]).Should().BeApproximately(expected[i], 1e-6 * Math.Max(1, expected[i]));
    }

    [Fact]
    public void The_maximum_of_an_empty_or_all_masked_row_is_negative_infinity()
    {
        Simd.MaxNoNaN(ReadOnlySpan<float>.Empty).Should().Be(float.NegativeInfinity);
        Simd.MaxNoNaN(Enumerable.Repeat(float.NegativeInfinity, 40).ToArray()).Should().Be(float.NegativeInfinity);
    }
}
