using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Learner.Nn.Kernels;

/// <summary>(g, x, acc) ↦ acc + g·(x − hi − lo)·invStd (accumulates a weight gradient Σ g·x̂).</summary>
internal readonly struct AccumulateNormalizedProduct(float hi, float lo, float invStd) : IVectorOp3
{
    public float Invoke(float g, float x, float acc) => MathF.FusedMultiplyAdd(g * (x - hi - lo), invStd, acc);
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x, Vector512<float> acc) => Vector512.FusedMultiplyAdd(g * (x - Vector512.Create(hi) - Vector512.Create(lo)), Vector512.Create(invStd), acc);
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x, Vector256<float> acc) => Vector256.FusedMultiplyAdd(g * (x - Vector256.Create(hi) - Vector256.Create(lo)), Vector256.Create(invStd), acc);
    public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x, Vector128<float> acc) => Vector128.FusedMultiplyAdd(g * (x - Vector128.Create(hi) - Vector128.Create(lo)), Vector128.Create(invStd), acc);
}

/// <summary>Saved statistics of a normalisation over <see cref="Count"/> slices, in one array: the mean as a float pair
/// hi + lo (hi nearest the double mean, lo nearest the remainder), then 1/√(var + eps).</summary>
internal readonly struct NormStats(float[] data, int count)
{
    internal float[] Data { get; } = data;
    internal int Count { get; } = count;
    internal float Hi(int i) => Data[i];
    internal float Lo(int i) => Data[Count + i];
    internal float InvStd(int i) => Data[2 * Count + i];
    internal double Mean(int i) => (double)Data[i] + Data[Count + i];

    internal void Set(int i, double mean, double invStd)
    {
        float hi = (float)mean;
        Data[i] = hi;
        Data[Count + i] = (float)(mean - hi);
        Data[2 * Count + i] = (float)invStd;
    }
}

/// <summary>
/// Batch, layer and group normalisation kernels. Statistics are two-pass (mean, then the sum of squared deviations) with
/// float lanes over blocks and double accumulation across blocks. Independent channels, rows or groups run in parallel;
/// reductions across them (weight and bias gradients) are summed in a fixed order, so results do not depend on the
/// number of cores.
/// </summary>
internal static class NormKernels
{
    // ------------------------------------------------------------------ batch norm: x is [n, c, inner]

    /// <summary>The rung of group norm's per-plane maps: the widest whose vector fits the plane, so short planes (2×2
    /// maps: 4 floats) run whole vectors instead of a padded tail each (batch norm sends such planes to
    /// <see cref="SmallPlaneNorm"/>). The maps' operations (subtractions, fused multiply–adds,
    /// products) are correctly rounded per element, so the rung changes no bit.</summary>
    private static SimdWidth ChunkRung(int inner) => Simd.Rung(Simd.Best, inner);

