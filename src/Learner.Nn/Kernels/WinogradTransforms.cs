using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Learner.Nn.Kernels;

/// <summary>
/// The transforms of <see cref="WinogradConv"/>, each a struct job on the <see cref="WorkerPool"/> whose inner loop is
/// one <see cref="Simd.Loop{TBody}"/> body written once over the rungs of the ladder (<see cref="ILane{TV}"/>):
/// filters U = G g Gᵀ and their adjoint Gᵀ dU G (across input channels), input tiles V = Bᵀ d B (across the tiles of a
/// row), output tiles Aᵀ M A and output-gradient tiles A e Aᵀ (across all tiles of a plane). Transform point ξ = 4a + b
/// of a block's matrices lives at plane ξ: V[ξ][c][col], M[ξ][co][col], with col = sample · tiles + th · tW + tw.
/// </summary>
/// <remarks>Only additions, subtractions and halvings, each correctly rounded per element, so a transform gives the same
/// bits on every rung.</remarks>
internal static unsafe partial class WinogradTransforms
{
    [ThreadStatic] private static float[]? _scratch;

    internal static float[] Scratch(int length)
    {
        if (_scratch is null || _scratch.Length < length) _scratch = new float[Math.Max(length, 1024)];
        return _scratch;
    }

    /// <summary>Input transform of a block: V[ξ][c][j·tiles + t] for every sample j, channel c and tile t. Planes whose
    /// rows of tiles fill a 256-bit vector run per (sample, channel) item, vectorised along each row of tiles; narrower
    /// planes (deep ResNet stages: 4 × 4, 8 × 8) run per channel over all the block's columns, each tile's 16 patch
    /// values gathered straight from x through a <see cref="WindowTaps"/> table (no staging copy), so the transform runs at
    /// full vector width however few tiles a plane has.</summary>
    internal struct InputJob : IParallelJob
    {
        public float* X, V;
        public int InC, H, W, TH, TW, Cols, Items, Parts;

        /// <summary>Whether a plane of <paramref name="tW"/> tiles per row takes the gathered path.</summary>
        internal static bool Gathers(int tW) => tW < 8;

        /// <summary>The job's item count: channels (gathered) or samples × channels.</summary>
        internal static int ItemCount(int tW, int samples, int channels) => Gathers(tW) ? channels : samples * channels;

        public readonly void RunPart(int part)
        {
            var (i0, i1) = RowParallel.Range(Items, Parts, part);
            if (Gathers(TW)) { RunGathered(i0, i1); return; }
            int qr = TH + 1, qc = TW + 1, q = qr * qc, ts = TH * TW;
            fixed (float* quad = Scratch(4 * q))
                for (int item = i0; item < i1; item++)
                {
                    int j = item / InC, c = item % InC;
                    Deinterleave(X + ((long)j * InC + c) * H * W, quad, H, W, qc, q);
                    var body = new InputRow { Q = quad, QRow = qc, Q1 = q, Stride = (nint)InC * Cols };
                    for (int th = 0; th < TH; th++)
                    {
                        body.Row = th;
                        body.Dst = V + (long)c * Cols + (long)j * ts + th * TW;
                        Loop(ref body, TW);
                    }
                }
        }

        private readonly void RunGathered(int c0, int c1)
        {
            // One table of where each tile's 16 patch values sit in the block (sample offset included) and which are
            // padding, shared by every channel; the transform then gathers its operands straight from x.
            int plane = H * W;
            if (Plane8.Applies(H, W) || Plane8Avx2.Applies(H, W))
            {
                // One sample's 16 tiles are one vector (two with AVX2): its taps come from permutes of the plane's rows.
                int samples = Cols / 16;
                bool avx512 = Plane8.Applies(H, W);
                for (int c = c0; c < c1; c++)
                    for (int j = 0; j < samples; j++)
                    {
                        float* src = X + ((long)j * InC + c) * plane, dst = V + (long)c * Cols + j * 16;
                        if (avx512) InputPlane8(src, dst, (nint)InC * Cols);
                        else Plane8Avx2.Input(src, dst, (nint)InC * Cols);
                    }
                return;
            }
            // 4 × 4 planes: four samples' tiles a vector by permutes; the columns of the samples left over are gathered.
            // (With AVX2 alone, two samples' tiles a vector by permutes.)
            bool fourSamples = Plane4.Applies(H, W);
            int permuted = fourSamples ? Cols / 16 * 16 : Plane4Avx2.Applies(H, W) ? Cols / 8 * 8 : 0;
            if (permuted > 0)
                for (int c = c0; c < c1; c++)
                    for (int col = 0; col < permuted; col += fourSamples ? 16 : 8)
                    {
                        float* src = X + ((long)(col / 4) * InC + c) * plane, dst = V + (long)c * Cols + col;
                        if (fourSamples) InputPlane4(src, (nint)InC * plane, dst, (nint)InC * Cols);
                        else Plane4Avx2.Input(src, (nint)InC * plane, dst, (nint)InC * Cols);
                    }
            if (permuted == Cols) return;
            fixed (int* table = WindowTaps.Scratch(2 * 16 * Cols))
            {
                // Tile (th, tw)'s 4 × 4 patch is a window at stride 2 with padding 1.
                int* index = table, keep = table + 16 * Cols;
                WindowTaps.Fill(index, keep, H, W, TH, TW, 4, 4, 2, 2, 1, 1, Cols / (TH * TW), (long)InC * plane, Cols);
                for (int c = c0; c < c1; c++)
                {
                    var body = new GatheredTiles
                    {
                        Taps = new GatheredTaps { X = X + (long)c * plane, Index = index + permuted, Keep = keep + permuted, Cols = Cols },
                        Dst = V + (long)c * Cols + permuted, Stride = (nint)InC * Cols,
                    };
                    Loop(ref body, Cols - permuted);
                }
            }
        }
    }

