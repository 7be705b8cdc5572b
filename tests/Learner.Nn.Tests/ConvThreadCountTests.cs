using Learner.Nn.Kernels;

namespace Learner.Nn.Tests;

/// <summary>
/// Convolution results must not depend on the machine's core count: the batch blocks and the order in which the weight
/// gradient sums them are fixed by the geometry, and the GEMMs reduce in a fixed order whatever their thread split.
/// </summary>
public class ConvThreadCountTests
{
    // n, c, d, h, w, cout, groups, kd, kh, kw, stride, pad
    public static TheoryData<int[]> Geometries => new()
    {
        new[] { 64, 16, 1, 16, 16, 16, 2, 1, 3, 3, 1, 1 },  // two batch blocks, groups
        new[] { 48, 8, 1, 15, 15, 24, 1, 1, 3, 3, 2, 1 },   // stride 2, odd size
        new[] { 2, 16, 10, 20, 25, 4, 1, 3, 3, 3, 1, 1 },   // samples larger than a block: column tiles
        new[] { 64, 32, 1, 8, 8, 64, 1, 1, 1, 1, 1, 0 },    // pointwise, batched
        new[] { 4, 64, 1, 24, 24, 64, 1, 1, 3, 3, 1, 1 },   // a block per sample (GEMMs on the batch layout)
        new[] { 40, 8, 1, 32, 32, 8, 1, 1, 3, 3, 1, 1 },    // narrow: samples batched for GEMM size, not columns
        new[] { 3, 64, 1, 32, 32, 128, 1, 1, 1, 1, 1, 0 },  // pointwise, a block per sample (x is its own im2col matrix)
        new[] { 24, 8, 1, 16, 16, 8, 1, 1, 3, 3, 1, 1 },    // narrow: independent blocks of 2 samples, run side by side
        new[] { 9, 16, 1, 8, 8, 16, 2, 1, 1, 1, 1, 0 },     // narrow, pointwise, groups: independent blocks of 4 and 5 samples
        new[] { 20, 8, 1, 24, 24, 8, 1, 1, 3, 3, 1, 1 },    // narrow: independent whole-sample blocks (GEMMs on the batch layout)
    };

    [Theory]
    [MemberData(nameof(Geometries))]
    public void Forward_and_all_gradients_are_bit_identical_for_1_2_3_and_5_threads(int[] p)
    {
        int n = p[0], c = p[1], d = p[2], h = p[3], wd = p[4], cout = p[5], groups = p[6], s = p[10], pad = p[11];
        int padD = p[7] == 1 ? 0 : pad, sD = p[7] == 1 ? 1 : s;
        var g = new ConvGeometry(n, c, d, h, wd, cout, groups, p[7], p[8], p[9], sD, s, s, padD, pad, pad, 1, 1, 1);
        var rng = new Rng(21);
        float[] x = Tensor.Uniform(rng, -1, 1, n * c * d * h * wd).ToArray();
        float[] w = Tensor.Uniform(rng, -0.2f, 0.2f, cout * g.Kg).ToArray();
        float[] b = Tensor.Uniform(rng, -0.2f, 0.2f, cout).ToArray();
        float[] gy = Tensor.Uniform(rng, -1, 1, n * cout * g.OutSpatial).ToArray();

        (float[] Y, float[] Gx, float[] Gw, float[] Gb) Run(int threads)
        {
            var y = new float[n * cout * g.OutSpatial];
            var gx = new float[x.Length];
            var gw = new float[w.Length];
            var gb = new float[cout];
            // Stale values in the destinations must not leak into the results.
            Array.Fill(gx, float.NaN); Array.Fill(gw, float.NaN);
            ConvKernels.Forward(g, x, w, b, y, threads);
            ConvKernels.Backward(g, gy, x, w, gx, gw, gb, threads);
            return (y, gx, gw, gb);
        }

        var one = Run(1);
        // Every block path (serial blocks, column tiles, independent blocks with their partials) must also be right.
        var r0 = ConvReference.Run(x, n, c, new[] { d, h, wd }, w, cout, new[] { p[7], p[8], p[9] }, b,
            new[] { sD, s, s }, new[] { padD, pad, pad }, new[] { 1, 1, 1 }, groups, gy);
        ConvReference.AssertClose(one.Y, r0.Y, "y", atol: 2e-4);
        ConvReference.AssertClose(one.Gx, r0.Gx, "gx", atol: 2e-4);
        ConvReference.AssertClose(one.Gw, r0.Gw, "gw", rtol: 2e-4, atol: 2e-3);
        foreach (int threads in new[] { 2, 3, 5 })
        {
            var r = Run(threads);
            r.Y.Should().Equal(one.Y, $"forward with {threads} threads");
            r.Gx.Should().Equal(one.Gx, $"input gradient with {threads} threads");
            r.Gw.Should().Equal(one.Gw, $"weight gradient with {threads} threads");
            r.Gb.Should().Equal(one.Gb, $"bias gradient with {threads} threads");
        }
    }

