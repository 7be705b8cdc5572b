using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Learner.Nn.Kernels;

internal static unsafe partial class WinogradTransforms
{
    /// <summary>Whether AVX2-only machines build 8 × 8 and 4 × 4 tiles by permutes (<see cref="Plane8Avx2"/>,
    /// <see cref="Plane4Avx2"/>) rather than gathers. Tests turn it off to compare the two paths bit for bit; since both
    /// give the same bits, a convolution running on another thread meanwhile gets the same result either way.</summary>
    internal static volatile bool AvxTwoPermutes = true;

    /// <summary>
    /// 8 × 8 planes with AVX2 but not AVX-512 (the TSM preset's third stage on Zen 2/3 and Intel client cores), for the
    /// input and the output-gradient transforms: one sample's 16 tiles are two 256-bit vectors per transform point (tile
    /// rows 0–1 and 2–3, four tiles each), and every tap is two 128-bit halves, each four columns of one plane row at
    /// stride 2, taken from permutes of the row instead of the gathered path's eight-element gathers.
    /// </summary>
    /// <remarks>
    /// Tap (i, j) of tile (th, tw) is x[2th + i − 1][2tw + j − 1] (+0 outside the plane). For each plane row, permute A
    /// holds the columns of j = 0 (−1, 1, 3, 5) in its low half and of j = 1 (0, 2, 4, 6) in its high half; permute B those
    /// of j = 2 (1, 3, 5, 7) and j = 3 (2, 4, 6, 8); the out-of-plane columns −1 and 8 are masked to +0, and rows −1 and 8
    /// are +0. The same values as the gathered path, in the same transform, so the same bits.
    /// </remarks>
    private static class Plane8Avx2
    {
        /// <summary>Whether 8 × 8 planes take this path on this machine (AVX-512 machines take <see cref="Plane8"/>).</summary>
        internal static bool Applies(int h, int w) => h == 8 && w == 8 && AvxTwoPermutes && Avx2.IsSupported && !Plane8.Applies(h, w);

        /// <summary>The permutes of one plane row: <paramref name="a"/> (j = 0 | j = 1) and <paramref name="b"/> (j = 2 | j = 3).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Row(float* row, out Vector256<float> a, out Vector256<float> b)
        {
            var r = Vector256.Load(row);
            // Lane 0 of A (column −1) and lane 7 of B (column 8) read column 0 and are masked to +0.
            a = (Avx2.PermuteVar8x32(r, Vector256.Create(0, 1, 3, 5, 0, 2, 4, 6)).AsInt32() & Vector256.Create(0, -1, -1, -1, -1, -1, -1, -1)).AsSingle();
            b = (Avx2.PermuteVar8x32(r, Vector256.Create(1, 3, 5, 7, 2, 4, 6, 0)).AsInt32() & Vector256.Create(-1, -1, -1, -1, -1, -1, -1, 0)).AsSingle();
        }

        /// <summary>Tap column j of two plane rows (permutes <paramref name="a0"/>/<paramref name="b0"/> of the upper tile
        /// row's, <paramref name="a1"/>/<paramref name="b1"/> of the lower's): four tiles from each.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Tap(int j, Vector256<float> a0, Vector256<float> b0, Vector256<float> a1, Vector256<float> b1) => j switch
        {
            0 => Vector256.Create(a0.GetLower(), a1.GetLower()),
            1 => Vector256.Create(a0.GetUpper(), a1.GetUpper()),
            2 => Vector256.Create(b0.GetLower(), b1.GetLower()),
            _ => Vector256.Create(b0.GetUpper(), b1.GetUpper()),
        };

        /// <summary>The input transform of one 8 × 8 plane's 16 tiles into <paramref name="dst"/> (point ξ at ξ·stride;
        /// tile th·4 + tw at lane th·4 + tw).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]   // every row is written before it is read
        internal static void Input(float* x, float* dst, nint stride)
        {
            // Rows −1 … 8 at index r + 1; the padding rows are +0.
            Vector256<float>* a = stackalloc Vector256<float>[10];
            Vector256<float>* b = stackalloc Vector256<float>[10];
            a[0] = b[0] = a[9] = b[9] = Vector256<float>.Zero;
            for (int r = 0; r < 8; r++) Row(x + r * 8, out a[r + 1], out b[r + 1]);
            for (int half = 0; half < 2; half++)
            {
                // Tile rows th = 2·half and 2·half + 1: patch row i reads plane rows 4·half + i − 1 and that + 2.
                int top = 4 * half;   // index of row 4·half − 1
                var t0 = Transform(a, b, top + 0);
                var t1 = Transform(a, b, top + 1);
                var t2 = Transform(a, b, top + 2);
                var t3 = Transform(a, b, top + 3);
                InputRow.Emit<Lane256, Vector256<float>>(dst + 8 * half, stride, t0, t1, t2, t3);
            }
        }

        /// <summary>The output-gradient transform of one 8 × 8 plane's 16 tiles into <paramref name="dst"/>: tap (i, j) of
        /// tile (th, tw) is gy[2th + i][2tw + j] (always inside), so one permute per plane row puts its even columns
        /// (j = 0) in the low half and its odd ones (j = 1) in the high half.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static void Grad(float* gy, float* dst, nint stride)
        {
            var split = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
            for (int half = 0; half < 2; half++)
            {
                // Tile row 2·half reads plane rows 4·half + i, tile row 2·half + 1 the rows two below.
                float* r = gy + 32 * half;
                var p0 = Avx2.PermuteVar8x32(Vector256.Load(r), split);
                var p1 = Avx2.PermuteVar8x32(Vector256.Load(r + 8), split);
                var p2 = Avx2.PermuteVar8x32(Vector256.Load(r + 16), split);
                var p3 = Avx2.PermuteVar8x32(Vector256.Load(r + 24), split);
                GradTransform<Lane256, Vector256<float>>(dst + 8 * half, stride,
                    Vector256.Create(p0.GetLower(), p2.GetLower()), Vector256.Create(p0.GetUpper(), p2.GetUpper()),
                    Vector256.Create(p1.GetLower(), p3.GetLower()), Vector256.Create(p1.GetUpper(), p3.GetUpper()));
            }
        }

        /// <summary>The row transform of patch row i, whose upper tile row reads the row at index
        /// <paramref name="upper"/> and lower one two rows further.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Four<Vector256<float>> Transform(Vector256<float>* a, Vector256<float>* b, int upper)
        {
            Vector256<float> a0 = a[upper], b0 = b[upper], a1 = a[upper + 2], b1 = b[upper + 2];
            return InputRow.RowTransform<Lane256, Vector256<float>>(Tap(0, a0, b0, a1, b1), Tap(1, a0, b0, a1, b1), Tap(2, a0, b0, a1, b1), Tap(3, a0, b0, a1, b1));
        }
    }
}
