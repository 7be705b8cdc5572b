using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Learner.Data.Formats;

/// <summary>Element types the payload readers understand; every one is converted to float32.</summary>
public enum ElementType
{
    /// <summary>8-bit unsigned integer.</summary>
    UInt8,
    /// <summary>8-bit signed integer.</summary>
    Int8,
    /// <summary>Boolean stored in one byte (0 or 1).</summary>
    Bool,
    /// <summary>16-bit signed integer.</summary>
    Int16,
    /// <summary>16-bit unsigned integer.</summary>
    UInt16,
    /// <summary>32-bit signed integer.</summary>
    Int32,
    /// <summary>32-bit unsigned integer.</summary>
    UInt32,
    /// <summary>64-bit signed integer.</summary>
    Int64,
    /// <summary>IEEE 754 single precision.</summary>
    Float32,
    /// <summary>IEEE 754 double precision.</summary>
    Float64,
}

/// <summary>Conversion of raw element bytes to float32.</summary>
internal static class ElementConvert
{
    internal static int SizeOf(ElementType t) => t switch
    {
        ElementType.UInt8 or ElementType.Int8 or ElementType.Bool => 1,
        ElementType.Int16 or ElementType.UInt16 => 2,
        ElementType.Int32 or ElementType.UInt32 or ElementType.Float32 => 4,
        _ => 8,
    };

    /// <summary>Converts <paramref name="dst"/>.Length elements of type <paramref name="type"/> from <paramref name="src"/>.</summary>
    internal static void ToSingle(ReadOnlySpan<byte> src, ElementType type, bool bigEndian, Span<float> dst)
    {
        int n = dst.Length;
        bool swap = bigEndian == BitConverter.IsLittleEndian;
        switch (type)
        {
            case ElementType.UInt8:
            case ElementType.Bool:
                TensorPrimitives.ConvertTruncating<byte, float>(src[..n], dst);
                break;
            case ElementType.Int8:
                TensorPrimitives.ConvertTruncating<sbyte, float>(MemoryMarshal.Cast<byte, sbyte>(src[..n]), dst);
                break;
            case ElementType.Int16: Convert<short>(src, n, swap, dst); break;
            case ElementType.UInt16: Convert<ushort>(src, n, swap, dst); break;
            case ElementType.Int32: Convert<int>(src, n, swap, dst); break;
            case ElementType.UInt32: Convert<uint>(src, n, swap, dst); break;
            case ElementType.Int64: Convert<long>(src, n, swap, dst); break;
            case ElementType.Float32:
                {
                    var raw = MemoryMarshal.Cast<byte, float>(src[..(n * 4)]);
                    if (!swap) raw.CopyTo(dst);
                    else BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<byte, int>(src[..(n * 4)]), MemoryMarshal.Cast<float, int>(dst));
                    break;
                }
            case ElementType.Float64: Convert<double>(src, n, swap, dst); break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
    }

