using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Learner.Nn.Serialization;

/// <summary>The element types of the safetensors format that <see cref="Safetensors.Load"/> reads.</summary>
public enum SafetensorsDType
{
    /// <summary>IEEE 754 double; rounded to the nearest float32 on load (values beyond float32's range are rejected).</summary>
    F64,
    /// <summary>IEEE 754 single (read and written as is).</summary>
    F32,
    /// <summary>IEEE 754 half; exact in float32.</summary>
    F16,
    /// <summary>bfloat16; exact in float32.</summary>
    BF16,
    /// <summary>Signed 64-bit integer; loaded only when every value is exactly representable in float32 (|v| ≤ 2²⁴ or a suitable power-of-two multiple).</summary>
    I64,
    /// <summary>Signed 32-bit integer; same exactness rule as <see cref="I64"/>.</summary>
    I32,
    /// <summary>Signed 16-bit integer; exact.</summary>
    I16,
    /// <summary>Signed 8-bit integer; exact.</summary>
    I8,
    /// <summary>Unsigned 8-bit integer; exact.</summary>
    U8,
    /// <summary>Boolean byte (0 or 1); loaded as 0 or 1.</summary>
    Bool,
}

/// <summary>One tensor's header entry in a safetensors file.</summary>
/// <param name="Name">The tensor's key.</param>
/// <param name="DType">Its element type in the file.</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Begin">Start of its bytes, relative to the data buffer after the header.</param>
/// <param name="End">End (exclusive) of its bytes, relative to the data buffer.</param>
public sealed record SafetensorsEntry(string Name, SafetensorsDType DType, int[] Shape, long Begin, long End);

/// <summary>The contents of a safetensors file: tensors (converted to float32), their header entries and the metadata.</summary>
public sealed class SafetensorsContent
{
    internal SafetensorsContent(string path, IReadOnlyList<SafetensorsEntry> entries, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        Entries = entries;
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>Header entries, in header order.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary>Tensors by key (float32, outside any tensor scope).</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors { get; }

    /// <summary>The string-to-string <c>__metadata__</c> map (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
}

/// <summary>
/// Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a> format: an 8-byte
/// little-endian header length N, N bytes of UTF-8 JSON
/// <c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {"k": "v"}}</c>, then the
/// tensors' bytes (little-endian, row-major), offsets relative to the start of that data buffer.
/// </summary>
/// <remarks>
/// <para>Reading validates everything before trusting it: the header length against the file size and
/// <see cref="MaxHeaderBytes"/>, well-formed JSON with exactly the expected fields, known dtypes, shapes whose
/// element count times the dtype size equals the offset span, offsets inside the data buffer, laid out back to back
/// without overlap or gaps and covering the whole buffer (as the reference implementation requires). Every
/// allocation is bounded by the file's actual size. Any failure raises <see cref="CheckpointException"/> naming the
/// file, the key and the byte offset.</para>
/// <para>Writing produces F32 tensors in the order given, the header padded with spaces to a multiple of 8 bytes,
/// atomically: a temporary file in the same directory is written and flushed, then moved over the target.</para>
/// <para>In Python, <c>safetensors.torch.load_file(path)</c> opens these files; without the package,
/// <c>tests/Learner.Nn.Tests/Fixtures/generate_safetensors_fixtures.py</c> shows a 20-line reader.</para>
/// </remarks>
public static class Safetensors
{
    /// <summary>The largest header accepted (100 MB), as in the reference implementation.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";
    private const int ChunkBytes = 1 << 16;

    // ------------------------------------------------------------------ writing

