using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Learner.Nn.Kernels;

/// <summary>An elementwise function of one float, written once per vector width.</summary>
internal interface IVectorOp1
{
    Vector512<float> Invoke(Vector512<float> x);
    Vector256<float> Invoke(Vector256<float> x);
}

/// <summary>An elementwise function of two floats, written once per vector width.</summary>
internal interface IVectorOp2
{
    Vector512<float> Invoke(Vector512<float> a, Vector512<float> b);
    Vector256<float> Invoke(Vector256<float> a, Vector256<float> b);
}

/// <summary>An elementwise function of three floats, written once per vector width.</summary>
internal interface IVectorOp3
{
    Vector512<float> Invoke(Vector512<float> a, Vector512<float> b, Vector512<float> c);
    Vector256<float> Invoke(Vector256<float> a, Vector256<float> b, Vector256<float> c);
}

/// <summary>
/// Applies elementwise vector operations over spans: Vector512 where the hardware has it, Vector256 otherwise.
/// The tail (fewer elements than one vector) goes through a zero-padded stack vector, so every element is
/// computed by the same code and no scalar copy of the math is needed. The operations are structs, so the JIT
/// specialises and inlines them.
/// </summary>
internal static class VectorMap
{
    /// <summary>y[i] = op(x[i]). <paramref name="y"/> may alias <paramref name="x"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Map<TOp>(TOp op, ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IVectorOp1
    {
        int n = x.Length;
        if (y.Length < n) throw new ArgumentException($"Destination of length {y.Length} is shorter than the source ({n}).", nameof(y));
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16)
                op.Invoke(Vector512.LoadUnsafe(ref xr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
            if (i < n) Tail512(op, x[i..], y[i..]);
        }
        else
        {
            for (; i <= n - 8; i += 8)
                op.Invoke(Vector256.LoadUnsafe(ref xr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
            if (i < n) Tail256(op, x[i..], y[i..]);
        }
    }

    /// <summary>y[i] = op(a[i], b[i]). <paramref name="y"/> may alias an input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Map<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) where TOp : struct, IVectorOp2
    {
        int n = a.Length;
        if (b.Length < n || y.Length < n) throw new ArgumentException($"Spans of lengths {a.Length}, {b.Length}, {y.Length} do not match.");
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float br = ref MemoryMarshal.GetReference(b);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16)
                op.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)i), Vector512.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
            if (i < n) Tail512(op, a.Slice(i, n - i), b.Slice(i, n - i), y[i..]);
        }
        else
        {
            for (; i <= n - 8; i += 8)
                op.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
            if (i < n) Tail256(op, a.Slice(i, n - i), b.Slice(i, n - i), y[i..]);
        }
    }

    /// <summary>y[i] = op(a[i], b[i], c[i]). <paramref name="y"/> may alias an input.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Map<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, Span<float> y) where TOp : struct, IVectorOp3
    {
        int n = a.Length;
        if (b.Length < n || c.Length < n || y.Length < n) throw new ArgumentException($"Spans of lengths {a.Length}, {b.Length}, {c.Length}, {y.Length} do not match.");
        ref float ar = ref MemoryMarshal.GetReference(a);
        ref float br = ref MemoryMarshal.GetReference(b);
        ref float cr = ref MemoryMarshal.GetReference(c);
        ref float yr = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 16; i += 16)
                op.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)i), Vector512.LoadUnsafe(ref br, (nuint)i), Vector512.LoadUnsafe(ref cr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
            if (i < n) Tail512(op, a.Slice(i, n - i), b.Slice(i, n - i), c.Slice(i, n - i), y[i..]);
        }
        else
        {
            for (; i <= n - 8; i += 8)
                op.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i), Vector256.LoadUnsafe(ref cr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
            if (i < n) Tail256(op, a.Slice(i, n - i), b.Slice(i, n - i), c.Slice(i, n - i), y[i..]);
        }
    }

    // Tails: fewer elements than one vector, zero-padded into a stack vector. Kept out of line so that the stack
    // buffers belong to their own frame even where the maps are inlined into loops.

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Tail512<TOp>(TOp op, ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IVectorOp1
    {
        Span<float> bx = stackalloc float[16];
        bx.Clear(); x.CopyTo(bx);
        op.Invoke(Vector512.Create((ReadOnlySpan<float>)bx)).CopyTo(bx);
        bx[..x.Length].CopyTo(y);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Tail256<TOp>(TOp op, ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IVectorOp1
    {
        Span<float> bx = stackalloc float[8];
        bx.Clear(); x.CopyTo(bx);
        op.Invoke(Vector256.Create((ReadOnlySpan<float>)bx)).CopyTo(bx);
        bx[..x.Length].CopyTo(y);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Tail512<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) where TOp : struct, IVectorOp2
    {
        Span<float> ba = stackalloc float[16]; Span<float> bb = stackalloc float[16];
        ba.Clear(); bb.Clear(); a.CopyTo(ba); b.CopyTo(bb);
        op.Invoke(Vector512.Create((ReadOnlySpan<float>)ba), Vector512.Create((ReadOnlySpan<float>)bb)).CopyTo(ba);
        ba[..a.Length].CopyTo(y);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Tail256<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) where TOp : struct, IVectorOp2
    {
        Span<float> ba = stackalloc float[8]; Span<float> bb = stackalloc float[8];
        ba.Clear(); bb.Clear(); a.CopyTo(ba); b.CopyTo(bb);
        op.Invoke(Vector256.Create((ReadOnlySpan<float>)ba), Vector256.Create((ReadOnlySpan<float>)bb)).CopyTo(ba);
        ba[..a.Length].CopyTo(y);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Tail512<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, Span<float> y) where TOp : struct, IVectorOp3
    {
        Span<float> ba = stackalloc float[16]; Span<float> bb = stackalloc float[16]; Span<float> bc = stackalloc float[16];
        ba.Clear(); bb.Clear(); bc.Clear(); a.CopyTo(ba); b.CopyTo(bb); c.CopyTo(bc);
        op.Invoke(Vector512.Create((ReadOnlySpan<float>)ba), Vector512.Create((ReadOnlySpan<float>)bb), Vector512.Create((ReadOnlySpan<float>)bc)).CopyTo(ba);
        ba[..a.Length].CopyTo(y);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Tail256<TOp>(TOp op, ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, Span<float> y) where TOp : struct, IVectorOp3
    {
        Span<float> ba = stackalloc float[8]; Span<float> bb = stackalloc float[8]; Span<float> bc = stackalloc float[8];
        ba.Clear(); bb.Clear(); bc.Clear(); a.CopyTo(ba); b.CopyTo(bb); c.CopyTo(bc);
        op.Invoke(Vector256.Create((ReadOnlySpan<float>)ba), Vector256.Create((ReadOnlySpan<float>)bb), Vector256.Create((ReadOnlySpan<float>)bc)).CopyTo(ba);
        ba[..a.Length].CopyTo(y);
    }

    /// <summary>Elements per parallel chunk below which elementwise maps stay on the calling thread.</summary>
    internal const int ParallelThreshold = 1 << 16;

    /// <summary>y = op(x) over the first <paramref name="n"/> elements, split across cores when large.</summary>
    internal static void MapParallel<TOp>(TOp op, float[] x, float[] y, int n) where TOp : struct, IVectorOp1
    {
        int chunks = RowParallel.ChunkCount(n, 1, ParallelThreshold);
        if (chunks <= 1) { Map(op, x.AsSpan(0, n), y.AsSpan(0, n)); return; }
        Parallel.For(0, chunks, c =>
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
        Parallel.For(0, chunks, c =>
        {
            var (s, e) = RowParallel.Range(n, chunks, c, 16);
            Map(op, a.AsSpan(s, e - s), b.AsSpan(s, e - s), y.AsSpan(s, e - s));
        });
    }
}

/// <summary>Splitting of row-wise work into a few contiguous chunks, one per core, when the work is large.</summary>
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
        return (int)Math.Min(Math.Min(count, Environment.ProcessorCount), byWork);
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
        Parallel.For(0, chunks, c =>
        {
            var (s, e) = Range(count, chunks, c);
            if (s < e) body(s, e);
        });
    }
}