    /// <summary>The input transform of a channel's tiles over a block's columns, value (i, j) of each column's 4 × 4
    /// patch being tap 4i + j of <see cref="Taps"/>.</summary>
    private struct GatheredTiles : ITileOp
    {
        public GatheredTaps Taps;
        public float* Dst;
        public nint Stride;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TL, TV>(nint t) where TL : struct, ILane<TV> where TV : struct
        {
            var t0 = InputRow.RowTransform<TL, TV>(Taps.Tap<TL, TV>(0, t), Taps.Tap<TL, TV>(1, t), Taps.Tap<TL, TV>(2, t), Taps.Tap<TL, TV>(3, t));
            var t1 = InputRow.RowTransform<TL, TV>(Taps.Tap<TL, TV>(4, t), Taps.Tap<TL, TV>(5, t), Taps.Tap<TL, TV>(6, t), Taps.Tap<TL, TV>(7, t));
            var t2 = InputRow.RowTransform<TL, TV>(Taps.Tap<TL, TV>(8, t), Taps.Tap<TL, TV>(9, t), Taps.Tap<TL, TV>(10, t), Taps.Tap<TL, TV>(11, t));
            var t3 = InputRow.RowTransform<TL, TV>(Taps.Tap<TL, TV>(12, t), Taps.Tap<TL, TV>(13, t), Taps.Tap<TL, TV>(14, t), Taps.Tap<TL, TV>(15, t));
            InputRow.Emit<TL, TV>(Dst + t, Stride, t0, t1, t2, t3);
        }
    }

    /// <summary>Where a transform reads tap k of the tiles at column t.</summary>
    internal interface ITaps
    {
        TV Tap<TL, TV>(int k, nint t) where TL : struct, ILane<TV> where TV : struct;
    }

    /// <summary>Taps stored as planes: tap k of column t at P[k · Plane + t].</summary>
    private struct PlaneTaps : ITaps
    {
        public float* P;
        public int Plane;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Tap<TL, TV>(int k, nint t) where TL : struct, ILane<TV> where TV : struct => TL.Load(P + (nint)k * Plane + t);
    }

    /// <summary>Taps gathered from the planes themselves through a <see cref="WindowTaps"/> table: tap k of column t is
    /// X[Index[k · Cols + t]], or zero where Keep says padding.</summary>
    private struct GatheredTaps : ITaps
    {
        public float* X;
        public int* Index, Keep;
        public int Cols;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly TV Tap<TL, TV>(int k, nint t) where TL : struct, ILane<TV> where TV : struct
        {
            nint at = (nint)k * Cols + t;
            return TL.Gather(X, Index + at, Keep + at);
        }
    }


    /// <summary>Splits a zero-padded channel into its four (row parity, column parity) quarters:
    /// quad[2·pr + pc][k][l] = x[2k + pr − 1][2l + pc − 1], zero outside the channel.</summary>
    private static void Deinterleave(float* x, float* quad, int h, int w, int qc, int q)
    {
        new Span<float>(quad, 4 * q).Clear();
        for (int y = 0; y < h; y++)
        {
            int pr = (y + 1) & 1, k = (y + 1) >> 1;
            float* row = x + (long)y * w;
            float* even = quad + (2 * pr) * q + k * qc;   // pc = 0: padded columns 0, 2, … (x columns −1, 1, 3, …)
            float* odd = quad + (2 * pr + 1) * q + k * qc; // pc = 1: x columns 0, 2, 4, …
            int xx = 0;
            for (; xx + 1 < w; xx += 2)
            {
                odd[xx >> 1] = row[xx];
                even[(xx >> 1) + 1] = row[xx + 1];
            }
            if (xx < w) odd[xx >> 1] = row[xx];
        }
    }

