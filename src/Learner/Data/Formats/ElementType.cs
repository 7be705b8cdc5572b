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

    /// <summary>Reorders column-major (Fortran, first axis fastest) data into row-major (C) order.</summary>
    internal static float[] FortranToC(float[] src, int[] shape)
    {
        int rank = shape.Length;
        if (rank <= 1 || src.Length == 0) return src;
        var dst = new float[src.Length];
        // Fortran strides: stride[0] = 1, stride[k] = stride[k-1] * shape[k-1].
        Span<long> fstride = stackalloc long[rank];
        fstride[0] = 1;
        for (int k = 1; k < rank; k++) fstride[k] = fstride[k - 1] * shape[k - 1];
        Span<int> idx = stackalloc int[rank];
        int last = rank - 1;
        long lastStride = fstride[last];
        int inner = shape[last];
        long baseOff = 0;
        int o = 0;
        while (o < dst.Length)
        {
            // Inner run along the last axis: a strided gather.
            long off = baseOff;
            for (int j = 0; j < inner; j++, off += lastStride) dst[o++] = src[off];
            // Advance the odometer over axes 0..rank-2 (row-major order: axis rank-2 fastest).
            for (int k = last - 1; k >= 0; k--)
            {
                idx[k]++;
                baseOff += fstride[k];
                if (idx[k] < shape[k]) break;
                baseOff -= fstride[k] * shape[k];
                idx[k] = 0;
            }
        }
        return dst;
    }
}
