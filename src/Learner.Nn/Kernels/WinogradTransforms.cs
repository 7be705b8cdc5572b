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
internal static unsafe class WinogradTransforms
{
    /// <summary>A transform's inner step at position i of its loop, written once for every rung of the ladder
    /// (the lane type is the rung: 512, 256 or 128 bits, or one float).</summary>
    internal interface ITileOp
    {
        void At<TL, TV>(nint i) where TL : struct, ILane<TV> where TV : struct;
    }

    /// <summary>Runs <paramref name="op"/> over [0, <paramref name="n"/>) on the widest rung whose vector fits
    /// <paramref name="n"/>, the remainder one float at a time (the adds are correctly rounded, so the rung changes no
    /// bit).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Loop<TOp>(ref TOp op, int n) where TOp : struct, ITileOp
    {
        var body = new Ladder<TOp> { Op = op };
        Simd.Loop(ref body, n, Simd.Rung(Simd.Best, n));
    }

    private struct Ladder<TOp> : Simd.ILoopBody where TOp : struct, ITileOp
    {
        public TOp Op;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void At512(nint i) => Op.At<Lane512, Vector512<float>>(i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void At256(nint i) => Op.At<Lane256, Vector256<float>>(i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void At128(nint i) => Op.At<Lane128, Vector128<float>>(i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void At1(nint i) => Op.At<Lane1, float>(i);

        public void Tail(nint i, int count, int lanes)
        {
            for (int k = 0; k < count; k++) Op.At<Lane1, float>(i + k);
        }
    }

    [ThreadStatic] private static float[]? _scratch;

    internal static float[] Scratch(int length)
    {
        if (_scratch is null || _scratch.Length < length) _scratch = new float[Math.Max(length, 1024)];
        return _scratch;
    }

    /// <summary>Input transform of a block: V[ξ][c][j·tiles + t] for every sample j, channel c and tile t. Planes whose
    /// rows of tiles fill a 256-bit vector run per (sample, channel) item, vectorised along each row of tiles; narrower
    /// planes (deep ResNet stages: 4 × 4, 6 × 6) run per channel over all the block's samples, their 4 × 4 patches
    /// gathered first so the transform runs along the block's contiguous columns.</summary>
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
            int i0 = (int)((long)Items * part / Parts), i1 = (int)((long)Items * (part + 1) / Parts);
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
            int ts = TH * TW, samples = Cols / ts, pw = 2 * TW + 2, plane = (2 * TH + 2) * pw;
            fixed (float* scratch = Scratch(16 * Cols + plane))
            {
                float* d = scratch, pad = scratch + 16 * Cols;
                // The padded plane's border is zero once; only its interior is rewritten per sample.
                new Span<float>(pad, plane).Clear();
                for (int c = c0; c < c1; c++)
                {
                    for (int j = 0; j < samples; j++)
                    {
                        float* x = X + ((long)j * InC + c) * H * W;
                        for (int y = 0; y < H; y++) new ReadOnlySpan<float>(x + y * W, W).CopyTo(new Span<float>(pad + (y + 1) * pw + 1, W));
                        for (int th = 0; th < TH; th++)
                            for (int tw = 0; tw < TW; tw++)
                            {
                                float* src = pad + 2 * th * pw + 2 * tw;
                                float* dst = d + j * ts + th * TW + tw;
                                for (int i = 0; i < 4; i++, src += pw, dst += 4 * Cols)
                                {
                                    dst[0] = src[0]; dst[Cols] = src[1]; dst[2 * Cols] = src[2]; dst[3 * Cols] = src[3];
                                }
                            }
                    }
                    var body = new GatheredTiles { D = d, Cols = Cols, Dst = V + (long)c * Cols, Stride = (nint)InC * Cols };
                    Loop(ref body, Cols);
                }
            }
        }
    }

