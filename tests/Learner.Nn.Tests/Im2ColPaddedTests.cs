using Learner.Nn.Kernels;

namespace Learner.Nn.Tests;

/// <summary>
/// The padded-channel im2col / col2im of whole samples must give the very bits of the bounds-checked
/// <see cref="Im2Col"/> path it replaces there, for every stride, padding, dilation and depth, on any channel range.
/// </summary>
public class Im2ColPaddedTests
{
    // c, d, h, w, kd, kh, kw, sd, sh, sw, pd, ph, pw, dd, dh, dw
    public static TheoryData<int[]> Geometries => new()
    {
        new[] { 5, 1, 4, 4, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1 },     // ResNet-18's 4×4 maps (rows under 8: the tap table)
        new[] { 6, 1, 2, 2, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1 },     // its 2×2 maps
        new[] { 3, 1, 4, 4, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1 },     // its stride-2 entry from 4×4 to 2×2
        new[] { 3, 1, 8, 8, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1 },     // stride 2
        new[] { 2, 1, 15, 13, 1, 7, 7, 1, 2, 2, 0, 3, 3, 1, 1, 1 },   // the 7×7 stem, odd sizes
        new[] { 3, 1, 11, 10, 1, 3, 3, 1, 3, 3, 0, 2, 2, 1, 1, 1 },   // stride 3, wide padding
        new[] { 2, 1, 12, 12, 1, 3, 3, 1, 1, 1, 0, 2, 2, 1, 2, 2 },   // dilation 2
        new[] { 2, 1, 9, 40, 1, 3, 5, 1, 1, 2, 0, 0, 2, 1, 1, 1 },    // unequal windows, strides and pads
        new[] { 2, 5, 6, 7, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1 },     // 3-D
        new[] { 2, 6, 6, 6, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1 },     // 3-D, stride 2
        new[] { 2, 1, 5, 5, 1, 5, 5, 1, 1, 1, 0, 0, 0, 1, 1, 1 },     // no padding, one output
        new[] { 4, 1, 3, 3, 1, 3, 3, 1, 1, 1, 0, 4, 4, 1, 1, 1 },     // padding wider than the input
        new[] { 3, 1, 8, 8, 1, 1, 1, 1, 2, 2, 0, 0, 0, 1, 1, 1 },     // 1×1 stride-2 shortcut: no padding, read in place
        new[] { 2, 1, 40, 37, 1, 3, 3, 1, 2, 2, 0, 0, 0, 1, 1, 1 },   // no padding, stride 2, rows long enough for vectors
        // Eight stride-2 outputs per row: rows moved two at a time with AVX-512 (ResNet-18's 16×16 → 8×8 entry) …
        new[] { 3, 1, 16, 16, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1 },
        new[] { 2, 1, 13, 16, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1 },   // … an odd number of output rows (the last alone)
        new[] { 2, 1, 17, 17, 1, 3, 3, 1, 2, 2, 0, 0, 0, 1, 1, 1 },   // … no padding: the last pair's span leaves the channel
        new[] { 2, 1, 6, 16, 1, 3, 3, 1, 1, 2, 0, 1, 1, 1, 1, 1 },    // … stride 1 down the rows, 2 along them
        new[] { 2, 3, 6, 16, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1 },    // … 3-D
        // Four stride-2 outputs per row: rows moved four at a time with AVX-512 (the 8×8 → 4×4 entry above) …
        new[] { 2, 1, 10, 8, 1, 3, 3, 1, 2, 2, 0, 1, 1, 1, 1, 1 },    // … five output rows (the last alone)
        new[] { 2, 1, 9, 9, 1, 3, 3, 1, 2, 2, 0, 0, 0, 1, 1, 1 },     // … no padding: the last taps' spans leave the channel
        new[] { 2, 1, 5, 8, 1, 3, 3, 1, 1, 2, 0, 1, 1, 1, 1, 1 },     // … stride 1 down the rows
        new[] { 2, 3, 8, 8, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1 },     // … 3-D
    };

