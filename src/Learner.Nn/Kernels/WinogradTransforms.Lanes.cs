using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Learner.Nn.Kernels;

/// <summary>The ladder the transforms run on: one rung per vector width (<see cref="ILane{TV}"/>), a transform's
/// step written once over the rungs (<see cref="ITileOp"/>), and the adapter that runs it on <see cref="Simd.Loop{TBody}"/>.</summary>
internal static unsafe partial class WinogradTransforms
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

    private readonly struct Four<TV>(TV a, TV b, TV c, TV d) where TV : struct
    {
        public readonly TV A = a, B = b, C = c, D = d;
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

        /// <summary>Lane k is <c>b[index[k]]</c> where <c>keep[k]</c> is −1 and +0 where it is 0 (the bits are ANDed, so
        /// whatever the skipped index reads, NaN included, becomes +0: zero padding).</summary>
        static abstract TV Gather(float* b, int* index, int* keep);
    }

    private readonly struct Lane512 : ILane<Vector512<float>>
    {
        public static Vector512<float> Load(float* p) => Vector512.Load(p);
        public static void Store(float* p, Vector512<float> v) => v.Store(p);
        public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
        public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;
        public static Vector512<float> Half(Vector512<float> a) => a * 0.5f;
        public static Vector512<float> Neg(Vector512<float> a) => -a;

        public static Vector512<float> Gather(float* b, int* index, int* keep)
        {
            // .NET exposes no 512-bit gather: two 256-bit ones.
            return Vector512.Create(Lane256.Gather(b, index, keep), Lane256.Gather(b, index + 8, keep + 8));
        }
    }

    private readonly struct Lane256 : ILane<Vector256<float>>
    {
        public static Vector256<float> Load(float* p) => Vector256.Load(p);
        public static void Store(float* p, Vector256<float> v) => v.Store(p);
        public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
        public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;
        public static Vector256<float> Half(Vector256<float> a) => a * 0.5f;
        public static Vector256<float> Neg(Vector256<float> a) => -a;

        public static Vector256<float> Gather(float* b, int* index, int* keep)
        {
            var v = Avx2.IsSupported ? Avx2.GatherVector256(b, Vector256.Load(index), 4)
                : Vector256.Create(Lane128.Gather(b, index, keep), Lane128.Gather(b, index + 4, keep + 4));
            return (v.AsInt32() & Vector256.Load(keep)).AsSingle();
        }
    }

    private readonly struct Lane128 : ILane<Vector128<float>>
    {
        public static Vector128<float> Load(float* p) => Vector128.Load(p);
        public static void Store(float* p, Vector128<float> v) => v.Store(p);
        public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
        public static Vector128<float> Sub(Vector128<float> a, Vector128<float> b) => a - b;
        public static Vector128<float> Half(Vector128<float> a) => a * 0.5f;
        public static Vector128<float> Neg(Vector128<float> a) => -a;

        public static Vector128<float> Gather(float* b, int* index, int* keep)
        {
            var v = Avx2.IsSupported ? Avx2.GatherVector128(b, Vector128.Load(index), 4)
                : Vector128.Create(b[index[0]], b[index[1]], b[index[2]], b[index[3]]);
            return (v.AsInt32() & Vector128.Load(keep)).AsSingle();
        }
    }

    private readonly struct Lane1 : ILane<float>
    {
        public static float Load(float* p) => *p;
        public static void Store(float* p, float v) => *p = v;
        public static float Add(float a, float b) => a + b;
        public static float Sub(float a, float b) => a - b;
        public static float Half(float a) => a * 0.5f;
        public static float Neg(float a) => -a;
        public static float Gather(float* b, int* index, int* keep) => *keep != 0 ? b[*index] : 0f;
    }
}
