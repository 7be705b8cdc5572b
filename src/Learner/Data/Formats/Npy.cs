using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Learner.Nn;

namespace Learner.Data.Formats;

/// <summary>Header of an NPY array: element type, byte order, memory order and shape.</summary>
/// <param name="ElementType">The element type.</param>
/// <param name="BigEndian">Whether multi-byte elements are big-endian.</param>
/// <param name="FortranOrder">Whether the data is column-major (first axis fastest).</param>
/// <param name="Shape">The shape (empty for a 0-d array).</param>
/// <param name="DataOffset">Byte offset of the data.</param>
/// <param name="Version">The format version (1, 2 or 3).</param>
public sealed record NpyHeader(ElementType ElementType, bool BigEndian, bool FortranOrder, int[] Shape, int DataOffset, int Version);

/// <summary>
/// Reader and writer of numpy's NPY format, versions 1.0, 2.0 and 3.0: element types float32, float64, uint8, int8,
/// bool, int16, uint16, int32, uint32 and int64 in either byte order, C or Fortran order. Arrays come back as
/// float32 tensors in row-major order (Fortran data is reordered), shaped as numpy shows them.
/// </summary>
/// <remarks>The header is validated field by field, and the data size implied by the shape must equal the bytes that
/// follow the header, so no allocation exceeds what the file actually holds (times four, for one-byte elements that
/// become floats).</remarks>
public static class Npy
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>The largest header accepted (64 KiB, version 1's maximum; numpy's own headers are a few hundred bytes).</summary>
    public const int MaxHeaderBytes = 1 << 16;

    /// <summary>Reads an NPY file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Limits; null for defaults.</param>
    /// <returns>The array as a float32 tensor.</returns>
    /// <exception cref="PayloadNotFoundException">The file does not exist.</exception>
    /// <exception cref="PayloadFormatException">The file is malformed, truncated, unsupported, or not a regular file.</exception>
    public static Tensor Read(string path, PayloadReadOptions? options = null)
    {
        var bytes = ByteSource.ReadFile(path, (options ?? PayloadReadOptions.Default).MaxFileBytes);
        return Read(bytes, path);
    }

    /// <summary>Reads an NPY array held in memory. Allocates the float32 result (4 bytes per element, so at most four
    /// times the input) and nothing proportional to the data besides: Fortran-order data is reordered as it is converted.</summary>
    /// <param name="bytes">The file contents.</param>
    /// <param name="source">A name for messages.</param>
    /// <returns>The array as a float32 tensor.</returns>
    /// <exception cref="PayloadFormatException">The bytes are malformed, truncated or unsupported.</exception>
    public static Tensor Read(ReadOnlySpan<byte> bytes, string source)
    {
        var h = ReadHeader(bytes, source);
        long count = Count(h.Shape);
        var data = GC.AllocateUninitializedArray<float>((int)count);
        ElementConvert.Decode(bytes[h.DataOffset..], h.ElementType, h.BigEndian, h.Shape, h.FortranOrder, data);
        return new Tensor(data, h.Shape);
    }

    /// <summary>Parses and validates the header, including that the data that follows has exactly the size the shape implies.</summary>
    /// <param name="bytes">The file contents.</param>
    /// <param name="source">A name for messages.</param>
    /// <returns>The header.</returns>
    /// <exception cref="PayloadFormatException">The header is malformed or disagrees with the data size.</exception>
    public static NpyHeader ReadHeader(ReadOnlySpan<byte> bytes, string source)
    {
        var (major, start, headerLen) = ReadPrefix(bytes, bytes.Length, source);
        int dataOffset = start + headerLen;
        var h = ParseDict(bytes[start..dataOffset], source, start, major, dataOffset);
        CheckDataSize(h, bytes.Length - dataOffset, source, "after the header");
        return h;
    }

    /// <summary>Validates magic, version and header length; <paramref name="total"/> is the whole file's length.</summary>
    private static (int Major, int Start, int HeaderLen) ReadPrefix(ReadOnlySpan<byte> prefix, long total, string source)
    {
        if (prefix.Length < 10) throw new PayloadFormatException(source, prefix.Length, $"file of {prefix.Length} bytes is too short for an NPY header.");
        if (!prefix[..6].SequenceEqual(Magic)) throw new PayloadFormatException(source, 0, "missing the NPY magic string \\x93NUMPY.");
        int major = prefix[6], minor = prefix[7];
        if (major is < 1 or > 3 || minor != 0) throw new PayloadFormatException(source, 6, $"unsupported NPY format version {major}.{minor} (1.0, 2.0 and 3.0 are read).");
        long headerLen;
        int start;
        if (major == 1) { headerLen = BinaryPrimitives.ReadUInt16LittleEndian(prefix[8..]); start = 10; }
        else
        {
            if (prefix.Length < 12) throw new PayloadFormatException(source, prefix.Length, "file too short for an NPY 2.0/3.0 header length.");
            headerLen = BinaryPrimitives.ReadUInt32LittleEndian(prefix[8..]);
            start = 12;
        }
        if (headerLen > total - start)
            throw new PayloadFormatException(source, 8, $"header length {headerLen} runs past the end of the {total}-byte file.");
        if (headerLen > MaxHeaderBytes)
            throw new PayloadFormatException(source, 8, $"header length {headerLen} exceeds the {MaxHeaderBytes}-byte limit (Npy.MaxHeaderBytes).");
        return (major, start, (int)headerLen);
    }

    private static NpyHeader ParseDict(ReadOnlySpan<byte> header, string source, int start, int major, int dataOffset)
    {
        var p = new HeaderParser(header, source, start, major == 3);
        var (descr, fortran, shape) = p.Parse();
        var (type, bigEndian) = ParseDescr(descr, source, start);
        return new NpyHeader(type, bigEndian, fortran, shape, dataOffset, major);
    }

    /// <summary>Element count of a validated shape (every dimension non-negative, the product checked by <see cref="CheckDataSize"/>).</summary>
    private static long Count(int[] shape)
    {
        long count = 1;
        foreach (int d in shape) count *= d;
        return count;
    }

    /// <summary>Checks that the shape's data is exactly <paramref name="available"/> bytes (overflow-safe, element count within an array).</summary>
    private static void CheckDataSize(NpyHeader h, long available, string source, string where)
    {
        var shape = h.Shape;
        int itemSize = ElementConvert.SizeOf(h.ElementType);
        string descr = Describe(h);
        long count = 1;
        bool zero = false;
        foreach (int d in shape) if (d == 0) zero = true;
        if (!zero)
        {
            foreach (int d in shape)
            {
                count *= d;
                if (count * itemSize > available) break;
            }
            // Also covers a 0-d array (no dimensions, one element) with fewer bytes than one element.
            if (count * itemSize > available)
                throw new PayloadFormatException(source, h.DataOffset + available, $"shape ({string.Join(", ", shape)}) of {descr} needs more data than the {available} bytes {where} (truncated file or corrupt shape).");
        }
        else count = 0;
        if (count > Array.MaxLength) throw new PayloadFormatException(source, h.DataOffset, $"shape ({string.Join(", ", shape)}) has more elements than an array can hold.");
        long need = count * itemSize;
        if (need != available)
            throw new PayloadFormatException(source, h.DataOffset + need, $"{available - need} unexpected bytes after the data of shape ({string.Join(", ", shape)}) {descr}.");
    }

    /// <summary>The dtype descriptor numpy would show for the header's element type and byte order.</summary>
    private static string Describe(NpyHeader h)
    {
        string code = h.ElementType switch
        {
            ElementType.Float32 => "f4",
            ElementType.Float64 => "f8",
            ElementType.UInt8 => "u1",
            ElementType.Int8 => "i1",
            ElementType.Bool => "b1",
            ElementType.Int16 => "i2",
            ElementType.UInt16 => "u2",
            ElementType.Int32 => "i4",
            ElementType.UInt32 => "u4",
            _ => "i8",
        };
        char order = ElementConvert.SizeOf(h.ElementType) == 1 ? '|' : h.BigEndian ? '>' : '<';
        return order + code;
    }

    /// <summary>
    /// Reads the header of an NPY stream (an NPZ member) of <paramref name="length"/> bytes, as the archive declares;
    /// the header must imply exactly that length, so the data size is known before any of it is decompressed.
    /// Allocates only the header (at most <see cref="MaxHeaderBytes"/>).
    /// </summary>
    internal static NpyHeader ReadHeader(Stream s, long length, string source)
    {
        Span<byte> prefix = stackalloc byte[12];
        int got = ElementConvert.ReadFully(s, prefix[..10]);
        if (got < 10) throw new PayloadFormatException(source, got, $"member of {got} bytes is too short for an NPY header.");
        if (prefix[6] is 2 or 3) got += ElementConvert.ReadFully(s, prefix[10..12]);
        var (major, start, headerLen) = ReadPrefix(prefix[..got], length, source);
        var header = new byte[headerLen];
        if (ElementConvert.ReadFully(s, header) < headerLen)
            throw new PayloadFormatException(source, start, $"member ends inside its {headerLen}-byte NPY header.");
        int dataOffset = start + headerLen;
        var h = ParseDict(header, source, start, major, dataOffset);
        CheckDataSize(h, length - dataOffset, source, "the archive declares after the header");
        return h;
    }

    /// <summary>Element count implied by a header that <see cref="ReadHeader(Stream, long, string)"/> validated.</summary>
    internal static long ElementCount(NpyHeader h) => Count(h.Shape);

    /// <summary>Decodes the data of a stream positioned after its header into a new float32 tensor, through <paramref name="scratch"/>.</summary>
    /// <exception cref="PayloadFormatException">The stream ends before the data does, or has bytes after it.</exception>
    internal static Tensor ReadData(Stream s, NpyHeader h, string source, byte[] scratch)
    {
        long count = Count(h.Shape);
        var data = GC.AllocateUninitializedArray<float>((int)count);
        long need = count * ElementConvert.SizeOf(h.ElementType);
        long got = ElementConvert.Decode(s, h.ElementType, h.BigEndian, h.Shape, h.FortranOrder, data, scratch);
        if (got < need)
            throw new PayloadFormatException(source, h.DataOffset + got, $"data ends after {got} of the {need} bytes shape ({string.Join(", ", h.Shape)}) of {Describe(h)} needs (truncated member).");
        long extra = ByteSource.Drain(s, MaxHeaderBytes, scratch);
        if (extra > 0)
            throw new PayloadFormatException(source, h.DataOffset + need, $"{(extra > MaxHeaderBytes ? "more than " + MaxHeaderBytes : extra.ToString(CultureInfo.InvariantCulture))} unexpected bytes after the data of shape ({string.Join(", ", h.Shape)}) {Describe(h)}.");
        return new Tensor(data, h.Shape);
    }

    private static (ElementType, bool) ParseDescr(string descr, string source, int offset)
    {
        if (descr.Length < 3) throw new PayloadFormatException(source, offset, $"unsupported dtype descriptor '{descr}'.");
        char order = descr[0];
        string code = descr[1..];
        ElementType? t = code switch
        {
            "f4" => ElementType.Float32,
            "f8" => ElementType.Float64,
            "u1" => ElementType.UInt8,
            "i1" => ElementType.Int8,
            "b1" => ElementType.Bool,
            "i2" => ElementType.Int16,
            "u2" => ElementType.UInt16,
            "i4" => ElementType.Int32,
            "u4" => ElementType.UInt32,
            "i8" => ElementType.Int64,
            _ => null,
        };
        if (t is null) throw new PayloadFormatException(source, offset, $"unsupported dtype descriptor '{descr}' (float32/64, (u)int8/16/32, int64 and bool are read).");
        bool big = order switch
        {
            '<' => false,
            '>' => true,
            '=' => !BitConverter.IsLittleEndian,
            '|' when ElementConvert.SizeOf(t.Value) == 1 => false,
            _ => throw new PayloadFormatException(source, offset, $"invalid byte-order character in dtype descriptor '{descr}'."),
        };
        return (t.Value, big);
    }

    /// <summary>A parser for the Python dict literal of an NPY header.</summary>
    private ref struct HeaderParser
    {
        private readonly ReadOnlySpan<byte> _s;
        private readonly string _source;
        private readonly int _base;
        private readonly bool _utf8;
        private int _i;

        public HeaderParser(ReadOnlySpan<byte> s, string source, int baseOffset, bool utf8)
        {
            _s = s; _source = source; _base = baseOffset; _utf8 = utf8; _i = 0;
        }

        private PayloadFormatException Error(string what) => new(_source, _base + _i, "malformed NPY header: " + what + ".");

        private void SkipWs() { while (_i < _s.Length && _s[_i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r') _i++; }

        private bool TryEat(byte c) { SkipWs(); if (_i < _s.Length && _s[_i] == c) { _i++; return true; } return false; }

        private void Expect(byte c) { if (!TryEat(c)) throw Error($"expected '{(char)c}'"); }

        public (string Descr, bool Fortran, int[] Shape) Parse()
        {
            string? descr = null;
            bool? fortran = null;
            int[]? shape = null;
            Expect((byte)'{');
            while (true)
            {
                if (TryEat((byte)'}')) break;
                string key = ReadString();
                Expect((byte)':');
                switch (key)
                {
                    case "descr": if (descr is not null) throw Error("repeated key 'descr'"); descr = ReadString(); break;
                    case "fortran_order": if (fortran is not null) throw Error("repeated key 'fortran_order'"); fortran = ReadBool(); break;
                    case "shape": if (shape is not null) throw Error("repeated key 'shape'"); shape = ReadShape(); break;
                    default: throw Error($"unexpected key '{key}' (a structured or object dtype is not supported)");
                }
                if (TryEat((byte)',')) continue;
                Expect((byte)'}');
                break;
            }
            SkipWs();
            if (_i != _s.Length) throw Error("trailing characters after the header dict");
            if (descr is null || fortran is null || shape is null) throw Error("missing one of the keys 'descr', 'fortran_order', 'shape'");
            return (descr, fortran.Value, shape);
        }

        private string ReadString()
        {
            SkipWs();
            if (_i >= _s.Length || _s[_i] is not ((byte)'\'' or (byte)'"')) throw Error("expected a quoted string");
            byte q = _s[_i++];
            int start = _i;
            while (_i < _s.Length && _s[_i] != q)
            {
                if (_s[_i] == (byte)'\\') throw Error("escape sequences are not supported in header strings");
                if (_s[_i] >= 0x80 && !_utf8) throw Error("non-ASCII byte in a version 1/2 header");
                _i++;
            }
            if (_i >= _s.Length) throw Error("unterminated string");
            var str = _s[start.._i];
            _i++;
            try { return new UTF8Encoding(false, true).GetString(str); }
            catch (DecoderFallbackException) { throw Error("invalid UTF-8 in a header string"); }
        }

        private bool ReadBool()
        {
            SkipWs();
            if (_s[_i..].StartsWith("True"u8)) { _i += 4; return true; }
            if (_s[_i..].StartsWith("False"u8)) { _i += 5; return false; }
            throw Error("expected True or False");
        }

        private int[] ReadShape()
        {
            Expect((byte)'(');
            var dims = new List<int>(4);
            while (true)
            {
                if (TryEat((byte)')')) break;
                if (dims.Count >= 32) throw Error("more than 32 dimensions");
                dims.Add(ReadInt());
                if (TryEat((byte)',')) continue;
                Expect((byte)')');
                break;
            }
            return dims.ToArray();
        }

        private int ReadInt()
        {
            SkipWs();
            int start = _i;
            long v = 0;
            while (_i < _s.Length && _s[_i] >= (byte)'0' && _s[_i] <= (byte)'9')
            {
                v = v * 10 + (_s[_i] - '0');
                if (v > int.MaxValue) throw Error("dimension larger than 2^31 - 1");
                _i++;
            }
            if (_i == start) throw Error("expected a non-negative integer dimension");
            if (_i < _s.Length && _s[_i] == (byte)'L') _i++; // Python 2 long suffix
            return (int)v;
        }
    }

    // ------------------------------------------------------------------ writer

    /// <summary>Writes a tensor as an NPY version 1.0 file of little-endian float32 in C order.</summary>
    /// <param name="path">The file (overwritten).</param>
    /// <param name="tensor">The tensor.</param>
    public static void Write(string path, Tensor tensor)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        Write(fs, tensor);
    }

    /// <summary>Writes a tensor as NPY version 1.0 (little-endian float32, C order) to a stream.</summary>
    /// <param name="stream">The destination.</param>
    /// <param name="tensor">The tensor.</param>
    public static void Write(Stream stream, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensor);
        var shape = tensor.Shape;
        var sb = new StringBuilder("{'descr': '<f4', 'fortran_order': False, 'shape': (");
        for (int i = 0; i < shape.Length; i++)
        {
            sb.Append(shape[i].ToString(CultureInfo.InvariantCulture));
            if (shape.Length == 1 || i < shape.Length - 1) sb.Append(shape.Length == 1 ? "," : ", ");
        }
        sb.Append("), }");
        // numpy pads the header with spaces so that magic + length + header + '\n' is a multiple of 64.
        int total = 10 + sb.Length + 1;
        int pad = (64 - total % 64) % 64;
        sb.Append(' ', pad).Append('\n');
        var header = Encoding.ASCII.GetBytes(sb.ToString());
        Span<byte> pre = stackalloc byte[10];
        Magic.CopyTo(pre);
        pre[6] = 1; pre[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(pre[8..], checked((ushort)header.Length));
        stream.Write(pre);
        stream.Write(header);
        WriteSingles(stream, tensor.Data);
    }

    internal static void WriteSingles(Stream stream, ReadOnlySpan<float> data)
    {
        if (BitConverter.IsLittleEndian) { stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data)); return; }
        Span<byte> b = stackalloc byte[4];
        foreach (float f in data) { BinaryPrimitives.WriteSingleLittleEndian(b, f); stream.Write(b); }
    }
}
