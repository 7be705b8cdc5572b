using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Learner.Nn.Kernels;

internal static unsafe partial class WinogradTransforms
{
    /// <summary>Sixteen tiles held in registers (<see cref="Plane8"/>, <see cref="Plane4"/>): tap k of every tile as one
    /// vector, from the permute indices and padding masks of tap k (16 lanes each, at <c>k·16</c>).</summary>
    private interface IPermutedTiles
    {
        Vector512<float> Tap(int k, int* index, int* keep);
    }

    /// <summary>The input transform of the sixteen tiles of <paramref name="tiles"/> into <paramref name="dst"/>
    /// (point ξ at ξ·stride): the 4 × 4 taps of each tile, row by row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputTiles<TTiles>(in TTiles tiles, int* ix, int* kp, float* dst, nint stride) where TTiles : struct, IPermutedTiles
    {
        var t0 = InputRow.RowTransform<Lane512, Vector512<float>>(tiles.Tap(0, ix, kp), tiles.Tap(1, ix, kp), tiles.Tap(2, ix, kp), tiles.Tap(3, ix, kp));
        var t1 = InputRow.RowTransform<Lane512, Vector512<float>>(tiles.Tap(4, ix, kp), tiles.Tap(5, ix, kp), tiles.Tap(6, ix, kp), tiles.Tap(7, ix, kp));
        var t2 = InputRow.RowTransform<Lane512, Vector512<float>>(tiles.Tap(8, ix, kp), tiles.Tap(9, ix, kp), tiles.Tap(10, ix, kp), tiles.Tap(11, ix, kp));
        var t3 = InputRow.RowTransform<Lane512, Vector512<float>>(tiles.Tap(12, ix, kp), tiles.Tap(13, ix, kp), tiles.Tap(14, ix, kp), tiles.Tap(15, ix, kp));
        InputRow.Emit<Lane512, Vector512<float>>(dst, stride, t0, t1, t2, t3);
    }

    /// <summary>
    /// 8 × 8 planes with AVX-512 (the ResNet-18 preset's first stage, the TSM preset's third): a plane is four 512-bit
    /// registers, and one sample's 16 tiles are one vector per transform point, so every tap of every tile comes from a
    /// two-source permute of the plane's even rows (0, 2, 4, 6) or odd rows (1, 3, 5, 7) instead of a gather. The
    /// permute indices and the padding masks are fixed (<see cref="InputIndex"/>, <see cref="GradIndex"/>).
    /// </summary>
    /// <remarks>The same values as the gathered path (padding is +0 from the same AND), so the same bits.</remarks>
    private readonly struct Plane8 : IPermutedTiles
    {
        private readonly Vector512<float> _evenLo, _evenHi, _oddLo, _oddHi;

        /// <summary>Whether 8 × 8 planes take this path on this machine.</summary>
        internal static bool Applies(int h, int w) => h == 8 && w == 8 && Avx512F.IsSupported;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Plane8(float* x)
        {
            Vector512<float> r0 = Vector512.Load(x), r1 = Vector512.Load(x + 16), r2 = Vector512.Load(x + 32), r3 = Vector512.Load(x + 48);
            // Register k holds rows 2k and 2k + 1 (two 128-bit lanes each): the lanes of the first rows, then of the second.
            _evenLo = Avx512F.Shuffle4x128(r0, r1, 0x44);
            _evenHi = Avx512F.Shuffle4x128(r2, r3, 0x44);
            _oddLo = Avx512F.Shuffle4x128(r0, r1, 0xEE);
            _oddHi = Avx512F.Shuffle4x128(r2, r3, 0xEE);
        }

        /// <summary>Row 2t + parity, column c of the plane at lane index (t·8 + c) of the even (parity 0) or odd rows.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Rows(bool odd, Vector512<int> index) =>
            odd ? Avx512F.PermuteVar16x32x2(_oddLo, index, _oddHi) : Avx512F.PermuteVar16x32x2(_evenLo, index, _evenHi);

        /// <summary>Input tap k of the 16 tiles: patch row i = k / 4 reads plane rows 2th + i − 1, odd rows for even i.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Tap(int k, int* index, int* keep) =>
            (Rows((k >> 2) % 2 == 0, Vector512.Load(index + k * 16)).AsInt32() & Vector512.Load(keep + k * 16)).AsSingle();
    }

    /// <summary>Input transform: tap (i, j) of tile (th, tw) is padded x[2th + i][2tw + j], x[2th + i − 1][2tw + j − 1]
    /// of the plane: lane th·4 + tw of permute <c>4i + j</c> (odd rows when i is even), and mask −1 or 0 (padding).</summary>
    private static readonly int[] InputIndex = Plane8Table(4, 1, out InputKeep);
    private static readonly int[] InputKeep;

