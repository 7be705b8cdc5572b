namespace Learner.Data.Synthetic;

/// <summary>Seed derivation for the synthetic cohorts: every patient, visit and scan gets its own independent stream,
/// so that any scan can be generated alone, in any order, with identical results.</summary>
internal static class SyntheticSeeds
{
    internal static ulong Derive(ulong seed, ulong stream, ulong item)
    {
        ulong z = seed ^ (stream * 0x9E3779B97F4A7C15UL) ^ (item * 0xD1B54A32D192ED03UL + 0x632BE59BD9B4E019UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A smooth random field in roughly [−1, 1]: white noise blurred by two passes of a 3×3 box, normalised to unit variance.</summary>
    internal static void SmoothField(Nn.Rng rng, Span<float> field, int h, int w)
    {
        var tmp = new float[field.Length];
        for (int i = 0; i < field.Length; i++) field[i] = (float)rng.NextGaussian();
        for (int pass = 0; pass < 2; pass++)
        {
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    float s = 0; int c = 0;
                    for (int dy = -1; dy <= 1; dy++)
                    {
                        int yy = y + dy;
                        if ((uint)yy >= (uint)h) continue;
                        for (int dx = -1; dx <= 1; dx++)
                        {
                            int xx = x + dx;
                            if ((uint)xx >= (uint)w) continue;
                            s += field[yy * w + xx]; c++;
                        }
                    }
                    tmp[y * w + x] = s / c;
                }
            tmp.AsSpan().CopyTo(field);
        }
        double ss = 0;
        foreach (float v in field) ss += v * v;
        float inv = (float)(1 / Math.Sqrt(ss / field.Length + 1e-12));
        for (int i = 0; i < field.Length; i++) field[i] *= inv;
    }
}