    [Fact]
    public void The_batch_blocks_cover_every_output_position_once_and_depend_on_the_geometry_only()
    {
        foreach (var g in new[]
        {
            new ConvGeometry(64, 64, 1, 32, 32, 64, 1, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1),
            new ConvGeometry(64, 512, 1, 4, 4, 512, 1, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1),
            new ConvGeometry(3, 16, 10, 20, 25, 4, 1, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1),
        })
        {
            var blocks = new ConvBlocks(g);
            var seen = new int[g.N * g.OutSpatial];
            for (int i = 0; i < blocks.Count; i++)
            {
                var blk = blocks[i];
                blk.Width.Should().BeLessThanOrEqualTo(blocks.MaxWidth);
                ((long)Math.Max(g.K, g.Cout) * blk.Width).Should().BeLessThanOrEqualTo(ConvKernels.MaxColElements);
                for (int nn = blk.N0; nn < blk.N1; nn++)
                    for (int q = blk.P0; q < blk.P0 + blk.Cols; q++) seen[nn * g.OutSpatial + q]++;
            }
            seen.Should().OnlyContain(v => v == 1);
        }
        // 512→512 at 4×4 (16 columns a sample): whole samples are batched, so the GEMMs get hundreds of columns.
        new ConvBlocks(new ConvGeometry(64, 512, 1, 4, 4, 512, 1, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1)).MaxWidth.Should().BeGreaterThanOrEqualTo(ConvBlocks.MinColumns);
        // 8→8 at 32×32 (a narrow network's first stage): one sample's GEMM (0.6 M multiply–adds) is too small to split
        // over the cores, so every sample is a block of its own (1024 columns ≥ MinColumns) and the blocks run side by side.
        var narrow = new ConvBlocks(new ConvGeometry(128, 8, 1, 32, 32, 8, 1, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1));
        narrow.Independent.Should().BeTrue();
        narrow.Count.Should().Be(128);
        // 64→64 at 4×4 (its last stage): 16 columns a sample, so 16 samples make a block of MinColumns (256) columns.
        var narrowDeep = new ConvBlocks(new ConvGeometry(128, 64, 1, 4, 4, 64, 1, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1));
        narrowDeep.Independent.Should().BeTrue();
        narrowDeep.Count.Should().Be(8);
        // ResNet-18's 64→64 at 56×56 (115 M multiply–adds a sample) keeps one block per sample, GEMMs split over the cores.
        var deep = new ConvBlocks(new ConvGeometry(8, 64, 1, 56, 56, 64, 1, 1, 3, 3, 1, 1, 1, 0, 1, 1, 1, 1, 1));
        deep.Independent.Should().BeFalse();
        deep.Count.Should().Be(8);
        // ResNet-18's 1×1 stride-2 256→512 at 8×8 (2 M multiply–adds a sample, but 512 rows) keeps the split GEMMs too.
        new ConvBlocks(new ConvGeometry(64, 256, 1, 8, 8, 512, 1, 1, 1, 1, 1, 2, 2, 0, 0, 0, 1, 1, 1)).Independent.Should().BeFalse();
    }
}
