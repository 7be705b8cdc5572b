using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Learner.Nn.Kernels;

/// <summary>The filter-side transforms (U = G g Gᵀ, and the weight gradient's output-gradient tiles A e Aᵀ and
/// adjoint Gᵀ dU G).</summary>
internal static unsafe partial class WinogradTransforms
{
    /// <summary>Filter transform of output channels [c0, c1) per part: each channel's C × 9 filters are transposed to 9
    /// rows of C, then the transform runs across input channels with whole-vector stores into the 16 planes of U.</summary>
    internal struct FilterJob : IParallelJob
    {
        public float* W, U;
        public int Cout, Cin, Parts;

        public readonly void RunPart(int part)
        {
            var (c0, c1) = RowParallel.Range(Cout, Parts, part);
            fixed (float* taps = Scratch(9 * Cin))
                for (int co = c0; co < c1; co++)
                {
                    float* g = W + (long)co * Cin * 9;
                    for (int ci = 0; ci < Cin; ci++)
                        for (int k = 0; k < 9; k++) taps[k * Cin + ci] = g[ci * 9 + k];
                    var body = new FilterTaps { Taps = taps, Cin = Cin, Dst = U + (long)co * Cin, Plane = (nint)Cout * Cin };
                    Loop(ref body, Cin);
                }
        }
    }

    /// <summary>U = G g Gᵀ for consecutive input channels: tap k of channel ci is Taps[k·Cin + ci]; the 16 outputs go to
    /// planes <see cref="Plane"/> apart.</summary>
    private struct FilterTaps : ITileOp
    {
        public float* Taps, Dst;
        public int Cin;
        public nint Plane;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TL, TV>(nint i) where TL : struct, ILane<TV> where TV : struct
        {
            // s = g Gᵀ per kernel row r (4 values), then U = G s per column.
            var s0 = Row<TL, TV>(Taps + i, Cin);
            var s1 = Row<TL, TV>(Taps + 3 * Cin + i, Cin);
            var s2 = Row<TL, TV>(Taps + 6 * Cin + i, Cin);
            float* d = Dst + i;
            nint p = Plane;
            Column<TL, TV>(d, 4 * p, s0.A, s1.A, s2.A);
            Column<TL, TV>(d + p, 4 * p, s0.B, s1.B, s2.B);
            Column<TL, TV>(d + 2 * p, 4 * p, s0.C, s1.C, s2.C);
            Column<TL, TV>(d + 3 * p, 4 * p, s0.D, s1.D, s2.D);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Four<TV> Row<TL, TV>(float* t, int cin) where TL : struct, ILane<TV> where TV : struct
        {
            TV g0 = TL.Load(t), g1 = TL.Load(t + cin), g2 = TL.Load(t + 2 * cin);
            TV sum = TL.Add(g0, g2);
            return new Four<TV>(g0, TL.Half(TL.Add(sum, g1)), TL.Half(TL.Sub(sum, g1)), g2);
        }

        /// <summary>(s0, ½(s0 + s1 + s2), ½(s0 − s1 + s2), s2) into rows a = 0 … 3 (<paramref name="step"/> apart).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Column<TL, TV>(float* d, nint step, TV s0, TV s1, TV s2) where TL : struct, ILane<TV> where TV : struct
        {
            TV sum = TL.Add(s0, s2);
            TL.Store(d, s0);
            TL.Store(d + step, TL.Half(TL.Add(sum, s1)));
            TL.Store(d + 2 * step, TL.Half(TL.Sub(sum, s1)));
            TL.Store(d + 3 * step, s2);
        }
    }


    /// <summary>Output-gradient transform of a block for the weight gradient: item (sample j, channel co) writes
    /// Ŷ[ξ][co][j·tiles + t] = (A e Aᵀ)[ξ] for the 2×2 gradient tile e of each tile t (zero where the tile overhangs
    /// the plane). Narrow planes (<see cref="InputJob.Gathers"/>) run one item per channel over all the block's
    /// columns, the tiles' values gathered from gy.</summary>
    internal struct GradJob : IParallelJob
    {
        public float* Gy, Dst;
        public int OutC, H, W, TH, TW, Cols, Items, Parts;

        /// <summary>The job's item count: channels when the plane's tiles are gathered (<see cref="InputJob.Gathers"/>),
        /// else samples × channels.</summary>
        internal static int ItemCount(int tW, int samples, int channels) => InputJob.ItemCount(tW, samples, channels);

