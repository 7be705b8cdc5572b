using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Learner.Nn.Kernels;

/// <summary>An elementwise function of one float, written once per rung of the ladder (scalar, 128, 256, 512 bits).</summary>
/// <remarks>Instance members on structs rather than static abstract ones, because operators carry their constants
/// (slopes, shifts, scales); the JIT specialises and inlines a struct's methods all the same.</remarks>
internal interface IVectorOp1
{
    float Invoke(float x);
    Vector128<float> Invoke(Vector128<float> x);
    Vector256<float> Invoke(Vector256<float> x);
    Vector512<float> Invoke(Vector512<float> x);
}

/// <summary>An elementwise function of two floats, written once per rung of the ladder.</summary>
internal interface IVectorOp2
{
    float Invoke(float a, float b);
    Vector128<float> Invoke(Vector128<float> a, Vector128<float> b);
    Vector256<float> Invoke(Vector256<float> a, Vector256<float> b);
    Vector512<float> Invoke(Vector512<float> a, Vector512<float> b);
}

/// <summary>An elementwise function of three floats, written once per rung of the ladder.</summary>
internal interface IVectorOp3
{
    float Invoke(float a, float b, float c);
    Vector128<float> Invoke(Vector128<float> a, Vector128<float> b, Vector128<float> c);
    Vector256<float> Invoke(Vector256<float> a, Vector256<float> b, Vector256<float> c);
    Vector512<float> Invoke(Vector512<float> a, Vector512<float> b, Vector512<float> c);
}

/// <summary>
/// Applies elementwise operators over spans, on the widest rung of the ladder the hardware accelerates (Vector512,
/// Vector256, Vector128), or the operators' scalar form where none is. One driver (<see cref="Simd.Loop{TBody}"/>, which the optimizers' updates use too) runs
/// every arity: the arity adapters only load, invoke and store. The remainder (fewer elements than one vector) goes
/// through a zero-padded stack vector of the same width, so every element is computed by the same code (a masked
/// remainder in effect). The rung can be forced (tests run each one).
/// </summary>
internal static unsafe class VectorMap
{
    /// <summary>y[i] = op(x[i]). <paramref name="y"/> may alias <paramref name="x"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Map<TOp>(TOp op, ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IVectorOp1 => Map(op, x, y, Simd.Best);

    /// <summary>y[i] = op(a[i], b[i]). <paramref name="y"/> may alias an input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Map<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) where TOp : struct, IVectorOp2 => Map(op, a, b, y, Simd.Best);

    /// <summary>y[i] = op(a[i], b[i], c[i]). <paramref name="y"/> may alias an input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Map<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, Span<float> y) where TOp : struct, IVectorOp3 => Map(op, a, b, c, y, Simd.Best);

    /// <summary><see cref="Map{TOp}(TOp, ReadOnlySpan{float}, Span{float})"/> on at most <paramref name="width"/>.</summary>
    internal static void Map<TOp>(TOp op, ReadOnlySpan<float> x, Span<float> y, SimdWidth width) where TOp : struct, IVectorOp1
    {
        int n = x.Length;
        if (y.Length < n) throw new ArgumentException($"Destination of length {y.Length} is shorter than the source ({n}).", nameof(y));
        fixed (float* px = x, py = y)
        {
            var body = new Unary<TOp> { Op = op, X = px, Y = py };
            Simd.Loop(ref body, n, width);
        }
    }