    /// <summary>One row of tiles of the input transform, vectorised over the tiles of the row.</summary>
    private struct InputRow : ITileOp
    {
        public float* Q, Dst;
        public int QRow, Q1, Row;
        public nint Stride;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TL, TV>(nint l) where TL : struct, ILane<TV> where TV : struct
        {
            // d[i][j] = padded x[2·th + i][2·tw + j]; rows i = 0, 2 read quarter row th, rows 1, 3 the next parity.
            float* r0 = Q + (nint)Row * QRow + l, r2 = r0 + QRow; // row parity 0 (quarters 0, 1)
            float* r1 = r0 + 2 * Q1, r3 = r2 + 2 * Q1;           // row parity 1 (quarters 2, 3)
            var t0 = RowTransform<TL, TV>(r0, Q1);
            var t1 = RowTransform<TL, TV>(r1, Q1);
            var t2 = RowTransform<TL, TV>(r2, Q1);
            var t3 = RowTransform<TL, TV>(r3, Q1);
            Emit<TL, TV>(Dst + l, Stride, t0, t1, t2, t3);
        }

        /// <summary>Bᵀ applied across the four row transforms t0 … t3: transform point 4a + b goes to plane 4a + b.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void Emit<TL, TV>(float* d, nint s, in Four<TV> t0, in Four<TV> t1, in Four<TV> t2, in Four<TV> t3) where TL : struct, ILane<TV> where TV : struct
        {
            TL.Store(d, TL.Sub(t0.A, t2.A)); TL.Store(d + s, TL.Sub(t0.B, t2.B)); TL.Store(d + 2 * s, TL.Sub(t0.C, t2.C)); TL.Store(d + 3 * s, TL.Sub(t0.D, t2.D));
            d += 4 * s;
            TL.Store(d, TL.Add(t1.A, t2.A)); TL.Store(d + s, TL.Add(t1.B, t2.B)); TL.Store(d + 2 * s, TL.Add(t1.C, t2.C)); TL.Store(d + 3 * s, TL.Add(t1.D, t2.D));
            d += 4 * s;
            TL.Store(d, TL.Sub(t2.A, t1.A)); TL.Store(d + s, TL.Sub(t2.B, t1.B)); TL.Store(d + 2 * s, TL.Sub(t2.C, t1.C)); TL.Store(d + 3 * s, TL.Sub(t2.D, t1.D));
            d += 4 * s;
            TL.Store(d, TL.Sub(t1.A, t3.A)); TL.Store(d + s, TL.Sub(t1.B, t3.B)); TL.Store(d + 2 * s, TL.Sub(t1.C, t3.C)); TL.Store(d + 3 * s, TL.Sub(t1.D, t3.D));
        }

        /// <summary>d B for one tile row: its four values are quarter pc = 0, 1 at l and l + 1.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Four<TV> RowTransform<TL, TV>(float* even, int quarter) where TL : struct, ILane<TV> where TV : struct =>
            RowTransform<TL, TV>(TL.Load(even), TL.Load(even + quarter), TL.Load(even + 1), TL.Load(even + quarter + 1));

        /// <summary>d B for one tile row (d0, d1, d2, d3): (d0 − d2, d1 + d2, d2 − d1, d1 − d3).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static Four<TV> RowTransform<TL, TV>(TV d0, TV d1, TV d2, TV d3) where TL : struct, ILane<TV> where TV : struct =>
            new(TL.Sub(d0, d2), TL.Add(d1, d2), TL.Sub(d2, d1), TL.Sub(d1, d3));
    }

    /// <summary>Output transform of a block: item (sample j, channel co) reads M[ξ][co][j·tiles + t] and writes its plane.</summary>
    internal struct OutputJob : IParallelJob
    {
        public float* M, Y, Bias;
        public int OutC, H, W, TH, TW, Cols, Items, Parts;

        /// <summary>The job's item count: (sample, channel) pairs, except on 4 × 4 planes with AVX-512, where four samples'
        /// tiles fill a vector and each whole group of four is one item per channel.</summary>
        internal static int ItemCount(int h, int w, int samples, int channels) =>
            Plane4.Applies(h, w) ? (samples / 4 + samples % 4) * channels : samples * channels;