    /// <summary>Batch-norm forward. In training, computes the batch mean and biased variance into <paramref name="stats"/>
    /// and the unbiased variance into <paramref name="unbiasedVar"/>; otherwise <paramref name="stats"/> is given (from
    /// the running statistics).</summary>
    internal static void BatchNormForward(float[] x, float[] y, int n, int c, int inner, bool training, float eps,
        float[]? weight, float[]? bias, NormStats stats, float[] unbiasedVar, bool relu = false)
    {
        if (training)
        {
            if (inner == 1) ColumnStats(x, n, c, eps, stats, unbiasedVar);
            else ChunkStats(x, n, c, inner, eps, stats, unbiasedVar);
        }
        if (inner == 1 || SmallPlaneNorm.Applies(inner))
        {
            // y = (x − hi − lo)·scale + shift with the per-channel scale and shift as vectors: row by row (one float a
            // plane), or over each sample's row with the constants spread over its planes (planes shorter than a vector).
            var pool = ArrayPool<float>.Shared;
            var scale = pool.Rent(c); var shift = pool.Rent(c);
            try
            {
                for (int ch = 0; ch < c; ch++)
                {
                    scale[ch] = (weight is null ? 1f : weight[ch]) * stats.InvStd(ch);
                    shift[ch] = bias is null ? 0f : bias[ch];
                }
                var hi = stats.Data.AsSpan(0, c); var lo = stats.Data.AsSpan(c, c); var sc = scale.AsSpan(0, c); var sh = shift.AsSpan(0, c);
                if (inner != 1) SmallPlaneNorm.Affine(x, y, n, c, inner, hi, lo, sc, sh);
                else
                    for (int i = 0; i < n; i++)
                    {
                        var yr = y.AsSpan(i * c, c);
                        TensorPrimitives.Subtract(x.AsSpan(i * c, c), hi, yr);
                        TensorPrimitives.Subtract(yr, lo, yr);
                        TensorPrimitives.MultiplyAdd(yr, sc, sh, yr);
                    }
                // Rows this short are still in cache: the relu is a second pass over them.
                if (relu) VectorMap.MapParallel(new ReluForward(), y, y, n * c * inner);
            }
            finally { pool.Return(scale); pool.Return(shift); }
            return;
        }
        // Chunks (sample, channel) in memory order, so every pass streams through contiguous storage.
        RowParallel.For(n * c, inner, (s, e) =>
        {
            for (int k = s; k < e; k++)
            {
                int ch = k % c;
                float scale = (weight is null ? 1f : weight[ch]) * stats.InvStd(ch), shift = bias is null ? 0f : bias[ch];
                if (relu) VectorMap.Map(new CenteredAffineRelu(stats.Hi(ch), stats.Lo(ch), scale, shift), x.AsSpan(k * inner, inner), y.AsSpan(k * inner, inner));
                else VectorMap.Map(new CenteredAffine(stats.Hi(ch), stats.Lo(ch), scale, shift), x.AsSpan(k * inner, inner), y.AsSpan(k * inner, inner));
            }
        });
    }

    /// <summary>Per-channel statistics of [n, c, inner] from per-(sample, channel) chunk sums, reduced in a fixed order.</summary>
    private static void ChunkStats(float[] x, int n, int c, int inner, float eps, NormStats stats, float[] unbiasedVar)
    {
        int chunks = n * c;
        long m = (long)n * inner;
        var partial = ArrayPool<double>.Shared.Rent(chunks);
        try
        {
            RowParallel.For(chunks, inner, (s, e) =>
            {
                for (int k = s; k < e; k++) partial[k] = Simd.Sum(x.AsSpan(k * inner, inner));
            });
            var means = ArrayPool<double>.Shared.Rent(c);
            try
            {
                for (int ch = 0; ch < c; ch++)
                {
                    double sum = 0;
                    for (int i = 0; i < n; i++) sum += partial[i * c + ch];
                    means[ch] = sum / m;
                    stats.Set(ch, means[ch], 0);
                }
                RowParallel.For(chunks, inner, (s, e) =>
                {
                    for (int k = s; k < e; k++) partial[k] = Reductions.SumSquaredDeviations(x.AsSpan(k * inner, inner), stats.Hi(k % c));
                });
                for (int ch = 0; ch < c; ch++)
                {
                    double ssd = 0;
                    for (int i = 0; i < n; i++) ssd += partial[i * c + ch];
                    double dm = means[ch] - stats.Hi(ch);
                    ssd = Math.Max(ssd - m * dm * dm, 0); // Σ(x − hi)² = Σ(x − mean)² + m(mean − hi)²
                    stats.Set(ch, means[ch], 1.0 / Math.Sqrt(ssd / m + eps));
                    unbiasedVar[ch] = m > 1 ? (float)(ssd / (m - 1)) : float.NaN;
                }
            }
            finally { ArrayPool<double>.Shared.Return(means); }
        }
        finally { ArrayPool<double>.Shared.Return(partial); }
    }