    /// <summary><see cref="Map{TOp}(TOp, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/> on at most <paramref name="width"/>.</summary>
    internal static void Map<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y, SimdWidth width) where TOp : struct, IVectorOp2
    {
        int n = a.Length;
        if (b.Length < n || y.Length < n) throw new ArgumentException($"Spans of lengths {a.Length}, {b.Length}, {y.Length} do not match.");
        fixed (float* pa = a, pb = b, py = y)
        {
            var body = new Binary<TOp> { Op = op, A = pa, B = pb, Y = py };
            Simd.Loop(ref body, n, width);
        }
    }

    /// <summary><see cref="Map{TOp}(TOp, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/> on at most <paramref name="width"/>.</summary>
    internal static void Map<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, Span<float> y, SimdWidth width) where TOp : struct, IVectorOp3
    {
        int n = a.Length;
        if (b.Length < n || c.Length < n || y.Length < n) throw new ArgumentException($"Spans of lengths {a.Length}, {b.Length}, {c.Length}, {y.Length} do not match.");
        fixed (float* pa = a, pb = b, pc = c, py = y)
        {
            var body = new Ternary<TOp> { Op = op, A = pa, B = pb, C = pc, Y = py };
            Simd.Loop(ref body, n, width);
        }
    }

    /// <summary>Copies <paramref name="count"/> values into a zeroed 16-float buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pad(float* src, int count, float* dst)
    {
        for (int k = 0; k < 16; k++) dst[k] = k < count ? src[k] : 0f;
    }

    private struct Unary<TOp> : Simd.ILoopBody where TOp : struct, IVectorOp1
    {
        public TOp Op;
        public float* X, Y;

        public readonly void At512(nint i) => Op.Invoke(Vector512.Load(X + i)).Store(Y + i);
        public readonly void At256(nint i) => Op.Invoke(Vector256.Load(X + i)).Store(Y + i);
        public readonly void At128(nint i) => Op.Invoke(Vector128.Load(X + i)).Store(Y + i);
        public readonly void At1(nint i) => Y[i] = Op.Invoke(X[i]);

        [MethodImpl(MethodImplOptions.NoInlining)]
        public readonly void Tail(nint i, int count, int lanes)
        {
            float* bx = stackalloc float[16];
            Pad(X + i, count, bx);
            if (lanes == 16) Op.Invoke(Vector512.Load(bx)).Store(bx);
            else if (lanes == 8) Op.Invoke(Vector256.Load(bx)).Store(bx);
            else Op.Invoke(Vector128.Load(bx)).Store(bx);
            for (int k = 0; k < count; k++) Y[i + k] = bx[k];
        }
    }

    private struct Binary<TOp> : Simd.ILoopBody where TOp : struct, IVectorOp2
    {
        public TOp Op;
        public float* A, B, Y;

        public readonly void At512(nint i) => Op.Invoke(Vector512.Load(A + i), Vector512.Load(B + i)).Store(Y + i);
        public readonly void At256(nint i) => Op.Invoke(Vector256.Load(A + i), Vector256.Load(B + i)).Store(Y + i);
        public readonly void At128(nint i) => Op.Invoke(Vector128.Load(A + i), Vector128.Load(B + i)).Store(Y + i);
        public readonly void At1(nint i) => Y[i] = Op.Invoke(A[i], B[i]);

        [MethodImpl(MethodImplOptions.NoInlining)]
        public readonly void Tail(nint i, int count, int lanes)
        {
            float* ba = stackalloc float[16]; float* bb = stackalloc float[16];
            Pad(A + i, count, ba); Pad(B + i, count, bb);
            if (lanes == 16) Op.Invoke(Vector512.Load(ba), Vector512.Load(bb)).Store(ba);
            else if (lanes == 8) Op.Invoke(Vector256.Load(ba), Vector256.Load(bb)).Store(ba);
            else Op.Invoke(Vector128.Load(ba), Vector128.Load(bb)).Store(ba);
            for (int k = 0; k < count; k++) Y[i + k] = ba[k];
        }
    }

    private struct Ternary<TOp> : Simd.ILoopBody where TOp : struct, IVectorOp3
    {
        public TOp Op;
        public float* A, B, C, Y;

        public readonly void At512(nint i) => Op.Invoke(Vector512.Load(A + i), Vector512.Load(B + i), Vector512.Load(C + i)).Store(Y + i);
        public readonly void At256(nint i) => Op.Invoke(Vector256.Load(A + i), Vector256.Load(B + i), Vector256.Load(C + i)).Store(Y + i);
        public readonly void At128(nint i) => Op.Invoke(Vector128.Load(A + i), Vector128.Load(B + i), Vector128.Load(C + i)).Store(Y + i);
        public readonly void At1(nint i) => Y[i] = Op.Invoke(A[i], B[i], C[i]);

        [MethodImpl(MethodImplOptions.NoInlining)]
        public readonly void Tail(nint i, int count, int lanes)
        {
            float* ba = stackalloc float[16]; float* bb = stackalloc float[16]; float* bc = stackalloc float[16];
            Pad(A + i, count, ba); Pad(B + i, count, bb); Pad(C + i, count, bc);
            if (lanes == 16) Op.Invoke(Vector512.Load(ba), Vector512.Load(bb), Vector512.Load(bc)).Store(ba);
            else if (lanes == 8) Op.Invoke(Vector256.Load(ba), Vector256.Load(bb), Vector256.Load(bc)).Store(ba);
            else Op.Invoke(Vector128.Load(ba), Vector128.Load(bb), Vector128.Load(bc)).Store(ba);
            for (int k = 0; k < count; k++) Y[i + k] = ba[k];
        }
    }

    /// <summary>Elements per parallel chunk below which elementwise maps stay on the calling thread.</summary>
    internal const int ParallelThreshold = 1 << 16;

    /// <summary>y = op(x) over the first <paramref name="n"/> elements, split across cores when large.</summary>
    internal static void MapParallel<TOp>(TOp op, float[] x, float[] y, int n) where TOp : struct, IVectorOp1
    {
        int chunks = RowParallel.ChunkCount(n, 1, ParallelThreshold);
        if (chunks <= 1) { Map(op, x.AsSpan(0, n), y.AsSpan(0, n)); return; }
        WorkerPool.For(chunks, c =>
        {
            var (s, e) = RowParallel.Range(n, chunks, c, 16);
            Map(op, x.AsSpan(s, e - s), y.AsSpan(s, e - s));
        });
    }

    /// <summary>y = op(a, b) over the first <paramref name="n"/> elements, split across cores when large.</summary>
    internal static void MapParallel<TOp>(TOp op, float[] a, float[] b, float[] y, int n) where TOp : struct, IVectorOp2
    {
        int chunks = RowParallel.ChunkCount(n, 1, ParallelThreshold);
        if (chunks <= 1) { Map(op, a.AsSpan(0, n), b.AsSpan(0, n), y.AsSpan(0, n)); return; }
        WorkerPool.For(chunks, c =>
        {
            var (s, e) = RowParallel.Range(n, chunks, c, 16);
            Map(op, a.AsSpan(s, e - s), b.AsSpan(s, e - s), y.AsSpan(s, e - s));
        });
    }
}

