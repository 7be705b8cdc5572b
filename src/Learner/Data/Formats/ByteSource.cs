using System.IO.Compression;

namespace Learner.Data.Formats;

/// <summary>Bounded file and stream reading shared by the payload readers.</summary>
internal static class ByteSource
{
    /// <summary>Size of the scratch buffer a streamed read decodes through (one per read).</summary>
    internal const int ScratchBytes = 64 * 1024;

    /// <summary>
    /// Deflate's largest expansion: every symbol costs at least one bit and a length/distance pair (two bits at
    /// least) yields at most 258 bytes, so a deflate stream of n bytes never inflates to more than 1032·n bytes.
    /// A header implying more data than its compressed bytes can hold is refused before anything is inflated.
    /// </summary>
    internal const long MaxDeflateRatio = 1032;

    /// <summary>
    /// Refuses what is not a regular, non-empty file before it is opened: a directory, and anything whose size the
    /// file system reports as 0 (an empty file, or a named pipe, socket or device, whose open or read could block).
    /// </summary>
    /// <exception cref="PayloadNotFoundException">Nothing exists at <paramref name="path"/>.</exception>
    /// <exception cref="PayloadFormatException">It is a directory, empty, or not a regular file.</exception>
    internal static void EnsureRegularFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path)) throw new PayloadFormatException(path, -1, "is a directory, not a payload file.");
        if (!File.Exists(path)) throw new PayloadNotFoundException(path);
        long len;
        try
        {
            // A symbolic link is judged by what it finally points at (its own size is that of the target's name).
            FileSystemInfo info = new FileInfo(path);
            if (info.LinkTarget is not null) info = info.ResolveLinkTarget(returnFinalTarget: true) ?? info;
            if (info is DirectoryInfo || Directory.Exists(info.FullName)) throw new PayloadFormatException(path, -1, "is a directory, not a payload file.");
            len = info is FileInfo f ? f.Length : 0;
        }
        catch (IOException e) { throw new PayloadFormatException(path, -1, "cannot stat the file: " + e.Message, e); }
        catch (UnauthorizedAccessException e) { throw new PayloadFormatException(path, -1, "cannot stat the file: " + e.Message, e); }
        if (len == 0)
            throw new PayloadFormatException(path, -1, "has length 0: it is empty, or not a regular file (a named pipe, socket or device, which would block or never end); payloads must be regular files.");
    }

    /// <summary>Reads a whole regular file, refusing files beyond <paramref name="maxBytes"/>; the allocation equals the file's actual length.</summary>
    internal static byte[] ReadFile(string path, long maxBytes)
    {
        EnsureRegularFile(path);
        try
        {
            using var fs = OpenChecked(path, maxBytes, FileOptions.SequentialScan);
            long len = fs.Length;
            var buf = GC.AllocateUninitializedArray<byte>((int)len);
            int read = ElementConvert.ReadFully(fs, buf);
            if (read != buf.Length) throw new PayloadFormatException(path, read, "file shrank while being read.");
            return buf;
        }
        catch (IOException e) { throw new PayloadFormatException(path, -1, "cannot read the file: " + e.Message, e); }
        catch (UnauthorizedAccessException e) { throw new PayloadFormatException(path, -1, "cannot read the file: " + e.Message, e); }
    }

    /// <summary>Reads the first bytes of a regular file (at most <paramref name="head"/>'s length; fewer when the file is
    /// shorter), with the checks of <see cref="ReadFile"/>, then hands the still-open file to <paramref name="body"/>
    /// with its length (for a format whose header is read from the start, such as a gzip stream).</summary>
    /// <returns>What <paramref name="body"/> returned.</returns>
    internal static T ReadHead<T>(string path, long maxBytes, byte[] head, Func<FileStream, int, long, T> body)
    {
        EnsureRegularFile(path);
        try
        {
            using var fs = OpenChecked(path, maxBytes, FileOptions.None);
            int got = ElementConvert.ReadFully(fs, head);
            return body(fs, got, fs.Length);
        }
        catch (IOException e) { throw new PayloadFormatException(path, -1, "cannot read the file: " + e.Message, e); }
        catch (UnauthorizedAccessException e) { throw new PayloadFormatException(path, -1, "cannot read the file: " + e.Message, e); }
    }

    private static FileStream OpenChecked(string path, long maxBytes, FileOptions options)
    {
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, options);
        try
        {
            if (!fs.CanSeek) throw new PayloadFormatException(path, -1, "is not a regular file (not seekable); payloads must be regular files.");
            long len = fs.Length;
            if (len == 0) throw new PayloadFormatException(path, -1, "has length 0: it is empty, or not a regular file (a named pipe, socket or device); payloads must be regular files.");
            if (len > maxBytes) throw new PayloadFormatException(path, -1, $"file of {len} bytes exceeds the {maxBytes}-byte limit (PayloadReadOptions.MaxFileBytes).");
            return fs;
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    /// <summary>Whether the bytes start with the gzip magic.</summary>
    internal static bool IsGzip(ReadOnlySpan<byte> bytes) => bytes.Length >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B;

    /// <summary>Opens a gzip stream over bytes held in memory (no copy).</summary>
    internal static GZipStream OpenGzip(byte[] compressed) =>
        new(new MemoryStream(compressed, writable: false), CompressionMode.Decompress, leaveOpen: false);

    /// <summary>
    /// Reads and discards what remains of <paramref name="stream"/> through <paramref name="scratch"/>, stopping once
    /// more than <paramref name="max"/> bytes have come.
    /// </summary>
    /// <returns>The bytes that remained (at most <paramref name="max"/> + 1).</returns>
    internal static long Drain(Stream stream, long max, byte[] scratch)
    {
        long total = 0;
        while (total <= max)
        {
            int n = stream.Read(scratch, 0, (int)Math.Min(scratch.Length, max + 1 - total));
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>Runs decompression work, turning the BCL's inflate errors into <see cref="PayloadFormatException"/>.</summary>
    internal static T Inflating<T>(string source, Func<T> body)
    {
        try { return body(); }
        catch (PayloadFormatException) { throw; }
        catch (InvalidDataException e) { throw new PayloadFormatException(source, -1, "corrupt compressed data: " + e.Message, e); }
        catch (EndOfStreamException e) { throw new PayloadFormatException(source, -1, "compressed data ends early: " + e.Message, e); }
        catch (IOException e) { throw new PayloadFormatException(source, -1, "cannot decompress: " + e.Message, e); }
    }
}

/// <summary>
/// What one read may still decompress and decode, shared by every member of an NPZ archive so that the limits hold
/// for the file as a whole.
/// </summary>
internal sealed class ReadBudget
{
    private readonly long _limit;
    private long _decompressed;
    private long _output;

    internal ReadBudget(PayloadReadOptions options) => _limit = options.MaxDecompressedBytes;

    /// <summary>Claims <paramref name="bytes"/> of decompressed data; refuses (naming the file) when the file's total would exceed the limit.</summary>
    internal void ClaimDecompressed(long bytes, string source, string what)
    {
        if (bytes > _limit - _decompressed)
            throw new PayloadFormatException(source, -1, $"{what} would decompress to {bytes} bytes{(_decompressed > 0 ? $" after {_decompressed} already" : "")}, which exceeds the {_limit}-byte limit (PayloadReadOptions.MaxDecompressedBytes).");
        _decompressed += bytes;
    }

    /// <summary>Claims a float32 output of <paramref name="elements"/> elements of shape <paramref name="shape"/>; refuses when the file's total would exceed the limit.</summary>
    internal void ClaimOutput(long elements, int[] shape, string source)
    {
        long bytes = 4 * elements;
        if (bytes > _limit - _output)
            throw new PayloadFormatException(source, -1, $"shape ({string.Join(", ", shape)}) decodes to {bytes} bytes of float32{(_output > 0 ? $" after {_output} already" : "")}, which exceeds the {_limit}-byte limit for compressed payloads (PayloadReadOptions.MaxDecompressedBytes).");
        _output += bytes;
    }
}