    /// <summary>Per-column statistics of an [n, c] matrix, sweeping rows (contiguous) with double accumulators.</summary>
    private static void ColumnStats(float[] x, int n, int c, float eps, NormStats stats, float[] unbiasedVar)
    {
        var acc = ArrayPool<double>.Shared.Rent(c);
        try
        {
            var a = acc.AsSpan(0, c);
            a.Clear();
            for (int i = 0; i < n; i++) Reductions.AccumulateColumns(x.AsSpan(i * c, c), default, a, square: false);
            for (int ch = 0; ch < c; ch++) stats.Set(ch, a[ch] / n, 0);
            a.Clear();
            var hi = stats.Data.AsSpan(0, c);
            for (int i = 0; i < n; i++) Reductions.AccumulateColumns(x.AsSpan(i * c, c), hi, a, square: true);
            for (int ch = 0; ch < c; ch++)
            {
                double mean = stats.Mean(ch), dm = mean - stats.Hi(ch);
                double ssd = Math.Max(a[ch] - n * dm * dm, 0); // Σ(x − hi)² = Σ(x − mean)² + n(mean − hi)²
                stats.Set(ch, mean, 1.0 / Math.Sqrt(ssd / n + eps));
                unbiasedVar[ch] = n > 1 ? (float)(ssd / (n - 1)) : float.NaN;
            }
        }
        finally { ArrayPool<double>.Shared.Return(acc); }
    }

    /// <summary>Batch-norm backward. Writes Σ g and Σ g·x̂ per channel into <paramref name="gradBias"/> and
    /// <paramref name="gradWeight"/> (when non-null), and the input gradient into <paramref name="gradInput"/> (when non-null).
    /// In training the gradient flows through the batch statistics; in evaluation they are constants.</summary>
    internal static void BatchNormBackward(float[] g, float[] x, int n, int c, int inner, bool training,
        float[]? weight, NormStats stats, float[]? gradInput, float[]? gradWeight, float[]? gradBias)
    {
        long m = (long)n * inner;
        var pool = ArrayPool<double>.Shared;
        var sums = pool.Rent(2 * c); // [Σ g | Σ g·(x − mean)] per channel
        var partial = inner == 1 ? null : pool.Rent(2 * n * c); // the same per (sample, channel) chunk
        try
        {
            if (inner == 1)
            {
                var sg = sums.AsSpan(0, c); var sgx = sums.AsSpan(c, c);
                sg.Clear(); sgx.Clear();
                var hi = stats.Data.AsSpan(0, c);
                for (int i = 0; i < n; i++) Reductions.AccumulateColumnGradSums(g.AsSpan(i * c, c), x.AsSpan(i * c, c), hi, sg, sgx);
                for (int ch = 0; ch < c; ch++) sgx[ch] -= sg[ch] * stats.Lo(ch);
            }
            else
            {
                int chunks = n * c;
                RowParallel.For(chunks, inner, (s, e) =>
                {
                    for (int k = s; k < e; k++)
                    {
                        var (sg, sgx) = Reductions.SumAndCenteredDot(g.AsSpan(k * inner, inner), x.AsSpan(k * inner, inner), stats.Hi(k % c));
                        partial![k] = sg; partial[chunks + k] = sgx;
                    }
                });
                for (int ch = 0; ch < c; ch++)
                {
                    double a = 0, b = 0;
                    for (int i = 0; i < n; i++) { a += partial![i * c + ch]; b += partial[chunks + i * c + ch]; }
                    sums[ch] = a; sums[c + ch] = b - a * stats.Lo(ch);
                }
            }
            for (int ch = 0; ch < c; ch++)
            {
                if (gradBias is not null) gradBias[ch] = (float)sums[ch];
                if (gradWeight is not null) gradWeight[ch] = (float)(sums[c + ch] * stats.InvStd(ch));
            }
            if (gradInput is null) return;
            // gi = k·(g + c1·(x − mean) + c0) with k = w/σ; in training c0 = −Σg/m and c1 = −Σg(x − mean)/(m σ²).
            var fa = ArrayPool<float>.Shared.Rent(3 * c);
            try
            {
                for (int ch = 0; ch < c; ch++)
                {
                    double inv = stats.InvStd(ch);
                    fa[ch] = (float)((weight is null ? 1.0 : weight[ch]) * inv);
                    fa[c + ch] = training ? (float)(-inv * inv * sums[c + ch] / m) : 0f;
                    fa[2 * c + ch] = training ? (float)(-sums[ch] / m) : 0f;
                }
                if (inner == 1)
                {
                    var k = fa.AsSpan(0, c); var c1 = fa.AsSpan(c, c); var c0 = fa.AsSpan(2 * c, c);
                    var hi = stats.Data.AsSpan(0, c); var lo = stats.Data.AsSpan(c, c);
                    for (int i = 0; i < n; i++)
                    {
                        var gir = gradInput.AsSpan(i * c, c);
                        TensorPrimitives.Subtract(x.AsSpan(i * c, c), hi, gir);
                        TensorPrimitives.Subtract(gir, lo, gir);
                        TensorPrimitives.MultiplyAdd(gir, c1, c0, gir);
                        TensorPrimitives.Add(gir, g.AsSpan(i * c, c), gir);
                        TensorPrimitives.Multiply(gir, k, gir);
                    }
                }
                else if (SmallPlaneNorm.Applies(inner))
                    SmallPlaneNorm.InputGradient(g, x, gradInput, n, c, inner, fa.AsSpan(0, c), fa.AsSpan(c, c),
                        stats.Data.AsSpan(0, c), stats.Data.AsSpan(c, c), fa.AsSpan(2 * c, c));
                else
                {
                    RowParallel.For(n * c, inner, (s, e) =>
                    {
                        for (int k = s; k < e; k++)
                        {
                            int ch = k % c;
                            var op = new NormInputGrad(fa[ch], 1f, fa[c + ch], stats.Hi(ch), stats.Lo(ch), fa[2 * c + ch]);
                            VectorMap.Map(op, g.AsSpan(k * inner, inner), x.AsSpan(k * inner, inner), gradInput.AsSpan(k * inner, inner));
                        }
                    });
                }
            }
            finally { ArrayPool<float>.Shared.Return(fa); }
        }
        finally
        {
            pool.Return(sums);
            if (partial is not null) pool.Return(partial);
        }
    }