        public readonly void RunPart(int part)
        {
            var (i0, i1) = RowParallel.Range(Items, Parts, part);
            int ts = TH * TW;
            if (Plane8.Applies(H, W) || Plane8Avx2.Applies(H, W))
            {
                // Items are channels, as on the gathered path; each sample's 16 tiles are one vector (two with AVX2).
                int samples = Cols / 16;
                bool avx512 = Plane8.Applies(H, W);
                for (int co = i0; co < i1; co++)
                    for (int j = 0; j < samples; j++)
                    {
                        float* src = Gy + ((long)j * OutC + co) * H * W, dst = Dst + (long)co * Cols + j * 16;
                        if (avx512) GradPlane8(src, dst, (nint)OutC * Cols);
                        else Plane8Avx2.Grad(src, dst, (nint)OutC * Cols);
                    }
                return;
            }
            if (InputJob.Gathers(TW))
            {
                // Narrow planes: per channel over all the block's columns, each tile's 2 × 2 values gathered from gy
                // (on 4 × 4 planes with AVX-512, four samples a vector by permutes, only the samples left over gathered).
                // (with AVX2 alone, two samples a vector).
                bool avx512 = Plane4.Applies(H, W);
                int plane = H * W, permuted = avx512 ? Cols / 16 * 16 : Plane4Avx2.Applies(H, W) ? Cols / 8 * 8 : 0;
                if (permuted > 0)
                    for (int co = i0; co < i1; co++)
                        for (int col = 0; col < permuted; col += avx512 ? 16 : 8)
                        {
                            float* src = Gy + ((long)(col / 4) * OutC + co) * plane, dst = Dst + (long)co * Cols + col;
                            if (avx512) GradPlane4(src, (nint)OutC * plane, dst, (nint)OutC * Cols);
                            else Plane4Avx2.Grad(src, (nint)OutC * plane, dst, (nint)OutC * Cols);
                        }
                if (permuted == Cols) return;
                fixed (int* table = WindowTaps.Scratch(2 * 4 * Cols))
                {
                    // Tile (th, tw)'s 2 × 2 gradient values are a window at stride 2 without padding.
                    int* index = table, keep = table + 4 * Cols;
                    WindowTaps.Fill(index, keep, H, W, TH, TW, 2, 2, 2, 2, 0, 0, Cols / ts, (long)OutC * plane, Cols);
                    for (int co = i0; co < i1; co++)
                    {
                        var body = new GradTiles<GatheredTaps>
                        {
                            Taps = new GatheredTaps { X = Gy + (long)co * plane, Index = index + permuted, Keep = keep + permuted, Cols = Cols },
                            Dst = Dst + (long)co * Cols + permuted, Stride = (nint)OutC * Cols,
                        };
                        Loop(ref body, Cols - permuted);
                    }
                }
                return;
            }
            fixed (float* quad = Scratch(4 * ts))
                for (int item = i0; item < i1; item++)
                {
                    int j = item / OutC, co = item % OutC;
                    SplitTiles(Gy + ((long)j * OutC + co) * H * W, quad, H, W, TW, ts);
                    var body = new GradTiles<PlaneTaps> { Taps = new PlaneTaps { P = quad, Plane = ts }, Dst = Dst + (long)co * Cols + (long)j * ts, Stride = (nint)OutC * Cols };
                    Loop(ref body, ts);
                }
        }
    }

    /// <summary>quad[2·i + jj][th·tW + tw] = y[2·th + i][2·tw + jj], zero past the plane (the inverse of
    /// <see cref="Interleave"/>).</summary>
    private static void SplitTiles(float* y, float* quad, int h, int w, int tW, int ts)
    {
        if ((h & 1) != 0 || (w & 1) != 0) new Span<float>(quad, 4 * ts).Clear();
        for (int yy = 0; yy < h; yy++)
        {
            float* row = y + (long)yy * w;
            float* even = quad + ((yy & 1) * 2) * ts + (yy >> 1) * tW, odd = even + ts;
            int xx = 0;
            for (; xx + 1 < w; xx += 2)
            {
                even[xx >> 1] = row[xx];
                odd[xx >> 1] = row[xx + 1];
            }
            if (xx < w) even[xx >> 1] = row[xx];
        }
    }

    /// <summary>A e Aᵀ for consecutive tiles: A e gives rows (e0, e0 + e1, e0 − e1, −e1) of the tile's two rows, and
    /// each row (f0, f1) gives (f0, f0 + f1, f0 − f1, −f1).</summary>
    private struct GradTiles<TTaps> : ITileOp where TTaps : struct, ITaps
    {
        public TTaps Taps;
        public float* Dst;
        public nint Stride;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TL, TV>(nint t) where TL : struct, ILane<TV> where TV : struct
        {
            GradTransform<TL, TV>(Dst + t, Stride, Taps.Tap<TL, TV>(0, t), Taps.Tap<TL, TV>(1, t), Taps.Tap<TL, TV>(2, t), Taps.Tap<TL, TV>(3, t));
        }
    }