    /// <summary>Output-gradient transform: tap (i, j) of tile (th, tw) is gy[2th + i][2tw + j] (always inside).</summary>
    private static readonly int[] GradIndex = Plane8Table(2, 0, out _);

    private static int[] Plane8Table(int side, int pad, out int[] keep)
    {
        var index = new int[side * side * 16];
        keep = new int[side * side * 16];
        for (int k = 0; k < side * side; k++)
            for (int lane = 0; lane < 16; lane++)
            {
                int th = lane >> 2, tw = lane & 3, r = 2 * th + k / side - pad, c = 2 * tw + k % side - pad;
                bool inside = (uint)r < 8 && (uint)c < 8;
                index[k * 16 + lane] = inside ? (r >> 1) * 8 + c : 0;
                keep[k * 16 + lane] = inside ? -1 : 0;
            }
        return index;
    }

    /// <summary>The input transform of one 8 × 8 plane's 16 tiles into <paramref name="dst"/> (point ξ at ξ·stride).</summary>
    private static void InputPlane8(float* x, float* dst, nint stride)
    {
        var p = new Plane8(x);
        fixed (int* ix = InputIndex, kp = InputKeep) InputTiles(p, ix, kp, dst, stride);
    }

    /// <summary>The output-gradient transform of one 8 × 8 plane's 16 tiles into <paramref name="dst"/>: tap (i, j)
    /// reads rows 2th + i (odd rows for i = 1).</summary>
    private static void GradPlane8(float* gy, float* dst, nint stride)
    {
        var p = new Plane8(gy);
        fixed (int* ix = GradIndex)
            GradTransform<Lane512, Vector512<float>>(dst, stride, p.Rows(false, Vector512.Load(ix)), p.Rows(false, Vector512.Load(ix + 16)),
                p.Rows(true, Vector512.Load(ix + 32)), p.Rows(true, Vector512.Load(ix + 48)));
    }

    /// <summary>
    /// 4 × 4 planes with AVX-512 (the ResNet-18 preset's second stage, the TSM preset's last): a plane is one register
    /// and holds 4 tiles, so four samples' tiles fill a vector; each tap is two two-source permutes (samples 0 and 1,
    /// 2 and 3 of the group) joined by a 128-bit lane shuffle, then the padding mask. Samples past the last whole group
    /// take the gathered path.
    /// </summary>
    private readonly struct Plane4 : IPermutedTiles
    {
        private readonly Vector512<float> _s0, _s1, _s2, _s3;

        /// <summary>Whether 4 × 4 planes take this path on this machine.</summary>
        internal static bool Applies(int h, int w) => h == 4 && w == 4 && Avx512F.IsSupported;

        /// <summary>The group of four samples' planes starting at <paramref name="x"/>, <paramref name="sampleStride"/> apart.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Plane4(float* x, nint sampleStride)
        {
            _s0 = Vector512.Load(x);
            _s1 = Vector512.Load(x + sampleStride);
            _s2 = Vector512.Load(x + 2 * sampleStride);
            _s3 = Vector512.Load(x + 3 * sampleStride);
        }

        /// <summary>Lane 4j + t: element index[lane] &amp; 15 of sample j's plane (the index's bit 4 picks the odd sample of
        /// each pair).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Tap(Vector512<int> index, Vector512<int> keep)
        {
            var pair01 = Avx512F.PermuteVar16x32x2(_s0, index, _s1);
            var pair23 = Avx512F.PermuteVar16x32x2(_s2, index, _s3);
            // Lanes 0–7 (samples 0, 1) of the first, lanes 8–15 (samples 2, 3) of the second.
            return (Avx512F.Shuffle4x128(pair01, pair23, 0xE4).AsInt32() & keep).AsSingle();
        }

        /// <summary>Tap k of the 16 tiles, from the indices and masks of tap k.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Tap(int k, int* index, int* keep) => Tap(Vector512.Load(index + k * 16), Vector512.Load(keep + k * 16));
    }

    /// <summary>Input taps of 4 × 4 planes: tap (i, j) of tile (th, tw) of sample s is x[2th + i − 1][2tw + j − 1].</summary>
    private static readonly int[] Input4Index = Plane4Table(4, 1, out Input4Keep);
    private static readonly int[] Input4Keep;

    /// <summary>Output-gradient taps of 4 × 4 planes: gy[2th + i][2tw + j].</summary>
    private static readonly int[] Grad4Index = Plane4Table(2, 0, out Grad4Keep);
    private static readonly int[] Grad4Keep;

    private static int[] Plane4Table(int side, int pad, out int[] keep)
    {
        var index = new int[side * side * 16];
        keep = new int[side * side * 16];
        for (int k = 0; k < side * side; k++)
            for (int lane = 0; lane < 16; lane++)
            {
                int sample = lane >> 2, t = lane & 3, r = 2 * (t >> 1) + k / side - pad, c = 2 * (t & 1) + k % side - pad;
                bool inside = (uint)r < 4 && (uint)c < 4;
                index[k * 16 + lane] = (sample & 1) * 16 + (inside ? r * 4 + c : 0);
                keep[k * 16 + lane] = inside ? -1 : 0;
            }
        return index;
    }

