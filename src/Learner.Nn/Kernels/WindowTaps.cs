namespace Learner.Nn.Kernels;

/// <summary>
/// Where every tap of a sliding window reads, for kernels that gather a window's values across outputs (Winograd's tiles
/// on narrow planes, max pooling of narrow outputs): for tap (a, b) of a kH × kW window whose output (oh, ow) starts at
/// (oh·sH − pH, ow·sW − pW), entry (a·kW + b)·<c>stride</c> + col holds the value's offset from the first sample's plane
/// (samples <c>sampleStride</c> apart, col = sample·outH·outW + oh·outW + ow) and a keep mask: −1, or 0 with offset 0
/// where the tap falls outside the plane. Entries past the outputs, up to <c>stride</c>, are offset 0 and mask 0.
/// </summary>
internal static unsafe class WindowTaps
{
    [ThreadStatic] private static int[]? _scratch;

    /// <summary>A per-thread buffer of at least <paramref name="length"/> ints (index and keep tables).</summary>
    internal static int[] Scratch(int length)
    {
        if (_scratch is null || _scratch.Length < length) _scratch = new int[Math.Max(length, 1024)];
        return _scratch;
    }

    /// <summary>Fills <paramref name="index"/> and <paramref name="keep"/> (kH·kW·<paramref name="stride"/> entries each).</summary>
    internal static void Fill(int* index, int* keep, int h, int w, int outH, int outW, int kH, int kW, int sH, int sW, int pH, int pW,
        int samples, long sampleStride, int stride)
    {
        int outputs = outH * outW, cols = samples * outputs;
        if (cols > stride) throw new ArgumentOutOfRangeException(nameof(stride), stride, $"A tap row of {stride} entries cannot hold {cols} outputs.");
        for (int col = 0; col < stride; col++)
        {
            bool output = col < cols;
            int j = output ? col / outputs : 0, t = output ? col % outputs : 0, oh = t / outW, ow = t % outW;
            int sample = checked((int)(j * sampleStride));
            for (int a = 0; a < kH; a++)
                for (int b = 0; b < kW; b++)
                {
                    int y = oh * sH - pH + a, x = ow * sW - pW + b, at = (a * kW + b) * stride + col;
                    bool inside = output && (uint)y < (uint)h && (uint)x < (uint)w;
                    index[at] = inside ? sample + y * w + x : 0;
                    keep[at] = inside ? -1 : 0;
                }
        }
    }
}