    /// <summary>Mean and 1/√(var + eps) of one contiguous block, into slot <paramref name="i"/> of <paramref name="stats"/>.</summary>
    private static void BlockStats(ReadOnlySpan<float> block, float eps, NormStats stats, int i)
    {
        int len = block.Length;
        double mean = Simd.Sum(block) / len;
        float hi = (float)mean;
        double ssd = Reductions.SumSquaredDeviations(block, hi) - len * (mean - hi) * (mean - hi);
        stats.Set(i, mean, 1.0 / Math.Sqrt(Math.Max(ssd, 0) / len + eps));
    }

    // ------------------------------------------------------------------ layer norm: x is [rows, d]

    /// <summary>Layer-norm forward over contiguous rows of length <paramref name="d"/>; saves each row's statistics.</summary>
    internal static void LayerNormForward(float[] x, float[] y, int rows, int d, float eps, float[]? weight, float[]? bias, NormStats stats)
    {
        RowParallel.For(rows, d, (s, e) =>
        {
            for (int r = s; r < e; r++)
            {
                var xr = x.AsSpan(r * d, d); var yr = y.AsSpan(r * d, d);
                BlockStats(xr, eps, stats, r);
                float hi = stats.Hi(r), lo = stats.Lo(r), inv = stats.InvStd(r);
                if (weight is not null && bias is not null)
                    VectorMap.Map(new CenteredAffineElementwise(hi, lo, inv), xr, weight.AsSpan(0, d), bias.AsSpan(0, d), yr);
                else
                {
                    VectorMap.Map(new CenteredAffine(hi, lo, inv, 0f), xr, yr);
                    if (weight is not null) TensorPrimitives.Multiply(yr, weight.AsSpan(0, d), yr);
                    if (bias is not null) TensorPrimitives.Add(yr, bias.AsSpan(0, d), yr);
                }
            }
        });
    }