    /// <summary>A e Aᵀ of gradient tiles (e00 e01; e10 e11), transform point ξ stored at d + ξ·s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradTransform<TL, TV>(float* d, nint s, TV e00, TV e01, TV e10, TV e11) where TL : struct, ILane<TV> where TV : struct
    {
        GradRow<TL, TV>(d, s, e00, e01);
        GradRow<TL, TV>(d + 4 * s, s, TL.Add(e00, e10), TL.Add(e01, e11));
        GradRow<TL, TV>(d + 8 * s, s, TL.Sub(e00, e10), TL.Sub(e01, e11));
        GradRow<TL, TV>(d + 12 * s, s, TL.Neg(e10), TL.Neg(e11));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradRow<TL, TV>(float* d, nint s, TV f0, TV f1) where TL : struct, ILane<TV> where TV : struct
    {
        TL.Store(d, f0);
        TL.Store(d + s, TL.Add(f0, f1));
        TL.Store(d + 2 * s, TL.Sub(f0, f1));
        TL.Store(d + 3 * s, TL.Neg(f1));
    }

    /// <summary>The weight gradient from its transform, per part a range of output channels: gw[co][ci] = Gᵀ dU G with
    /// dU[ξ][co][ci] (Cout × C planes), computed across input channels into 9 rows of taps, then transposed into
    /// gw's [co][ci][kh][kw] order.</summary>
    internal struct FilterGradJob : IParallelJob
    {
        public float* DU, Gw;
        public int Cout, Cin, Parts;

        public readonly void RunPart(int part)
        {
            var (c0, c1) = RowParallel.Range(Cout, Parts, part);
            fixed (float* taps = Scratch(9 * Cin))
                for (int co = c0; co < c1; co++)
                {
                    var body = new FilterGradTaps { Src = DU + (long)co * Cin, Plane = (nint)Cout * Cin, Taps = taps, Cin = Cin };
                    Loop(ref body, Cin);
                    float* g = Gw + (long)co * Cin * 9;
                    for (int ci = 0; ci < Cin; ci++)
                        for (int k = 0; k < 9; k++) g[ci * 9 + k] = taps[k * Cin + ci];
                }
        }
    }

    /// <summary>Gᵀ u for a 4-vector u: (u0 + ½(u1 + u2), ½(u1 − u2), ½(u1 + u2) + u3), along b then along a.</summary>
    private struct FilterGradTaps : ITileOp
    {
        public float* Src, Taps;
        public nint Plane;
        public int Cin;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TL, TV>(nint i) where TL : struct, ILane<TV> where TV : struct
        {
            float* u = Src + i;
            nint p = Plane;
            var r0 = Reduce<TL, TV>(TL.Load(u), TL.Load(u + p), TL.Load(u + 2 * p), TL.Load(u + 3 * p));
            var r1 = Reduce<TL, TV>(TL.Load(u + 4 * p), TL.Load(u + 5 * p), TL.Load(u + 6 * p), TL.Load(u + 7 * p));
            var r2 = Reduce<TL, TV>(TL.Load(u + 8 * p), TL.Load(u + 9 * p), TL.Load(u + 10 * p), TL.Load(u + 11 * p));
            var r3 = Reduce<TL, TV>(TL.Load(u + 12 * p), TL.Load(u + 13 * p), TL.Load(u + 14 * p), TL.Load(u + 15 * p));
            float* t = Taps + i;
            Store<TL, TV>(t, Cin, r0.A, r1.A, r2.A, r3.A);
            Store<TL, TV>(t + Cin, Cin, r0.B, r1.B, r2.B, r3.B);
            Store<TL, TV>(t + 2 * Cin, Cin, r0.C, r1.C, r2.C, r3.C);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Four<TV> Reduce<TL, TV>(TV u0, TV u1, TV u2, TV u3) where TL : struct, ILane<TV> where TV : struct
        {
            TV half = TL.Half(TL.Add(u1, u2));
            return new Four<TV>(TL.Add(u0, half), TL.Half(TL.Sub(u1, u2)), TL.Add(half, u3), default);
        }

        /// <summary>Taps (kh, kw) for kh = 0, 1, 2 of one column kw: Gᵀ applied along a to the column's four values.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Store<TL, TV>(float* t, int cin, TV a0, TV a1, TV a2, TV a3) where TL : struct, ILane<TV> where TV : struct
        {
            var r = Reduce<TL, TV>(a0, a1, a2, a3);
            TL.Store(t, r.A);
            TL.Store(t + 3 * cin, r.B);
            TL.Store(t + 6 * cin, r.C);
        }
    }
}