    /// <summary>The input transform of four samples' 4 × 4 planes (16 tiles) into <paramref name="dst"/>.</summary>
    private static void InputPlane4(float* x, nint sampleStride, float* dst, nint stride)
    {
        var p = new Plane4(x, sampleStride);
        fixed (int* ix = Input4Index, kp = Input4Keep) InputTiles(p, ix, kp, dst, stride);
    }

    /// <summary>The output-gradient transform of four samples' 4 × 4 planes into <paramref name="dst"/>.</summary>
    private static void GradPlane4(float* gy, nint sampleStride, float* dst, nint stride)
    {
        var p = new Plane4(gy, sampleStride);
        fixed (int* ix = Grad4Index, kp = Grad4Keep)
            GradTransform<Lane512, Vector512<float>>(dst, stride, p.Tap(0, ix, kp), p.Tap(1, ix, kp), p.Tap(2, ix, kp), p.Tap(3, ix, kp));
    }

    /// <summary>Output rows of an 8 × 8 plane: register k (rows 2k, 2k + 1) lane x of row 2k + i is output (i, x mod 2)
    /// of tile (k, x / 2): index (x mod 2)·16 + 4k + x / 2 into the pair of outputs (i, 0), (i, 1).</summary>
    private static readonly int[] Output8Index = Output8Table();

    private static int[] Output8Table()
    {
        var index = new int[4 * 16];
        for (int k = 0; k < 4; k++)
            for (int lane = 0; lane < 16; lane++)
            {
                int x = lane & 7;
                index[k * 16 + lane] = (x & 1) * 16 + 4 * k + (x >> 1);
            }
        return index;
    }

    /// <summary>The output transform of one sample's 16 tiles (transform points <paramref name="stride"/> apart from
    /// <paramref name="m"/>) into its 8 × 8 plane of y, plus <paramref name="bias"/>.</summary>
    private static void OutputPlane8(float* m, nint stride, float* y, float bias)
    {
        var q = OutputTiles.Quad<Lane512, Vector512<float>>(m, stride);
        var b = Vector512.Create(bias);
        fixed (int* ix = Output8Index)
            for (int k = 0; k < 4; k++)
            {
                var index = Vector512.Load(ix + k * 16);
                var even = Avx512F.PermuteVar16x32x2(q.A, index, q.B);
                var odd = Avx512F.PermuteVar16x32x2(q.C, index, q.D);
                // Row 2k from the first (lanes 0–7), row 2k + 1 from the second (lanes 8–15).
                (Avx512F.Shuffle4x128(even, odd, 0xE4) + b).Store(y + k * 16);
            }
    }

    /// <summary>Output rows of four samples' 4 × 4 planes: lane 4·yy + x of sample s's register is output (yy mod 2,
    /// x mod 2) of its tile (yy / 2, x / 2), at index (x mod 2)·16 + 4s + 2·(yy / 2) + x / 2 into the pair of outputs
    /// (yy mod 2, 0), (yy mod 2, 1).</summary>
    private static readonly int[] Output4Index = Output4Table();

    /// <summary>−1 in the lanes of odd output rows (taken from the second pair of outputs).</summary>
    private static readonly int[] Output4OddRows = Enumerable.Range(0, 16).Select(l => (l >> 2) % 2 == 1 ? -1 : 0).ToArray();

    private static int[] Output4Table()
    {
        var index = new int[4 * 16];
        for (int s = 0; s < 4; s++)
            for (int lane = 0; lane < 16; lane++)
            {
                int yy = lane >> 2, x = lane & 3;
                index[s * 16 + lane] = (x & 1) * 16 + 4 * s + 2 * (yy >> 1) + (x >> 1);
            }
        return index;
    }

    /// <summary>The output transform of four samples' 16 tiles into their 4 × 4 planes of y (<paramref name="sampleStride"/>
    /// apart), plus <paramref name="bias"/>.</summary>
    private static void OutputPlane4(float* m, nint stride, float* y, nint sampleStride, float bias)
    {
        var q = OutputTiles.Quad<Lane512, Vector512<float>>(m, stride);
        var b = Vector512.Create(bias);
        fixed (int* ix = Output4Index, oddRows = Output4OddRows)
        {
            var odd = Vector512.Load(oddRows).AsSingle();
            for (int s = 0; s < 4; s++)
            {
                var index = Vector512.Load(ix + s * 16);
                var rows = Vector512.ConditionalSelect(odd, Avx512F.PermuteVar16x32x2(q.C, index, q.D), Avx512F.PermuteVar16x32x2(q.A, index, q.B));
                (rows + b).Store(y + s * sampleStride);
            }
        }
    }
}
