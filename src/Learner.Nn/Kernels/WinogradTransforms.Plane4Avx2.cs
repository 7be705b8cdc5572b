using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Learner.Nn.Kernels;

internal static unsafe partial class WinogradTransforms
{
    /// <summary>
    /// 4 × 4 planes with AVX2 but not AVX-512 (the TSM preset's last stage on Zen 2/3 and Intel client cores), for the
    /// input and the output-gradient transforms: two samples' 4 tiles each fill a 256-bit vector, and a tap of a tile
    /// reads plane rows of one parity only (rows 2th + i − 1 for th = 0, 1), so each sample's plane is held as its even
    /// rows (0, 2) and its odd rows (1, 3), and each tap is one permute of each sample's register of that parity, a
    /// blend of the two samples' halves and the padding mask — instead of the gathered path's eight-element gathers.
    /// </summary>
    /// <remarks>The same values as the gathered path (padding is +0 from the same AND), so the same bits. A sample left
    /// over after the last pair takes the gathered path.</remarks>
    private static class Plane4Avx2
    {
        /// <summary>Whether 4 × 4 planes take this path on this machine (AVX-512 machines take <see cref="Plane4"/>).</summary>
        internal static bool Applies(int h, int w) => h == 4 && w == 4 && AvxTwoPermutes && Avx2.IsSupported && !Plane4.Applies(h, w);

        /// <summary>Input taps: tap (i, j) of tile (th, tw) is x[2th + i − 1][2tw + j − 1], element (r &gt;&gt; 1)·4 + c
        /// of the sample's rows of parity (i − 1) mod 2.</summary>
        private static readonly int[] InputIndex = Table(4, 1, out InputKeep);
        private static readonly int[] InputKeep;

        /// <summary>Output-gradient taps: gy[2th + i][2tw + j] (always inside), rows of parity i.</summary>
        private static readonly int[] GradIndex = Table(2, 0, out _);

        private static int[] Table(int side, int pad, out int[] keep)
        {
            var index = new int[side * side * 8];
            keep = new int[side * side * 8];
            for (int k = 0; k < side * side; k++)
                for (int lane = 0; lane < 8; lane++)
                {
                    int t = lane & 3, r = 2 * (t >> 1) + k / side - pad, c = 2 * (t & 1) + k % side - pad;
                    bool inside = (uint)r < 4 && (uint)c < 4;
                    index[k * 8 + lane] = inside ? (r >> 1) * 4 + c : 0;
                    keep[k * 8 + lane] = inside ? -1 : 0;
                }
            return index;
        }

        /// <summary>A sample's rows of one parity: rows p and p + 2 of its 4 × 4 plane.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Rows(float* plane, int parity) =>
            Vector256.Create(Vector128.Load(plane + 4 * parity), Vector128.Load(plane + 4 * parity + 8));

        /// <summary>Lanes 0–3 from sample 0's register, 4–7 from sample 1's, each permuted by <paramref name="index"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Pair(Vector256<float> s0, Vector256<float> s1, int* index) =>
            Avx.Blend(Avx2.PermuteVar8x32(s0, Vector256.Load(index)), Avx2.PermuteVar8x32(s1, Vector256.Load(index)), 0xF0);

        /// <summary>The input transform of two samples' 4 × 4 planes (8 tiles; the second plane
        /// <paramref name="sampleStride"/> after the first) into <paramref name="dst"/> (point ξ at ξ·stride).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static void Input(float* x, nint sampleStride, float* dst, nint stride)
        {
            Vector256<float> e0 = Rows(x, 0), o0 = Rows(x, 1), e1 = Rows(x + sampleStride, 0), o1 = Rows(x + sampleStride, 1);
            fixed (int* ix = InputIndex, kp = InputKeep)
            {
                // Patch rows i = 0 and 2 read odd plane rows, i = 1 and 3 even ones.
                var t0 = Row(o0, o1, ix, kp, 0);
                var t1 = Row(e0, e1, ix, kp, 1);
                var t2 = Row(o0, o1, ix, kp, 2);
                var t3 = Row(e0, e1, ix, kp, 3);
                InputRow.Emit<Lane256, Vector256<float>>(dst, stride, t0, t1, t2, t3);
            }
        }

        /// <summary>The row transform of patch row <paramref name="i"/> (taps 4i … 4i + 3).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Four<Vector256<float>> Row(Vector256<float> s0, Vector256<float> s1, int* ix, int* kp, int i)
        {
            int k = 4 * i;
            return InputRow.RowTransform<Lane256, Vector256<float>>(Tap(s0, s1, ix, kp, k), Tap(s0, s1, ix, kp, k + 1),
                Tap(s0, s1, ix, kp, k + 2), Tap(s0, s1, ix, kp, k + 3));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Tap(Vector256<float> s0, Vector256<float> s1, int* ix, int* kp, int k) =>
            (Pair(s0, s1, ix + 8 * k).AsInt32() & Vector256.Load(kp + 8 * k)).AsSingle();

        /// <summary>The output-gradient transform of two samples' 4 × 4 planes into <paramref name="dst"/>: taps (0, j)
        /// read the even rows, (1, j) the odd ones.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static void Grad(float* gy, nint sampleStride, float* dst, nint stride)
        {
            Vector256<float> e0 = Rows(gy, 0), o0 = Rows(gy, 1), e1 = Rows(gy + sampleStride, 0), o1 = Rows(gy + sampleStride, 1);
            fixed (int* ix = GradIndex)
                GradTransform<Lane256, Vector256<float>>(dst, stride, Pair(e0, e1, ix), Pair(e0, e1, ix + 8), Pair(o0, o1, ix + 16), Pair(o0, o1, ix + 24));
        }
    }
}