        public readonly void RunPart(int part)
        {
            var (i0, i1) = RowParallel.Range(Items, Parts, part);
            int ts = TH * TW;
            int groups = Plane4.Applies(H, W) ? Cols / 16 : 0;
            if (groups > 0)
            {
                int grouped = groups * OutC;
                for (int item = i0; item < Math.Min(i1, grouped); item++)
                {
                    int gr = item / OutC, co = item % OutC;
                    OutputPlane4(M + (long)co * Cols + gr * 16, (nint)OutC * Cols, Y + ((long)gr * 4 * OutC + co) * 16, (nint)OutC * 16, Bias is null ? 0f : Bias[co]);
                }
                // The samples past the last group of four, one (sample, channel) item each, below.
                if (i1 <= grouped) return;
                i0 = Math.Max(i0, grouped) - grouped + groups * 4 * OutC;
                i1 = i1 - grouped + groups * 4 * OutC;
            }
            if (Plane8.Applies(H, W))
            {
                // A sample's 16 tiles are one vector: the plane's rows come from permutes of the four outputs.
                for (int item = i0; item < i1; item++)
                {
                    int j = item / OutC, co = item % OutC;
                    OutputPlane8(M + (long)co * Cols + (long)j * ts, (nint)OutC * Cols, Y + ((long)j * OutC + co) * H * W, Bias is null ? 0f : Bias[co]);
                }
                return;
            }
            fixed (float* quad = Scratch(4 * ts))
                for (int item = i0; item < i1; item++)
                {
                    int j = item / OutC, co = item % OutC;
                    var body = new OutputTiles { M = M + (long)co * Cols + (long)j * ts, Stride = (nint)OutC * Cols, Dst = quad, Plane = ts };
                    Loop(ref body, ts);
                    Interleave(quad, ts, Y + ((long)j * OutC + co) * H * W, H, W, TW, Bias is null ? 0f : Bias[co]);
                }
        }
    }

    /// <summary>y[2·th + i][2·tw + jj] = Y_(i,jj)[th·tW + tw] + bias, cropped to the plane.</summary>
    private static void Interleave(float* quad, int ts, float* y, int h, int w, int tW, float bias)
    {
        for (int yy = 0; yy < h; yy++)
        {
            float* row = y + (long)yy * w;
            float* even = quad + ((yy & 1) * 2) * ts + (yy >> 1) * tW, odd = even + ts;
            int xx = 0;
            for (; xx + 1 < w; xx += 2)
            {
                row[xx] = even[xx >> 1] + bias;
                row[xx + 1] = odd[xx >> 1] + bias;
            }
            if (xx < w) row[xx] = even[xx >> 1] + bias;
        }
    }

    /// <summary>Aᵀ M A for consecutive tiles: the 16 transform points of a tile are <see cref="Stride"/> apart.</summary>
    private struct OutputTiles : ITileOp
    {
        public float* M, Dst;
        public nint Stride;
        public int Plane;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TL, TV>(nint t) where TL : struct, ILane<TV> where TV : struct
        {
            var q = Quad<TL, TV>(M + t, Stride);
            float* d = Dst + t;
            TL.Store(d, q.A);
            TL.Store(d + Plane, q.B);
            TL.Store(d + 2 * Plane, q.C);
            TL.Store(d + 3 * Plane, q.D);
        }

        /// <summary>The 2 × 2 outputs (A, B; C, D) of the tiles at <paramref name="m"/>: Aᵀ M A, transform points
        /// <paramref name="s"/> apart.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static Four<TV> Quad<TL, TV>(float* m, nint s) where TL : struct, ILane<TV> where TV : struct
        {
            var r0 = Columns<TL, TV>(m, s);
            var r1 = Columns<TL, TV>(m + 4 * s, s);
            var r2 = Columns<TL, TV>(m + 8 * s, s);
            var r3 = Columns<TL, TV>(m + 12 * s, s);
            return new Four<TV>(TL.Add(TL.Add(r0.A, r1.A), r2.A), TL.Add(TL.Add(r0.B, r1.B), r2.B),
                TL.Sub(TL.Sub(r1.A, r2.A), r3.A), TL.Sub(TL.Sub(r1.B, r2.B), r3.B));
        }

        /// <summary>One row a of M (points 4a … 4a + 3) times A: (m0 + m1 + m2, m1 − m2 − m3).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Four<TV> Columns<TL, TV>(float* m, nint s) where TL : struct, ILane<TV> where TV : struct
        {
            TV m0 = TL.Load(m), m1 = TL.Load(m + s), m2 = TL.Load(m + 2 * s), m3 = TL.Load(m + 3 * s);
            return new Four<TV>(TL.Add(TL.Add(m0, m1), m2), TL.Sub(TL.Sub(m1, m2), m3), default, default);
        }
    }
}