    /// <summary>Row blocks whose weight/bias gradient partials are summed in a fixed order (independent of the core count).</summary>
    private const int LayerNormPartials = 8;

    /// <summary>Layer-norm backward: input gradient (when non-null) and Σ over rows of g·x̂ and g (when non-null).</summary>
    internal static void LayerNormBackward(float[] g, float[] x, int rows, int d, float[]? weight, NormStats stats,
        float[]? gradInput, float[]? gradWeight, float[]? gradBias)
    {
        bool paramGrads = gradWeight is not null || gradBias is not null;
        int parts = rows * (long)d >= 2 * RowParallel.DefaultThreshold ? Math.Min(rows, LayerNormPartials) : 1;
        float[]? partials = paramGrads ? ArrayPool<float>.Shared.Rent(parts * 2 * d) : null;
        try
        {
            if (partials is not null) partials.AsSpan(0, parts * 2 * d).Clear();
            RowParallel.For(parts, (long)rows / parts * d, (ps, pe) =>
            {
                for (int part = ps; part < pe; part++)
                {
                    var (r0, r1) = RowParallel.Range(rows, parts, part);
                    for (int r = r0; r < r1; r++)
                    {
                        var gr = g.AsSpan(r * d, d); var xr = x.AsSpan(r * d, d);
                        float hi = stats.Hi(r), lo = stats.Lo(r), inv = stats.InvStd(r);
                        if (gradInput is not null)
                        {
                            // gi = (1/σ)·(g·w − Σg·w/d − (x − mean)·Σg·w·(x − mean)/(d σ²))
                            var (s1, s2) = weight is null ? Reductions.SumAndCenteredDot(gr, xr, hi) : Reductions.WeightedSumAndCenteredDot(gr, weight.AsSpan(0, d), xr, hi);
                            s2 -= s1 * lo;
                            float c1 = (float)(-(double)inv * inv * s2 / d), c0 = (float)(-s1 / d);
                            if (weight is null) VectorMap.Map(new NormInputGrad(inv, 1f, c1, hi, lo, c0), gr, xr, gradInput.AsSpan(r * d, d));
                            else VectorMap.Map(new NormInputGradElementwise(inv, c1, hi, lo, c0), gr, weight.AsSpan(0, d), xr, gradInput.AsSpan(r * d, d));
                        }
                        if (partials is not null)
                        {
                            var dw = partials.AsSpan(part * 2 * d, d);
                            var db = partials.AsSpan(part * 2 * d + d, d);
                            VectorMap.Map(new AccumulateNormalizedProduct(hi, lo, inv), gr, xr, dw, dw);
                            TensorPrimitives.Add(db, gr, db);
                        }
                    }
                }
            });
            if (partials is null) return;
            if (gradWeight is not null)
            {
                var dw = gradWeight.AsSpan(0, d);
                partials.AsSpan(0, d).CopyTo(dw);
                for (int part = 1; part < parts; part++) TensorPrimitives.Add(dw, partials.AsSpan(part * 2 * d, d), dw);
            }
            if (gradBias is not null)
            {
                var db = gradBias.AsSpan(0, d);
                partials.AsSpan(d, d).CopyTo(db);
                for (int part = 1; part < parts; part++) TensorPrimitives.Add(db, partials.AsSpan(part * 2 * d + d, d), db);
            }
        }
        finally { if (partials is not null) ArrayPool<float>.Shared.Return(partials); }
    }

    // ------------------------------------------------------------------ group norm: x is [n, c, inner], groups of c/groups channels