    private static void Convert<T>(ReadOnlySpan<byte> src, int n, bool swap, Span<float> dst) where T : unmanaged, System.Numerics.INumber<T>
    {
        int size = System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        var raw = MemoryMarshal.Cast<byte, T>(src[..(n * size)]);
        if (!swap)
        {
            TensorPrimitives.ConvertTruncating<T, float>(raw, dst);
            return;
        }
        // Byte-swap in chunks through a stack buffer, then convert.
        Span<T> chunk = stackalloc T[256];
        for (int i = 0; i < n; i += chunk.Length)
        {
            int m = Math.Min(chunk.Length, n - i);
            var c = chunk[..m];
            var s = raw.Slice(i, m);
            switch (size)
            {
                case 2: BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<T, short>(s), MemoryMarshal.Cast<T, short>(c)); break;
                case 4: BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<T, int>(s), MemoryMarshal.Cast<T, int>(c)); break;
                default: BinaryPrimitives.ReverseEndianness(MemoryMarshal.Cast<T, long>(s), MemoryMarshal.Cast<T, long>(c)); break;
            }
            TensorPrimitives.ConvertTruncating<T, float>(c, dst.Slice(i, m));
        }
    }

    /// <summary>Reorders column-major (Fortran, first axis fastest) data into row-major (C) order (used by the writer).</summary>
    internal static float[] FortranToC(float[] src, int[] shape)
    {
        if (shape.Length <= 1 || src.Length == 0) return src;
        var dst = new float[src.Length];
        var scatter = new FortranScatter(dst, shape);
        scatter.Write(src);
        return dst;
    }

    /// <summary>Elements converted per chunk when data is decoded through scratch (16 KiB of floats on the stack).</summary>
    private const int ChunkElements = 4096;

    /// <summary>
    /// Converts the elements of <paramref name="src"/> (in file order) into <paramref name="dst"/>, in row-major order:
    /// C-order data is converted in place into <paramref name="dst"/>, Fortran-order data is converted in stack chunks
    /// and scattered to its row-major position, so no second full-size buffer is ever allocated.
    /// </summary>
    internal static void Decode(ReadOnlySpan<byte> src, ElementType type, bool bigEndian, int[] shape, bool fortran, float[] dst)
    {
        if (!fortran || shape.Length <= 1) { ToSingle(src, type, bigEndian, dst); return; }
        int size = SizeOf(type);
        var scatter = new FortranScatter(dst, shape);
        Span<float> chunk = stackalloc float[ChunkElements];
        for (int i = 0; i < dst.Length; i += ChunkElements)
        {
            int m = Math.Min(ChunkElements, dst.Length - i);
            ToSingle(src.Slice(i * size, m * size), type, bigEndian, chunk[..m]);
            scatter.Write(chunk[..m]);
        }
    }

    /// <summary>
    /// Reads exactly <paramref name="dst"/>.Length elements from <paramref name="src"/> and decodes them as
    /// <see cref="Decode(ReadOnlySpan{byte}, ElementType, bool, int[], bool, float[])"/> does. C-order float32 is read
    /// straight into <paramref name="dst"/>; everything else goes through <paramref name="scratch"/>.
    /// </summary>
    /// <returns>The number of data bytes read: less than the data size only when the stream ended early.</returns>
    internal static long Decode(Stream src, ElementType type, bool bigEndian, int[] shape, bool fortran, float[] dst, byte[] scratch)
    {
        int size = SizeOf(type);
        bool reorder = fortran && shape.Length > 1;
        long need = (long)dst.Length * size;
        if (type == ElementType.Float32 && !reorder)
        {
            var bytes = MemoryMarshal.AsBytes(dst.AsSpan());
            int got = ReadFully(src, bytes);
            if (got < bytes.Length) return got;
            if (bigEndian == BitConverter.IsLittleEndian)
            {
                var ints = MemoryMarshal.Cast<float, int>(dst.AsSpan());
                BinaryPrimitives.ReverseEndianness(ints, ints);
            }
            return got;
        }
        var scatter = reorder ? new FortranScatter(dst, shape) : null;
        Span<float> chunk = stackalloc float[ChunkElements];
        int block = Math.Min(scratch.Length, ChunkElements * size) / size * size;
        long done = 0; // elements
        while (done < dst.Length)
        {
            int m = (int)Math.Min(block / size, dst.Length - done);
            var raw = scratch.AsSpan(0, m * size);
            int got = ReadFully(src, raw);
            if (got < raw.Length) return done * size + got;
            if (scatter is null) ToSingle(raw, type, bigEndian, dst.AsSpan((int)done, m));
            else
            {
                ToSingle(raw, type, bigEndian, chunk[..m]);
                scatter.Write(chunk[..m]);
            }
            done += m;
        }
        return need;
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the bytes read.</summary>
    internal static int ReadFully(Stream s, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = s.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }
}

/// <summary>
/// Writes values that arrive in column-major (Fortran, first axis fastest) order to their row-major (C) positions in
/// a destination array. Up to 16 consecutive planes of the slowest source axis are gathered in a slab (at most
/// <see cref="MaxSlabFloats"/> floats, and never more than the destination itself), then written in tiles, so that
/// both the slab and the destination are touched a cache line at a time; when the slab cannot hold two planes, the values
/// are scattered one by one. Size-1 axes are dropped first (they change neither order).
/// </summary>
internal sealed class FortranScatter
{
    /// <summary>Largest slab: 4 Mi floats (16 MiB).</summary>
    internal const int MaxSlabFloats = 1 << 22;

