using System.Buffers.Binary;
using System.IO.Compression;

namespace Learner.Data.Formats;

/// <summary>Bounded file and stream reading shared by the payload readers.</summary>
internal static class ByteSource
{
    /// <summary>Reads a whole file, refusing files beyond <paramref name="maxBytes"/>; the allocation equals the file's actual length.</summary>
    internal static byte[] ReadFile(string path, long maxBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new PayloadNotFoundException(path);
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            long len = fs.Length;
            if (len > maxBytes) throw new PayloadFormatException(path, -1, $"file of {len} bytes exceeds the {maxBytes}-byte limit.");
            var buf = GC.AllocateUninitializedArray<byte>((int)len);
            int read = 0;
            while (read < buf.Length)
            {
                int n = fs.Read(buf, read, buf.Length - read);
                if (n == 0) break;
                read += n;
            }
            if (read != buf.Length) throw new PayloadFormatException(path, read, "file shrank while being read.");
            return buf;
        }
        catch (IOException e) { throw new PayloadFormatException(path, -1, "cannot read the file: " + e.Message, e); }
        catch (UnauthorizedAccessException e) { throw new PayloadFormatException(path, -1, "cannot read the file: " + e.Message, e); }
    }

    /// <summary>
    /// Copies what <paramref name="stream"/> yields into a buffer that grows (doubling, from a small start) with the
    /// data actually produced, failing once more than <paramref name="maxBytes"/> arrive. A size announced by a header is
    /// used only as a hint that is itself capped, never as an allocation.
    /// </summary>
    internal static byte[] ReadBounded(Stream stream, long maxBytes, string source, long sizeHint = -1)
    {
        long cap = Math.Min(maxBytes, Array.MaxLength);
        int initial = (int)Math.Clamp(sizeHint > 0 ? Math.Min(sizeHint + 1, 1 << 20) : 64 * 1024, 256, Math.Max(256, Math.Min(cap + 1, 1 << 20)));
        var buf = GC.AllocateUninitializedArray<byte>(initial);
        int len = 0;
        try
        {
            while (true)
            {
                if (len == buf.Length)
                {
                    if (len > cap) throw new PayloadFormatException(source, cap, $"decompressed data exceeds the {maxBytes}-byte limit (PayloadReadOptions.MaxDecompressedBytes).");
                    long grown = Math.Min((long)buf.Length * 2, cap + 1);
                    var nb = GC.AllocateUninitializedArray<byte>((int)grown);
                    buf.AsSpan(0, len).CopyTo(nb);
                    buf = nb;
                }
                int n = stream.Read(buf, len, buf.Length - len);
                if (n == 0) break;
                len += n;
            }
        }
        catch (InvalidDataException e) { throw new PayloadFormatException(source, len, "corrupt compressed data: " + e.Message, e); }
        catch (EndOfStreamException e) { throw new PayloadFormatException(source, len, "compressed data ends early: " + e.Message, e); }
        catch (IOException e) { throw new PayloadFormatException(source, len, "cannot decompress: " + e.Message, e); }
        if (len > cap) throw new PayloadFormatException(source, cap, $"decompressed data exceeds the {maxBytes}-byte limit (PayloadReadOptions.MaxDecompressedBytes).");
        return len == buf.Length ? buf : buf.AsSpan(0, len).ToArray();
    }

    /// <summary>Whether the bytes start with the gzip magic.</summary>
    internal static bool IsGzip(ReadOnlySpan<byte> bytes) => bytes.Length >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B;

    /// <summary>Decompresses a gzip stream held in memory, bounded as <see cref="ReadBounded"/>.</summary>
    internal static byte[] Gunzip(byte[] compressed, long maxBytes, string source)
    {
        // ISIZE (the last four bytes) is the uncompressed length mod 2^32: a hint only.
        long hint = compressed.Length >= 18 ? BinaryPrimitives.ReadUInt32LittleEndian(compressed.AsSpan(compressed.Length - 4)) : -1;
        using var ms = new MemoryStream(compressed, writable: false);
        using var gz = new GZipStream(ms, CompressionMode.Decompress);
        return ReadBounded(gz, maxBytes, source, hint);
    }
}