    /// <summary>Group-norm forward; saves the statistics of each (sample, group) at index sample·groups + group.</summary>
    internal static void GroupNormForward(float[] x, float[] y, int n, int c, int inner, int groups, float eps, float[]? weight, float[]? bias, NormStats stats)
    {
        int cpg = c / groups;
        int len = cpg * inner;
        var rung = ChunkRung(inner);
        if (len == 0) return;
        RowParallel.For(n * groups, len, (s, e) =>
        {
            for (int k = s; k < e; k++)
            {
                int i = k / groups, grp = k % groups;
                int o = (i * c + grp * cpg) * inner;
                BlockStats(x.AsSpan(o, len), eps, stats, k);
                float hi = stats.Hi(k), lo = stats.Lo(k), inv = stats.InvStd(k);
                for (int j = 0; j < cpg; j++)
                {
                    int ch = grp * cpg + j;
                    var op = new CenteredAffine(hi, lo, (weight is null ? 1f : weight[ch]) * inv, bias is null ? 0f : bias[ch]);
                    VectorMap.Map(op, x.AsSpan(o + j * inner, inner), y.AsSpan(o + j * inner, inner), rung);
                }
            }
        });
    }

    /// <summary>Group-norm backward: input gradient (when non-null) and per-channel Σ g·x̂ and Σ g (when non-null).</summary>
    internal static void GroupNormBackward(float[] g, float[] x, int n, int c, int inner, int groups, float[]? weight, NormStats stats,
        float[]? gradInput, float[]? gradWeight, float[]? gradBias)
    {
        int cpg = c / groups;
        int len = cpg * inner;
        var rung = ChunkRung(inner);
        if (len == 0) { gradWeight?.AsSpan(0, c).Clear(); gradBias?.AsSpan(0, c).Clear(); return; }
        var pool = ArrayPool<double>.Shared;
        var sums = pool.Rent(2 * n * c); // [Σ g | Σ g·(x − mean)] per (sample, channel)
        try
        {
            int nc = n * c;
            RowParallel.For(n * groups, len, (s, e) =>
            {
                for (int k = s; k < e; k++)
                {
                    int i = k / groups, grp = k % groups;
                    float hi = stats.Hi(k), lo = stats.Lo(k);
                    double a = 0, b = 0;
                    for (int j = 0; j < cpg; j++)
                    {
                        int ch = grp * cpg + j, o = (i * c + ch) * inner;
                        var (sg, sgx) = Reductions.SumAndCenteredDot(g.AsSpan(o, inner), x.AsSpan(o, inner), hi);
                        sgx -= sg * lo;
                        sums[i * c + ch] = sg; sums[nc + i * c + ch] = sgx;
                        double w = weight is null ? 1.0 : weight[ch];
                        a += w * sg; b += w * sgx;
                    }
                    if (gradInput is null) continue;
                    // gi = (1/σ)·(w_c·g − Σ w·g/L − (x − mean)·Σ w·g·(x − mean)/(L σ²))
                    double inv = stats.InvStd(k);
                    float c1 = (float)(-inv * inv * b / len), c0 = (float)(-a / len);
                    for (int j = 0; j < cpg; j++)
                    {
                        int ch = grp * cpg + j, o = (i * c + ch) * inner;
                        var op = new NormInputGrad((float)inv, weight is null ? 1f : weight[ch], c1, hi, lo, c0);
                        VectorMap.Map(op, g.AsSpan(o, inner), x.AsSpan(o, inner), gradInput.AsSpan(o, inner), rung);
                    }
                }
            });
            for (int ch = 0; ch < c; ch++)
            {
                double db = 0, dw = 0;
                for (int i = 0; i < n; i++)
                {
                    db += sums[i * c + ch];
                    dw += sums[nc + i * c + ch] * stats.InvStd(i * groups + ch / cpg);
                }
                if (gradBias is not null) gradBias[ch] = (float)db;
                if (gradWeight is not null) gradWeight[ch] = (float)dw;
            }
        }
        finally { pool.Return(sums); }
    }

    // ------------------------------------------------------------------ L2 normalisation over the middle axis of [outer, n, inner]

