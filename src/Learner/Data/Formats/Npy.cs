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

    /// <summary>Reads an NPY file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Limits; null for defaults.</param>
    /// <returns>The array as a float32 tensor.</returns>
    /// <exception cref="PayloadNotFoundException">The file does not exist.</exception>
    /// <exception cref="PayloadFormatException">The file is malformed, truncated or unsupported.</exception>
    public static Tensor Read(string path, PayloadReadOptions? options = null)
    {
        var bytes = ByteSource.ReadFile(path, (options ?? PayloadReadOptions.Default).MaxFileBytes);
        return Read(bytes, path);
    }

    /// <summary>Reads an NPY array held in memory.</summary>
    /// <param name="bytes">The file contents.</param>
    /// <param name="source">A name for messages.</param>
    /// <returns>The array as a float32 tensor.</returns>
    /// <exception cref="PayloadFormatException">The bytes are malformed, truncated or unsupported.</exception>
    public static Tensor Read(ReadOnlySpan<byte> bytes, string source)
    {
        var h = ReadHeader(bytes, source);
        long count = 1;
        foreach (int d in h.Shape) count *= d; // bounded below by the size check in ReadHeader
        var data = GC.AllocateUninitializedArray<float>((int)count);
        ElementConvert.ToSingle(bytes[h.DataOffset..], h.ElementType, h.BigEndian, data);
        if (h.FortranOrder) data = ElementConvert.FortranToC(data, h.Shape);
        return new Tensor(data, h.Shape);
    }

    /// <summary>Parses and validates the header, including that the data that follows has exactly the size the shape implies.</summary>
    /// <param name="bytes">The file contents.</param>
    /// <param name="source">A name for messages.</param>
    /// <returns>The header.</returns>
    /// <exception cref="PayloadFormatException">The header is malformed or disagrees with the data size.</exception>
    public static NpyHeader ReadHeader(ReadOnlySpan<byte> bytes, string source)
    {
        if (bytes.Length < 10) throw new PayloadFormatException(source, bytes.Length, $"file of {bytes.Length} bytes is too short for an NPY header.");
        if (!bytes[..6].SequenceEqual(Magic)) throw new PayloadFormatException(source, 0, "missing the NPY magic string \\x93NUMPY.");
        int major = bytes[6], minor = bytes[7];
        if (major is < 1 or > 3 || minor != 0) throw new PayloadFormatException(source, 6, $"unsupported NPY format version {major}.{minor} (1.0, 2.0 and 3.0 are read).");
        long headerLen;
        int start;
        if (major == 1) { headerLen = BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]); start = 10; }
        else
        {
            if (bytes.Length < 12) throw new PayloadFormatException(source, bytes.Length, "file too short for an NPY 2.0/3.0 header length.");
            headerLen = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
            start = 12;
        }
        if (headerLen > bytes.Length - start)
            throw new PayloadFormatException(source, 8, $"header length {headerLen} runs past the end of the {bytes.Length}-byte file.");
        int dataOffset = start + (int)headerLen;
        var header = bytes[start..dataOffset];
        var p = new HeaderParser(header, source, start, major == 3);
        var (descr, fortran, shape) = p.Parse();
        var (type, bigEndian) = ParseDescr(descr, source, start);

        long available = bytes.Length - dataOffset;
        int itemSize = ElementConvert.SizeOf(type);
        long count = 1;
        bool zero = false;
        foreach (int d in shape) if (d == 0) zero = true;
        if (!zero)
        {
            foreach (int d in shape)
            {
                count *= d;
                if (count * itemSize > available)
                    throw new PayloadFormatException(source, dataOffset, $"shape ({string.Join(", ", shape)}) of {descr} needs more data than the {available} bytes after the header (truncated file or corrupt shape).");
            }
        }
        else count = 0;
        if (count > Array.MaxLength) throw new PayloadFormatException(source, start, $"shape ({string.Join(", ", shape)}) has more elements than an array can hold.");
        long need = count * itemSize;
        if (need != available)
            throw new PayloadFormatException(source, dataOffset + need, $"{available - need} unexpected bytes after the data of shape ({string.Join(", ", shape)}) {descr}.");
        return new NpyHeader(type, bigEndian, fortran, shape, dataOffset, major);
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
