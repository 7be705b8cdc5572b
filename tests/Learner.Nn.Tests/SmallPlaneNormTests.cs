using FluentAssertions;
using Learner.Nn.Kernels;
using Xunit;

namespace Learner.Nn.Tests;

/// <summary>Batch norm's row-wise passes for planes shorter than a vector give the bits of the per-plane operations
/// (<see cref="CenteredAffine"/>, <see cref="NormInputGrad"/>), element by element.</summary>
public class SmallPlaneNormTests
{
    [Theory]
    [InlineData(3, 5, 2)]
    [InlineData(2, 7, 3)]
    [InlineData(4, 6, 4)]
    [InlineData(2, 3, 9)]
    [InlineData(3, 33, 15)]
    public void Affine_and_input_gradient_equal_the_per_plane_operations_bit_for_bit(int n, int c, int inner)
    {
        SmallPlaneNorm.Applies(inner).Should().BeTrue();
        var rng = new Rng((ulong)(n * 100 + c * 10 + inner));
        float[] Values(int count, float lo, float hi) => Enumerable.Range(0, count).Select(_ => lo + (hi - lo) * rng.NextSingle()).ToArray();
        // A large offset, so x − hi − lo is not x − (hi + lo), and per-channel constants that differ in every bit.
        var x = Values(n * c * inner, 1000f, 1001f);
        var g = Values(n * c * inner, -1f, 1f);
        var hi = Values(c, 1000f, 1001f);
        var lo = Values(c, -1e-4f, 1e-4f);
        var scale = Values(c, 0.5f, 2f);
        var shift = Values(c, -1f, 1f);
        var k = Values(c, 0.5f, 3f);
        var c1 = Values(c, -0.1f, 0.1f);
        var c0 = Values(c, -0.01f, 0.01f);

        var y = new float[x.Length];
        SmallPlaneNorm.Affine(x, y, n, c, inner, hi, lo, scale, shift);
        var gi = new float[x.Length];
        SmallPlaneNorm.InputGradient(g, x, gi, n, c, inner, k, c1, hi, lo, c0);

        var yRef = new float[x.Length];
        var giRef = new float[x.Length];
        for (int plane = 0; plane < n * c; plane++)
        {
            int ch = plane % c, at = plane * inner;
            VectorMap.Map(new CenteredAffine(hi[ch], lo[ch], scale[ch], shift[ch]), x.AsSpan(at, inner), yRef.AsSpan(at, inner));
            VectorMap.Map(new NormInputGrad(k[ch], 1f, c1[ch], hi[ch], lo[ch], c0[ch]), g.AsSpan(at, inner), x.AsSpan(at, inner), giRef.AsSpan(at, inner));
        }
        y.Select(BitConverter.SingleToInt32Bits).Should().Equal(yRef.Select(BitConverter.SingleToInt32Bits));
        gi.Select(BitConverter.SingleToInt32Bits).Should().Equal(giRef.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Only_planes_between_one_float_and_one_512_bit_vector_take_the_row_path()
    {
        SmallPlaneNorm.Applies(1).Should().BeFalse();
        SmallPlaneNorm.Applies(2).Should().BeTrue();
        SmallPlaneNorm.Applies(15).Should().BeTrue();
        SmallPlaneNorm.Applies(16).Should().BeFalse();
    }
}