    /// <summary>y = x / max(‖x‖, eps) along the middle axis; saves the norms ([outer, inner]).</summary>
    internal static void L2NormalizeForward(float[] x, float[] y, int outer, int n, int inner, float eps, float[] norms)
    {
        if (inner == 1)
        {
            RowParallel.For(outer, n, (s, e) =>
            {
                for (int r = s; r < e; r++)
                {
                    var xr = x.AsSpan(r * n, n);
                    double norm = Math.Sqrt(Simd.Dot(xr, xr));
                    norms[r] = (float)norm;
                    TensorPrimitives.Divide(xr, (float)Math.Max(norm, eps), y.AsSpan(r * n, n));
                }
            });
            return;
        }
        RowParallel.For(outer, (long)n * inner, (s, e) =>
        {
            var acc = ArrayPool<double>.Shared.Rent(inner);
            try
            {
                for (int p = s; p < e; p++)
                {
                    var a = acc.AsSpan(0, inner);
                    a.Clear();
                    int b = p * n * inner;
                    for (int j = 0; j < n; j++)
                    {
                        var xr = x.AsSpan(b + j * inner, inner);
                        for (int q = 0; q < inner; q++) { double v = xr[q]; a[q] += v * v; }
                    }
                    for (int q = 0; q < inner; q++) norms[p * inner + q] = (float)Math.Sqrt(a[q]);
                    for (int j = 0; j < n; j++)
                    {
                        var xr = x.AsSpan(b + j * inner, inner); var yr = y.AsSpan(b + j * inner, inner);
                        for (int q = 0; q < inner; q++) yr[q] = xr[q] / Math.Max(norms[p * inner + q], eps);
                    }
                }
            }
            finally { ArrayPool<double>.Shared.Return(acc); }
        });
    }

    /// <summary>Backward of <see cref="L2NormalizeForward"/>: (g − y·Σg·y)/‖x‖ where ‖x‖ ≥ eps, g/eps where the norm was clamped.</summary>
    internal static void L2NormalizeBackward(float[] g, float[] y, float[] norms, float[] gi, int outer, int n, int inner, float eps)
    {
        if (inner == 1)
        {
            RowParallel.For(outer, n, (s, e) =>
            {
                for (int r = s; r < e; r++)
                {
                    var gr = g.AsSpan(r * n, n); var yr = y.AsSpan(r * n, n); var gir = gi.AsSpan(r * n, n);
                    float norm = norms[r];
                    if (norm >= eps && norm > 0f)
                    {
                        float dot = TensorPrimitives.Dot(gr, yr);
                        TensorPrimitives.MultiplyAdd(yr, -dot, gr, gir);
                        TensorPrimitives.Divide(gir, norm, gir);
                    }
                    else TensorPrimitives.Divide(gr, Math.Max(norm, eps), gir);
                }
            });
            return;
        }
        RowParallel.For(outer, (long)n * inner, (s, e) =>
        {
            var acc = ArrayPool<double>.Shared.Rent(inner);
            try
            {
                for (int p = s; p < e; p++)
                {
                    var a = acc.AsSpan(0, inner);
                    a.Clear();
                    int b = p * n * inner;
                    for (int j = 0; j < n; j++)
                    {
                        var gr = g.AsSpan(b + j * inner, inner); var yr = y.AsSpan(b + j * inner, inner);
                        for (int q = 0; q < inner; q++) a[q] += (double)gr[q] * yr[q];
                    }
                    for (int j = 0; j < n; j++)
                    {
                        var gr = g.AsSpan(b + j * inner, inner); var yr = y.AsSpan(b + j * inner, inner); var gir = gi.AsSpan(b + j * inner, inner);
                        for (int q = 0; q < inner; q++)
                        {
                            float norm = norms[p * inner + q];
                            gir[q] = norm >= eps && norm > 0f ? (float)((gr[q] - yr[q] * a[q]) / norm) : gr[q] / Math.Max(norm, eps);
                        }
                    }
                }
            }
            finally { ArrayPool<double>.Shared.Return(acc); }
        });
    }
}