/// <summary>Splitting of row-wise work into a few contiguous chunks, one per core, when the work is large (run on <see cref="WorkerPool"/>).</summary>
internal static class RowParallel
{
    /// <summary>Default amount of work (elements touched) below which a kernel stays on the calling thread.</summary>
    internal const long DefaultThreshold = 1 << 15;

    /// <summary>How many chunks to split <paramref name="count"/> items of <paramref name="workPerItem"/> elements into.</summary>
    internal static int ChunkCount(int count, long workPerItem, long threshold = DefaultThreshold)
    {
        if (count < 2) return 1;
        long work = count * Math.Max(1, workPerItem);
        if (work < 2 * threshold) return 1;
        long byWork = work / threshold;
        return (int)Math.Min(Math.Min(count, WorkerPool.Threads), byWork);
    }

    /// <summary>The [start, end) range of chunk <paramref name="chunk"/> of <paramref name="chunks"/> over <paramref name="count"/> items,
    /// with chunk boundaries on multiples of <paramref name="align"/>.</summary>
    internal static (int Start, int End) Range(int count, int chunks, int chunk, int align = 1)
    {
        long per = ((long)count + chunks - 1) / chunks;
        per = (per + align - 1) / align * align;
        long s = Math.Min(count, per * chunk), e = Math.Min(count, per * (chunk + 1));
        return ((int)s, (int)e);
    }

    /// <summary>Runs <paramref name="body"/>(start, end) over [0, <paramref name="count"/>), in parallel chunks when the work is large.</summary>
    internal static void For(int count, long workPerItem, Action<int, int> body)
    {
        int chunks = ChunkCount(count, workPerItem);
        if (chunks <= 1) { body(0, count); return; }
        WorkerPool.For(chunks, c =>
        {
            var (s, e) = Range(count, chunks, c);
            if (s < e) body(s, e);
        });
    }
}