    /// <summary>Writes <paramref name="tensors"/> (as F32) and <paramref name="metadata"/> to <paramref name="path"/>, atomically.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="tensors">(key, tensor) pairs; keys must be non-empty, unique and not <c>__metadata__</c>.</param>
    /// <param name="metadata">Optional string metadata.</param>
    /// <exception cref="ArgumentException">A key is empty, duplicated or reserved, or a tensor was released.</exception>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        var items = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var kv in items)
        {
            if (string.IsNullOrEmpty(kv.Key)) throw new ArgumentException("A tensor key is empty.", nameof(tensors));
            if (kv.Key == MetadataKey) throw new ArgumentException($"'{MetadataKey}' is reserved and cannot name a tensor.", nameof(tensors));
            if (!names.Add(kv.Key)) throw new ArgumentException($"The tensor key '{kv.Key}' appears more than once.", nameof(tensors));
            if (kv.Value is null) throw new ArgumentNullException(nameof(tensors), $"The tensor '{kv.Key}' is null.");
            if (kv.Value.IsDisposed) throw new ArgumentException($"The tensor '{kv.Key}' was released by its TensorScope.", nameof(tensors));
        }

        byte[] header = BuildHeader(items, metadata);
        string full = System.IO.Path.GetFullPath(path);
        string dir = System.IO.Path.GetDirectoryName(full) ?? ".";
        string temp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, ChunkBytes))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
                fs.Write(len);
                fs.Write(header);
                byte[]? scratch = BitConverter.IsLittleEndian ? null : ArrayPool<byte>.Shared.Rent(ChunkBytes);
                try
                {
                    foreach (var kv in items)
                    {
                        var data = kv.Value.Data;
                        if (scratch is null) { fs.Write(MemoryMarshal.AsBytes(data)); continue; }
                        for (int i = 0; i < data.Length; i += ChunkBytes / 4)
                        {
                            int n = Math.Min(ChunkBytes / 4, data.Length - i);
                            for (int j = 0; j < n; j++) BinaryPrimitives.WriteSingleLittleEndian(scratch.AsSpan(4 * j), data[i + j]);
                            fs.Write(scratch, 0, 4 * n);
                        }
                    }
                }
                finally
                {
                    if (scratch is not null) ArrayPool<byte>.Shared.Return(scratch);
                }
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    private static byte[] BuildHeader(List<KeyValuePair<string, Tensor>> items, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var kv in metadata)
                {
                    ArgumentNullException.ThrowIfNull(kv.Key, nameof(metadata));
                    w.WriteString(kv.Key, kv.Value ?? throw new ArgumentNullException(nameof(metadata), $"The metadata value of '{kv.Key}' is null."));
                }
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var kv in items)
            {
                var t = kv.Value;
                long bytes = 4L * t.Size;
                w.WriteStartObject(kv.Key);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        int len = buffer.WrittenCount;
        int padded = (len + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(len).Fill((byte)' ');
        return header;
    }

    // ------------------------------------------------------------------ reading

    /// <summary>Reads only the header of <paramref name="path"/> (entries and metadata), validating it fully.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The entries, in header order, and the metadata.</returns>
    /// <exception cref="CheckpointException">The file is not a valid safetensors file.</exception>
    public static (IReadOnlyList<SafetensorsEntry> Entries, IReadOnlyDictionary<string, string> Metadata) ReadHeader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var fs = OpenRead(path);
        var (entries, metadata, _) = ReadHeader(fs, path);
        return (entries, metadata);
    }

    /// <summary>Reads every tensor of <paramref name="path"/>, converting it to float32 (see <see cref="SafetensorsDType"/>
    /// for the conversions), and the metadata.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The contents.</returns>
    /// <exception cref="CheckpointException">The file is truncated or corrupted, uses an unsupported dtype, or holds a
    /// value that float32 cannot represent as documented.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafetensorsContent Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var fs = OpenRead(path);
        var (entries, metadata, dataStart) = ReadHeader(fs, path);
        var tensors = new Dictionary<string, Tensor>(entries.Count, StringComparer.Ordinal);
        byte[] scratch = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            foreach (var e in entries)
            {
                var t = Tensor.CreateUnscoped(e.Shape, clear: false);
                ReadData(fs, path, e, dataStart, t.Data, scratch);
                tensors[e.Name] = t;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
        return new SafetensorsContent(path, entries, tensors, metadata);
    }

    private static FileStream OpenRead(string path) => new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);

    private static (List<SafetensorsEntry> Entries, Dictionary<string, string> Metadata, long DataStart) ReadHeader(FileStream fs, string path)
    {
        long fileLength = fs.Length;
        if (fileLength < 8)
            throw new CheckpointException(path, $"the file has {fileLength} bytes, fewer than the 8-byte header length of the safetensors format", byteOffset: 0);
        Span<byte> lenBytes = stackalloc byte[8];
        ReadExactly(fs, path, 0, lenBytes, null);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLength > (ulong)(fileLength - 8))
            throw new CheckpointException(path, $"the header length {headerLength} exceeds the {fileLength - 8} bytes that follow it (file of {fileLength} bytes; truncated or not a safetensors file)", byteOffset: 0);
        if (headerLength > MaxHeaderBytes)
            throw new CheckpointException(path, $"the header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit", byteOffset: 0);
        if (headerLength < 2)
            throw new CheckpointException(path, $"the header length {headerLength} is too small for a JSON object", byteOffset: 0);
        var header = new byte[(int)headerLength];
        ReadExactly(fs, path, 8, header, null);
        long dataStart = 8 + (long)headerLength;
        long bufferLength = fileLength - dataStart;
        var (entries, metadata) = ParseHeader(header, path);
        ValidateLayout(entries, bufferLength, dataStart, path);
        return (entries, metadata, dataStart);
    }

    private static (List<SafetensorsEntry>, Dictionary<string, string>) ParseHeader(byte[] header, string path)
    {
        if (header[0] != (byte)'{')
            throw new CheckpointException(path, $"the header does not start with '{{' (found byte 0x{header[0]:X2})", byteOffset: 8);
        var entries = new List<SafetensorsEntry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { MaxDepth = 4, CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false });
        string? key = null;
        try
        {
            Next(ref reader, path);
            while (true)
            {
                Next(ref reader, path);
                if (reader.TokenType == JsonTokenType.EndObject) break;
                long keyOffset = 8 + reader.TokenStartIndex;
                key = reader.GetString()!;
                if (!keys.Add(key)) throw new CheckpointException(path, "the key appears twice in the header", key, keyOffset);
                Next(ref reader, path);
                if (key == MetadataKey) ReadMetadata(ref reader, path, metadata);
                else entries.Add(ReadEntry(ref reader, path, key, keyOffset));
                key = null;
            }
            if (reader.Read())
                throw new CheckpointException(path, "unexpected data after the header's JSON object", byteOffset: 8 + reader.TokenStartIndex);
        }
        catch (JsonException ex)
        {
            throw new CheckpointException(path, $"the header is not well-formed JSON: {ex.Message}", key, 8 + JsonErrorOffset(header, ex), ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new CheckpointException(path, $"the header holds an invalid JSON string: {ex.Message}", key, 8 + reader.TokenStartIndex, ex);
        }
        return (entries, metadata);
    }

    private static void Next(ref Utf8JsonReader reader, string path)
    {
        if (!reader.Read())
            throw new CheckpointException(path, "the header's JSON ends early", byteOffset: 8 + reader.BytesConsumed);
        if (reader.TokenType is JsonTokenType.Comment)
            throw new CheckpointException(path, "comments are not allowed in the header", byteOffset: 8 + reader.TokenStartIndex);
        if (reader.CurrentDepth == 0 && reader.TokenType is not JsonTokenType.StartObject and not JsonTokenType.EndObject)
            throw new CheckpointException(path, $"the header is not a JSON object (found {reader.TokenType})", byteOffset: 8 + reader.TokenStartIndex);
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, string path, Dictionary<string, string> metadata)
    {
        if (reader.TokenType == JsonTokenType.Null) return;
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new CheckpointException(path, $"'{MetadataKey}' must be an object of strings, found {reader.TokenType}", MetadataKey, 8 + reader.TokenStartIndex);
        while (true)
        {
            Next(ref reader, path);
            if (reader.TokenType == JsonTokenType.EndObject) return;
            long at = 8 + reader.TokenStartIndex;
            string k = reader.GetString()!;
            Next(ref reader, path);
            if (reader.TokenType != JsonTokenType.String)
                throw new CheckpointException(path, $"metadata values must be strings, found {reader.TokenType} for '{k}'", MetadataKey, 8 + reader.TokenStartIndex);
            if (!metadata.TryAdd(k, reader.GetString()!))
                throw new CheckpointException(path, $"the metadata key '{k}' appears twice", MetadataKey, at);
        }
    }

    private static SafetensorsEntry ReadEntry(ref Utf8JsonReader reader, string path, string key, long keyOffset)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new CheckpointException(path, $"the tensor entry must be an object with dtype, shape and data_offsets, found {reader.TokenType}", key, 8 + reader.TokenStartIndex);
        SafetensorsDType? dtype = null;
        int[]? shape = null;
        long begin = -1, end = -1;
        while (true)
        {
            Next(ref reader, path);
            if (reader.TokenType == JsonTokenType.EndObject) break;
            long at = 8 + reader.TokenStartIndex;
            string field = reader.GetString()!;
            Next(ref reader, path);
            switch (field)
            {
                case "dtype" when dtype is null:
                    if (reader.TokenType != JsonTokenType.String)
                        throw new CheckpointException(path, $"'dtype' must be a string, found {reader.TokenType}", key, at);
                    dtype = ParseDType(reader.GetString()!, path, key, at);
                    break;
                case "shape" when shape is null:
                    shape = ReadShape(ref reader, path, key, at);
                    break;
                case "data_offsets" when begin < 0:
                    (begin, end) = ReadOffsets(ref reader, path, key, at);
                    break;
                case "dtype":
                case "shape":
                case "data_offsets":
                    throw new CheckpointException(path, $"the field '{field}' appears twice", key, at);
                default:
                    throw new CheckpointException(path, $"unexpected field '{field}' in the tensor entry (expected dtype, shape, data_offsets)", key, at);
            }
        }
        if (dtype is null || shape is null || begin < 0)
            throw new CheckpointException(path, $"the tensor entry lacks {(dtype is null ? "'dtype'" : shape is null ? "'shape'" : "'data_offsets'")}", key, keyOffset);
        return new SafetensorsEntry(key, dtype.Value, shape, begin, end);
    }

    private static int[] ReadShape(ref Utf8JsonReader reader, string path, string key, long at)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new CheckpointException(path, $"'shape' must be an array of integers, found {reader.TokenType}", key, at);
        var dims = new List<int>();
        while (true)
        {
            Next(ref reader, path);
            if (reader.TokenType == JsonTokenType.EndArray) return dims.ToArray();
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long d) || d < 0 || d > int.MaxValue)
                throw new CheckpointException(path, $"'shape' entry {dims.Count} is not an integer in [0, {int.MaxValue}]", key, 8 + reader.TokenStartIndex);
            dims.Add((int)d);
        }
    }

    private static (long, long) ReadOffsets(ref Utf8JsonReader reader, string path, string key, long at)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new CheckpointException(path, $"'data_offsets' must be an array [begin, end], found {reader.TokenType}", key, at);
        Span<long> v = stackalloc long[2];
        int n = 0;
        while (true)
        {
            Next(ref reader, path);
            if (reader.TokenType == JsonTokenType.EndArray) break;
            if (n == 2) throw new CheckpointException(path, "'data_offsets' has more than two entries", key, 8 + reader.TokenStartIndex);
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long x) || x < 0)
                throw new CheckpointException(path, $"'data_offsets' entry {n} is not a non-negative 64-bit integer", key, 8 + reader.TokenStartIndex);
            v[n++] = x;
        }
        if (n != 2) throw new CheckpointException(path, $"'data_offsets' has {n} entries instead of 2", key, at);
        if (v[1] < v[0]) throw new CheckpointException(path, $"'data_offsets' [{v[0]}, {v[1]}] ends before it begins", key, at);
        return (v[0], v[1]);
    }

    private static SafetensorsDType ParseDType(string s, string path, string key, long at) => s switch
    {
        "F64" => SafetensorsDType.F64,
        "F32" => SafetensorsDType.F32,
        "F16" => SafetensorsDType.F16,
        "BF16" => SafetensorsDType.BF16,
        "I64" => SafetensorsDType.I64,
        "I32" => SafetensorsDType.I32,
        "I16" => SafetensorsDType.I16,
        "I8" => SafetensorsDType.I8,
        "U8" => SafetensorsDType.U8,
        "BOOL" => SafetensorsDType.Bool,
        "U16" or "U32" or "U64" or "F8_E4M3" or "F8_E5M2" or "C64" or "C128" =>
            throw new CheckpointException(path, $"the dtype '{s}' is not supported (readable: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)", key, at),
        _ => throw new CheckpointException(path, $"unknown dtype '{Printable(s)}'", key, at),
    };

    /// <summary>Bytes per element of <paramref name="dtype"/>.</summary>
    /// <param name="dtype">The dtype.</param>
    /// <returns>The size in bytes.</returns>
    public static int ElementSize(SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F64 or SafetensorsDType.I64 => 8,
        SafetensorsDType.F32 or SafetensorsDType.I32 => 4,
        SafetensorsDType.F16 or SafetensorsDType.BF16 or SafetensorsDType.I16 => 2,
        _ => 1,
    };

    private static void ValidateLayout(List<SafetensorsEntry> entries, long bufferLength, long dataStart, string path)
    {
        foreach (var e in entries)
        {
            if (e.End > bufferLength)
                throw new CheckpointException(path, $"data_offsets [{e.Begin}, {e.End}] reach beyond the {bufferLength}-byte data buffer (file truncated?)", e.Name, dataStart + e.Begin);
            long count = 1;
            foreach (int d in e.Shape)
            {
                if (d == 0) { count = 0; break; }
                count = count > long.MaxValue / d ? long.MaxValue : count * d;
            }
            if (count > Array.MaxLength || e.Shape.Length > 0 && count > int.MaxValue)
                throw new CheckpointException(path, $"shape {Tensor.ShapeString(e.Shape)} has more elements than a float32 tensor can hold", e.Name, dataStart + e.Begin);
            long expected = count * ElementSize(e.DType);
            if (expected != e.End - e.Begin)
                throw new CheckpointException(path, $"shape {Tensor.ShapeString(e.Shape)} of {e.DType} needs {expected} bytes but data_offsets [{e.Begin}, {e.End}] span {e.End - e.Begin}", e.Name, dataStart + e.Begin);
        }
        var sorted = entries.ToArray();
        Array.Sort(sorted, (a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long cursor = 0;
        SafetensorsEntry? previous = null;
        foreach (var e in sorted)
        {
            if (e.Begin < cursor)
                throw new CheckpointException(path, $"data_offsets [{e.Begin}, {e.End}] overlap those of '{previous!.Name}' [{previous.Begin}, {previous.End}]", e.Name, dataStart + e.Begin);
            if (e.Begin > cursor)
                throw new CheckpointException(path, $"data_offsets [{e.Begin}, {e.End}] leave a gap of {e.Begin - cursor} unused bytes after offset {cursor}", e.Name, dataStart + cursor);
            cursor = e.End;
            previous = e;
        }
        if (cursor != bufferLength)
            throw new CheckpointException(path, $"the tensors cover {cursor} bytes but the data buffer has {bufferLength} (trailing bytes)", byteOffset: dataStart + cursor);
    }

    private static void ReadData(FileStream fs, string path, SafetensorsEntry e, long dataStart, Span<float> dst, byte[] scratch)
    {
        long offset = dataStart + e.Begin;
        if (e.DType == SafetensorsDType.F32 && BitConverter.IsLittleEndian)
        {
            ReadExactly(fs, path, offset, MemoryMarshal.AsBytes(dst), e.Name);
            return;
        }
        int size = ElementSize(e.DType);
        int perChunk = scratch.Length / size;
        for (int i = 0; i < dst.Length; i += perChunk)
        {
            int n = Math.Min(perChunk, dst.Length - i);
            long chunkOffset = offset + (long)i * size;
            var bytes = scratch.AsSpan(0, n * size);
            ReadExactly(fs, path, chunkOffset, bytes, e.Name);
            Convert(e, bytes, dst.Slice(i, n), path, chunkOffset);
        }
    }

    private static void Convert(SafetensorsEntry e, ReadOnlySpan<byte> src, Span<float> dst, string path, long offset)
    {
        switch (e.DType)
        {
            case SafetensorsDType.F32:
                for (int j = 0; j < dst.Length; j++) dst[j] = BinaryPrimitives.ReadSingleLittleEndian(src.Slice(4 * j));
                break;
            case SafetensorsDType.F64:
                for (int j = 0; j < dst.Length; j++)
                {
                    double v = BinaryPrimitives.ReadDoubleLittleEndian(src.Slice(8 * j));
                    float f = (float)v;
                    if (float.IsInfinity(f) && double.IsFinite(v))
                        throw new CheckpointException(path, $"the F64 value {v.ToString("R", CultureInfo.InvariantCulture)} is beyond float32's range", e.Name, offset + 8L * j);
                    dst[j] = f;
                }
                break;
            case SafetensorsDType.F16:
                for (int j = 0; j < dst.Length; j++) dst[j] = (float)BinaryPrimitives.ReadHalfLittleEndian(src.Slice(2 * j));
                break;
            case SafetensorsDType.BF16:
                for (int j = 0; j < dst.Length; j++) dst[j] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src.Slice(2 * j)) << 16);
                break;
            case SafetensorsDType.I64:
                for (int j = 0; j < dst.Length; j++)
                {
                    long v = BinaryPrimitives.ReadInt64LittleEndian(src.Slice(8 * j));
                    dst[j] = ExactInteger(v, e, path, offset + 8L * j);
                }
                break;
            case SafetensorsDType.I32:
                for (int j = 0; j < dst.Length; j++)
                    dst[j] = ExactInteger(BinaryPrimitives.ReadInt32LittleEndian(src.Slice(4 * j)), e, path, offset + 4L * j);
                break;
            case SafetensorsDType.I16:
                for (int j = 0; j < dst.Length; j++) dst[j] = BinaryPrimitives.ReadInt16LittleEndian(src.Slice(2 * j));
                break;
            case SafetensorsDType.I8:
                for (int j = 0; j < dst.Length; j++) dst[j] = (sbyte)src[j];
                break;
            case SafetensorsDType.U8:
                for (int j = 0; j < dst.Length; j++) dst[j] = src[j];
                break;
            case SafetensorsDType.Bool:
                for (int j = 0; j < dst.Length; j++)
                {
                    if (src[j] > 1) throw new CheckpointException(path, $"the BOOL byte {src[j]} is neither 0 nor 1", e.Name, offset + j);
                    dst[j] = src[j];
                }
                break;
        }
    }

    private static float ExactInteger(long v, SafetensorsEntry e, string path, long offset)
    {
        float f = v;
        if (f < -9.2233720368547758E18f || f >= 9.2233720368547758E18f || (long)f != v)
            throw new CheckpointException(path, $"the {e.DType} value {v} has no exact float32 representation", e.Name, offset);
        return f;
    }

    private static void ReadExactly(FileStream fs, string path, long offset, Span<byte> buffer, string? key)
    {
        try
        {
            fs.Position = offset;
            fs.ReadExactly(buffer);
        }
        catch (EndOfStreamException ex)
        {
            throw new CheckpointException(path, $"the file ended while reading {buffer.Length} bytes (it changed while being read?)", key, offset, ex);
        }
    }

    private static long JsonErrorOffset(byte[] header, JsonException ex)
    {
        long line = ex.LineNumber ?? 0, col = ex.BytePositionInLine ?? 0;
        long pos = 0;
        for (long l = 0; l < line && pos < header.Length; pos++) if (header[pos] == (byte)'\n') l++;
        return Math.Min(pos + col, header.Length);
    }

    private static string Printable(string s)
    {
        var sb = new StringBuilder();
        foreach (char c in s.Length > 40 ? s[..40] + "…" : s) sb.Append(char.IsControl(c) ? '?' : c);
        return sb.ToString();
    }
}
