using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Learner.Nn.Kernels;

/// <summary>
/// Batch norm's elementwise passes on planes smaller than a 512-bit vector ([n, c, inner] with 1 &lt; inner &lt; 16: the
/// 2×2 and 3×3 maps of deep ResNet stages). Run per (sample, channel) plane, each pass would be one short call per 4
/// floats (32 768 of them for 128 frames of 256 channels on 2×2 maps); here the per-channel constants are spread once
/// over a sample's c·inner floats and each sample's row is one vector loop.
/// </summary>
/// <remarks>Every element gets the operations of <see cref="CenteredAffine"/> and <see cref="NormInputGrad"/> in the
/// same order, each correctly rounded (subtractions, fused multiply–adds, a product), so the results are the bits the
/// per-plane passes give, on every rung and for any split of the samples over the cores.</remarks>
internal static unsafe class SmallPlaneNorm
{
    /// <summary>Whether planes of <paramref name="inner"/> floats take this path (a single float per plane has its own,
    /// row-wise path; planes of 16 or more fill a vector already).</summary>
    internal static bool Applies(int inner) => inner > 1 && inner < 16;

    /// <summary>y = (x − hi − lo)·scale + shift (fused), per channel ch of every sample.</summary>
    internal static void Affine(float[] x, float[] y, int n, int c, int inner, ReadOnlySpan<float> hi, ReadOnlySpan<float> lo,
        ReadOnlySpan<float> scale, ReadOnlySpan<float> shift)
    {
        int row = c * inner;
        float[] spread = ArrayPool<float>.Shared.Rent(4 * row);
        try
        {
            Spread(hi, inner, spread.AsSpan(0, row));
            Spread(lo, inner, spread.AsSpan(row, row));
            Spread(scale, inner, spread.AsSpan(2 * row, row));
            Spread(shift, inner, spread.AsSpan(3 * row, row));
            RowParallel.For(n, row, (s, e) =>
            {
                fixed (float* px = x, py = y, ps = spread)
                    for (int i = s; i < e; i++)
                    {
                        var body = new AffineBody { X = px + (long)i * row, Y = py + (long)i * row, Hi = ps, Lo = ps + row, Scale = ps + 2 * row, Shift = ps + 3 * row };
                        Simd.Loop(ref body, row, Simd.Best);
                    }
            });
        }
        finally { ArrayPool<float>.Shared.Return(spread); }
    }

    /// <summary>gi = k·(g + c1·(x − hi − lo) + c0) (fused as in <see cref="NormInputGrad"/> with a = 1), per channel.</summary>
    internal static void InputGradient(float[] g, float[] x, float[] gi, int n, int c, int inner, ReadOnlySpan<float> k,
        ReadOnlySpan<float> c1, ReadOnlySpan<float> hi, ReadOnlySpan<float> lo, ReadOnlySpan<float> c0)
    {
        int row = c * inner;
        float[] spread = ArrayPool<float>.Shared.Rent(5 * row);
        try
        {
            Spread(k, inner, spread.AsSpan(0, row));
            Spread(c1, inner, spread.AsSpan(row, row));
            Spread(hi, inner, spread.AsSpan(2 * row, row));
            Spread(lo, inner, spread.AsSpan(3 * row, row));
            Spread(c0, inner, spread.AsSpan(4 * row, row));
            RowParallel.For(n, row, (s, e) =>
            {
                fixed (float* pg = g, px = x, pgi = gi, ps = spread)
                    for (int i = s; i < e; i++)
                    {
                        long at = (long)i * row;
                        var body = new GradBody { G = pg + at, X = px + at, Gi = pgi + at, K = ps, C1 = ps + row, Hi = ps + 2 * row, Lo = ps + 3 * row, C0 = ps + 4 * row };
                        Simd.Loop(ref body, row, Simd.Best);
                    }
            });
        }
        finally { ArrayPool<float>.Shared.Return(spread); }
    }

    /// <summary>dst[ch·inner + t] = perChannel[ch].</summary>
    private static void Spread(ReadOnlySpan<float> perChannel, int inner, Span<float> dst)
    {
        for (int ch = 0; ch < perChannel.Length; ch++) dst.Slice(ch * inner, inner).Fill(perChannel[ch]);
    }

    private struct AffineBody : Simd.ILoopBody
    {
        public float* X, Y, Hi, Lo, Scale, Shift;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At512(nint i) =>
            Vector512.FusedMultiplyAdd(Vector512.Load(X + i) - Vector512.Load(Hi + i) - Vector512.Load(Lo + i), Vector512.Load(Scale + i), Vector512.Load(Shift + i)).Store(Y + i);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At256(nint i) =>
            Vector256.FusedMultiplyAdd(Vector256.Load(X + i) - Vector256.Load(Hi + i) - Vector256.Load(Lo + i), Vector256.Load(Scale + i), Vector256.Load(Shift + i)).Store(Y + i);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At128(nint i) =>
            Vector128.FusedMultiplyAdd(Vector128.Load(X + i) - Vector128.Load(Hi + i) - Vector128.Load(Lo + i), Vector128.Load(Scale + i), Vector128.Load(Shift + i)).Store(Y + i);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At1(nint i) => Y[i] = MathF.FusedMultiplyAdd(X[i] - Hi[i] - Lo[i], Scale[i], Shift[i]);

        public readonly void Tail(nint i, int count, int lanes)
        {
            for (int t = 0; t < count; t++) At1(i + t);
        }
    }

    private struct GradBody : Simd.ILoopBody
    {
        public float* G, X, Gi, K, C1, Hi, Lo, C0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At512(nint i) =>
            (Vector512.FusedMultiplyAdd(Vector512.Load(G + i), Vector512<float>.One,
                Vector512.FusedMultiplyAdd(Vector512.Load(X + i) - Vector512.Load(Hi + i) - Vector512.Load(Lo + i), Vector512.Load(C1 + i), Vector512.Load(C0 + i)))
             * Vector512.Load(K + i)).Store(Gi + i);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At256(nint i) =>
            (Vector256.FusedMultiplyAdd(Vector256.Load(G + i), Vector256<float>.One,
                Vector256.FusedMultiplyAdd(Vector256.Load(X + i) - Vector256.Load(Hi + i) - Vector256.Load(Lo + i), Vector256.Load(C1 + i), Vector256.Load(C0 + i)))
             * Vector256.Load(K + i)).Store(Gi + i);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At128(nint i) =>
            (Vector128.FusedMultiplyAdd(Vector128.Load(G + i), Vector128<float>.One,
                Vector128.FusedMultiplyAdd(Vector128.Load(X + i) - Vector128.Load(Hi + i) - Vector128.Load(Lo + i), Vector128.Load(C1 + i), Vector128.Load(C0 + i)))
             * Vector128.Load(K + i)).Store(Gi + i);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At1(nint i) =>
            Gi[i] = MathF.FusedMultiplyAdd(G[i], 1f, MathF.FusedMultiplyAdd(X[i] - Hi[i] - Lo[i], C1[i], C0[i])) * K[i];

        public readonly void Tail(nint i, int count, int lanes)
        {
            for (int t = 0; t < count; t++) At1(i + t);
        }
    }
}