    private readonly float[] _dst;
    private readonly int[] _shape;    // without size-1 axes
    private readonly long[] _cstride; // for the direct scatter
    private readonly int[] _idx;
    private long _c;
    private readonly float[]? _slab;
    private readonly int _planes;     // planes per slab (B)
    private readonly long _plane;     // elements per plane (P)
    private int _filled;              // elements in the slab
    private long _k0;                 // first plane of the slab

    internal FortranScatter(float[] dst, int[] shape)
    {
        _dst = dst;
        _shape = shape.Where(d => d != 1).ToArray();
        if (_shape.Length == 0) _shape = [1];
        int rank = _shape.Length;
        _cstride = new long[rank];
        _idx = new int[rank];
        long s = 1;
        for (int k = rank - 1; k >= 0; k--) { _cstride[k] = s; s *= _shape[k]; }
        if (rank >= 2)
        {
            _plane = s / _shape[rank - 1];
            int planes = (int)Math.Min(Math.Min(16, _shape[rank - 1]), MaxSlabFloats / _plane);
            if (planes >= 2)
            {
                _planes = planes;
                _slab = GC.AllocateUninitializedArray<float>((int)(_planes * _plane));
            }
        }
    }

    /// <summary>Writes the next values in Fortran order.</summary>
    internal void Write(ReadOnlySpan<float> values)
    {
        if (_shape.Length == 1) { values.CopyTo(_dst.AsSpan((int)_c)); _c += values.Length; return; }
        if (_slab is null) { Scatter(values); return; }
        while (!values.IsEmpty)
        {
            int room = (int)(_planes * _plane) - _filled;
            int n = Math.Min(room, values.Length);
            values[..n].CopyTo(_slab.AsSpan(_filled));
            _filled += n;
            values = values[n..];
            long last = _shape[^1];
            if (_filled == _planes * _plane || (_filled % _plane == 0 && _k0 + _filled / _plane == last)) Flush();
        }
    }

    /// <summary>Writes the slab's planes (k0 .. k0 + b − 1) to the destination in tiles of 16 along the first axis.</summary>
    private void Flush()
    {
        var slab = _slab!;
        var dst = _dst;
        var shape = _shape;
        int rank = shape.Length;
        int b = (int)(_filled / _plane);
        long z = shape[rank - 1];
        int x = shape[0];
        long p = _plane;
        long rest = p / x; // elements of axes 1 .. rank-2
        Span<int> idx = stackalloc int[Math.Max(1, rank)];
        Span<long> fstride = stackalloc long[Math.Max(1, rank)];
        fstride[0] = 1;
        for (int a = 1; a < rank; a++) fstride[a] = fstride[a - 1] * shape[a - 1];
        for (int i0 = 0; i0 < x; i0 += 16)
        {
            int iEnd = Math.Min(x, i0 + 16);
            idx.Clear();
            long pOff = 0;
            for (long q = 0; q < rest; q++)
            {
                for (int ii = i0; ii < iEnd; ii++)
                {
                    long d = ((long)ii * rest + q) * z + _k0;
                    long sIdx = ii + pOff;
                    for (int kk = 0; kk < b; kk++, sIdx += p) dst[d + kk] = slab[sIdx];
                }
                // Advance the C-order odometer over axes 1 .. rank-2 (last of them fastest), tracking the Fortran offset.
                for (int a = rank - 2; a >= 1; a--)
                {
                    pOff += fstride[a];
                    if (++idx[a] < shape[a]) break;
                    pOff -= fstride[a] * shape[a];
                    idx[a] = 0;
                }
            }
        }
        _k0 += b;
        _filled = 0;
    }

    private void Scatter(ReadOnlySpan<float> values)
    {
        var dst = _dst;
        var shape = _shape;
        var idx = _idx;
        long stride0 = _cstride[0];
        int n0 = shape[0];
        long c = _c;
        for (int i = 0; i < values.Length; i++)
        {
            dst[c] = values[i];
            c += stride0;
            if (++idx[0] < n0) continue;
            // Carry: axis 0 wrapped; advance the next axis that has room.
            c -= stride0 * n0;
            idx[0] = 0;
            for (int k = 1; k < shape.Length; k++)
            {
                c += _cstride[k];
                if (++idx[k] < shape[k]) break;
                c -= _cstride[k] * shape[k];
                idx[k] = 0;
            }
        }
        _c = c;
    }
}