    private static ConvGeometry Geometry(int[] p) =>
        new(1, p[0], p[1], p[2], p[3], 1, 1, p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15]);

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Unfold_writes_the_bits_of_the_bounds_checked_path(int[] p)
    {
        var g = Geometry(p);
        var rng = new Rng(5);
        float[] x = Tensor.Uniform(rng, -1, 1, g.C * g.InSpatial).ToArray();
        int os = g.OutSpatial, ld = os + 3;
        var expected = new float[g.K * ld];
        var actual = new float[g.K * ld];
        Im2Col.Unfold(g, x, expected, 0, os, ld, 0, g.C);
        Array.Fill(actual, float.NaN);
        for (int r = 0; r < g.K; r++) for (int k = os; k < ld; k++) actual[r * ld + k] = 0f;
        // Channel ranges run separately, as on two threads.
        int mid = g.C / 2;
        Im2ColPadded.Unfold(g, x, actual, ld, 0, mid);
        Im2ColPadded.Unfold(g, x, actual, ld, mid, g.C);
        AssertBits(expected, actual);
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Fold_writes_the_bits_of_the_bounds_checked_path(int[] p)
    {
        var g = Geometry(p);
        var rng = new Rng(6);
        int os = g.OutSpatial, ld = os + 1;
        float[] col = Tensor.Uniform(rng, -1, 1, g.K * ld).ToArray();
        // Signed zeros and exact cancellations must fold the same way too.
        for (int i = 0; i < col.Length; i += 7) col[i] = -0f;
        for (int i = 3; i + 1 < col.Length; i += 11) col[i + 1] = -col[i];
        var expected = new float[g.C * g.InSpatial];
        var actual = new float[g.C * g.InSpatial];
        Im2Col.FoldAdd(g, col, expected, 0, os, ld, 0, g.C);
        Array.Fill(actual, float.NaN);
        int mid = (g.C + 1) / 2;
        Im2ColPadded.Fold(g, col, actual, ld, 0, mid);
        Im2ColPadded.Fold(g, col, actual, ld, mid, g.C);
        AssertBits(expected, actual);
    }

    [Fact]
    public void The_stride_2_gather_takes_every_other_element_for_every_row_length_and_offset()
    {
        var x = Enumerable.Range(0, 100).Select(i => i + 0.5f).ToArray();
        for (int rowBase = 0; rowBase < 5; rowBase++)
            for (int lo = 0; lo < 3; lo++)
                for (int hi = Math.Max(lo, 1); 2 * (hi - 1) + rowBase < x.Length && hi < 48; hi++)
                {
                    var dst = new float[hi];
                    Array.Fill(dst, -1f);
                    Im2Col.GatherStride2(ref x[0], x.Length, rowBase, ref dst[0], 0, lo, hi);
                    for (int o = 0; o < hi; o++)
                        dst[o].Should().Be(o < lo ? -1f : x[rowBase + 2 * o], $"rowBase {rowBase}, [{lo}, {hi}), output {o}");
                }
    }

    [Fact]
    public void The_stride_2_add_adds_every_other_element_leaves_the_rest_and_stays_inside_the_channel()
    {
        var rng = new Rng(9);
        for (int rowBase = 0; rowBase < 4; rowBase++)
            for (int count = 1; count < 45; count++)
                foreach (int slack in new[] { 0, 1, 31 })
                {
                    // The channel ends `slack` floats after the last element the row reaches; beyond it lie −0 sentinels,
                    // the one value an added +0 would change.
                    int padLength = rowBase + 2 * (count - 1) + 1 + slack;
                    float[] pad = Tensor.Uniform(rng, -1, 1, padLength + 40).ToArray();
                    for (int i = 1; i < padLength; i += 5) pad[i] = 0f;
                    for (int i = padLength; i < pad.Length; i++) pad[i] = -0f;
                    float[] row = Tensor.Uniform(rng, -1, 1, count).ToArray();
                    if (count > 2) row[2] = -0f;
                    float[] before = (float[])pad.Clone();
                    Im2Col.AddStride2(ref row[0], ref pad[0], padLength, rowBase, count);
                    for (int i = 0; i < pad.Length; i++)
                    {
                        int o = (i - rowBase) / 2;
                        bool target = i >= rowBase && (i - rowBase) % 2 == 0 && o < count;
                        float expected = target ? before[i] + row[o] : before[i];
                        BitConverter.SingleToInt32Bits(pad[i]).Should().Be(BitConverter.SingleToInt32Bits(expected),
                            $"rowBase {rowBase}, count {count}, slack {slack}, element {i}");
                    }
                }
    }

    private static void AssertBits(float[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
            BitConverter.SingleToInt32Bits(actual[i]).Should().Be(BitConverter.SingleToInt32Bits(expected[i]),
                $"element {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }
}