    /// <summary>The input transform of gathered tiles: value (i, j) of every tile's 4 × 4 patch in row 4i + j of D.</summary>
    private struct GatheredTiles : ITileOp
    {
        public float* D, Dst;
        public int Cols;
        public nint Stride;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TL, TV>(nint t) where TL : struct, ILane<TV> where TV : struct
        {
            float* r = D + t;
            nint c = Cols;
            var t0 = InputRow.RowTransform<TL, TV>(TL.Load(r), TL.Load(r + c), TL.Load(r + 2 * c), TL.Load(r + 3 * c));
            var t1 = InputRow.RowTransform<TL, TV>(TL.Load(r + 4 * c), TL.Load(r + 5 * c), TL.Load(r + 6 * c), TL.Load(r + 7 * c));
            var t2 = InputRow.RowTransform<TL, TV>(TL.Load(r + 8 * c), TL.Load(r + 9 * c), TL.Load(r + 10 * c), TL.Load(r + 11 * c));
            var t3 = InputRow.RowTransform<TL, TV>(TL.Load(r + 12 * c), TL.Load(r + 13 * c), TL.Load(r + 14 * c), TL.Load(r + 15 * c));
            InputRow.Emit<TL, TV>(Dst + t, Stride, t0, t1, t2, t3);
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

    private readonly struct Four<TV>(TV a, TV b, TV c, TV d) where TV : struct
    {
        public readonly TV A = a, B = b, C = c, D = d;
    }

    /// <summary>Output transform of a block: item (sample j, channel co) reads M[ξ][co][j·tiles + t] and writes its plane.</summary>
    internal struct OutputJob : IParallelJob
    {
        public float* M, Y, Bias;
        public int OutC, H, W, TH, TW, Cols, Items, Parts;

        public readonly void RunPart(int part)
        {
            int i0 = (int)((long)Items * part / Parts), i1 = (int)((long)Items * (part + 1) / Parts);
            int ts = TH * TW;
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
            var r0 = Columns<TL, TV>(M + t, Stride);
            var r1 = Columns<TL, TV>(M + t + 4 * Stride, Stride);
            var r2 = Columns<TL, TV>(M + t + 8 * Stride, Stride);
            var r3 = Columns<TL, TV>(M + t + 12 * Stride, Stride);
            float* d = Dst + t;
            TL.Store(d, TL.Add(TL.Add(r0.A, r1.A), r2.A));
            TL.Store(d + Plane, TL.Add(TL.Add(r0.B, r1.B), r2.B));
            TL.Store(d + 2 * Plane, TL.Sub(TL.Sub(r1.A, r2.A), r3.A));
            TL.Store(d + 3 * Plane, TL.Sub(TL.Sub(r1.B, r2.B), r3.B));
        }

        /// <summary>One row a of M (points 4a … 4a + 3) times A: (m0 + m1 + m2, m1 − m2 − m3).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Four<TV> Columns<TL, TV>(float* m, nint s) where TL : struct, ILane<TV> where TV : struct
        {
            TV m0 = TL.Load(m), m1 = TL.Load(m + s), m2 = TL.Load(m + 2 * s), m3 = TL.Load(m + 3 * s);
            return new Four<TV>(TL.Add(TL.Add(m0, m1), m2), TL.Sub(TL.Sub(m1, m2), m3), default, default);
        }
    }

    /// <summary>One rung of the ladder for the transforms: loads, stores, adds and subtracts of a vector (or one float).</summary>
    internal interface ILane<TV> where TV : struct
    {
        static abstract TV Load(float* p);
        static abstract void Store(float* p, TV v);
        static abstract TV Add(TV a, TV b);
        static abstract TV Sub(TV a, TV b);
        static abstract TV Half(TV a);
        static abstract TV Neg(TV a);
    }

    private readonly struct Lane512 : ILane<Vector512<float>>
    {
        public static Vector512<float> Load(float* p) => Vector512.Load(p);
        public static void Store(float* p, Vector512<float> v) => v.Store(p);
        public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
        public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;
        public static Vector512<float> Half(Vector512<float> a) => a * 0.5f;
        public static Vector512<float> Neg(Vector512<float> a) => -a;
    }

    private readonly struct Lane256 : ILane<Vector256<float>>
    {
        public static Vector256<float> Load(float* p) => Vector256.Load(p);
        public static void Store(float* p, Vector256<float> v) => v.Store(p);
        public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
        public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;
        public static Vector256<float> Half(Vector256<float> a) => a * 0.5f;
        public static Vector256<float> Neg(Vector256<float> a) => -a;
    }

    private readonly struct Lane128 : ILane<Vector128<float>>
    {
        public static Vector128<float> Load(float* p) => Vector128.Load(p);
        public static void Store(float* p, Vector128<float> v) => v.Store(p);
        public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
        public static Vector128<float> Sub(Vector128<float> a, Vector128<float> b) => a - b;
        public static Vector128<float> Half(Vector128<float> a) => a * 0.5f;
        public static Vector128<float> Neg(Vector128<float> a) => -a;
    }

    private readonly struct Lane1 : ILane<float>
    {
        public static float Load(float* p) => *p;
        public static void Store(float* p, float v) => *p = v;
        public static float Add(float a, float b) => a + b;
        public static float Sub(float a, float b) => a - b;
        public static float Half(float a) => a * 0.5f;
        public static float Neg(float a) => -a;
    }
    /// <summary>Filter transform of output channels [c0, c1) per part: each channel's C × 9 filters are transposed to 9
    /// rows of C, then the transform runs across input channels with whole-vector stores into the 16 planes of U.</summary>
    internal struct FilterJob : IParallelJob
    {
        public float* W, U;
        public int Cout, Cin, Parts;

        public readonly void RunPart(int part)
        {
            int c0 = (int)((long)Cout * part / Parts), c1 = (int)((long)Cout * (part + 1) / Parts);
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
    /// the plane).</summary>
    internal struct GradJob : IParallelJob
    {
        public float* Gy, Dst;
        public int OutC, H, W, TH, TW, Cols, Items, Parts;

        public readonly void RunPart(int part)
        {
            int i0 = (int)((long)Items * part / Parts), i1 = (int)((long)Items * (part + 1) / Parts);
            int ts = TH * TW;
            fixed (float* quad = Scratch(4 * ts))
                for (int item = i0; item < i1; item++)
                {
                    int j = item / OutC, co = item % OutC;
                    SplitTiles(Gy + ((long)j * OutC + co) * H * W, quad, H, W, TW, ts);
                    var body = new GradTiles { Q = quad, Plane = ts, Dst = Dst + (long)co * Cols + (long)j * ts, Stride = (nint)OutC * Cols };
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
    private struct GradTiles : ITileOp
    {
        public float* Q, Dst;
        public int Plane;
        public nint Stride;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At<TL, TV>(nint t) where TL : struct, ILane<TV> where TV : struct
        {
            TV e00 = TL.Load(Q + t), e01 = TL.Load(Q + Plane + t), e10 = TL.Load(Q + 2 * Plane + t), e11 = TL.Load(Q + 3 * Plane + t);
            float* d = Dst + t;
            nint s = Stride;
            Row<TL, TV>(d, s, e00, e01);
            Row<TL, TV>(d + 4 * s, s, TL.Add(e00, e10), TL.Add(e01, e11));
            Row<TL, TV>(d + 8 * s, s, TL.Sub(e00, e10), TL.Sub(e01, e11));
            Row<TL, TV>(d + 12 * s, s, TL.Neg(e10), TL.Neg(e11));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Row<TL, TV>(float* d, nint s, TV f0, TV f1) where TL : struct, ILane<TV> where TV : struct
        {
            TL.Store(d, f0);
            TL.Store(d + s, TL.Add(f0, f1));
            TL.Store(d + 2 * s, TL.Sub(f0, f1));
            TL.Store(d + 3 * s, TL.Neg(f1));
        }
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
            int c0 = (int)((long)Cout * part / Parts), c1 = (int)((long)Cout * (part + 1) / Parts);
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
