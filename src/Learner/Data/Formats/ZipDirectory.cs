using System.Buffers.Binary;

namespace Learner.Data.Formats;

/// <summary>One member as the zip central directory describes it.</summary>
/// <param name="Name">The raw name (for messages).</param>
/// <param name="Method">Compression method (0 stored, 8 deflated).</param>
/// <param name="CompressedSize">Bytes of compressed data.</param>
/// <param name="UncompressedSize">Declared bytes once inflated.</param>
/// <param name="LocalHeader">Offset of the member's local header.</param>
/// <param name="DataEnd">Offset just past its compressed data.</param>
internal readonly record struct ZipMember(string Name, int Method, long CompressedSize, long UncompressedSize, long LocalHeader, long DataEnd);

/// <summary>
/// An independent reading of a zip archive's central directory, used to refuse archives whose members overlap, share
/// data, or lie outside the file before <see cref="System.IO.Compression.ZipArchive"/> inflates anything. Allocates
/// one record per member (the directory spends at least 46 bytes on each).
/// </summary>
internal static class ZipDirectory
{
    private const uint EndSig = 0x06054b50, Zip64EndSig = 0x06064b50, Zip64LocatorSig = 0x07064b50, CentralSig = 0x02014b50, LocalSig = 0x04034b50;

    /// <summary>Reads the directory of an archive held in memory and checks every member's extent.</summary>
    /// <exception cref="PayloadFormatException">The directory is malformed, or two members overlap.</exception>
    internal static List<ZipMember> Validate(byte[] bytes, string source) => Validate(new ZipBytes(bytes), source);

    /// <summary>The same for an archive on disk, reading only the directory and the members' local headers.</summary>
    /// <exception cref="PayloadFormatException">The directory is malformed, or two members overlap.</exception>
    internal static List<ZipMember> Validate(FileStream file, string source) => Validate(new ZipBytes(file), source);

    private static List<ZipMember> Validate(ZipBytes b, string source)
    {
        long eocd = -1;
        for (long i = b.Length - 22; i >= Math.Max(0, b.Length - 22 - 0xFFFF); i--)
            if (U32(b, i) == EndSig) { eocd = i; break; }
        if (eocd < 0) throw new PayloadFormatException(source, -1, "not a zip archive: no end-of-central-directory record.");
        long count = U16(b, eocd + 10), cdSize = U32(b, eocd + 12), cdOffset = U32(b, eocd + 16);
        if (count == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF)
        {
            long loc = eocd - 20;
            if (loc < 0 || U32(b, loc) != Zip64LocatorSig) throw new PayloadFormatException(source, eocd, "zip64 sizes without a zip64 end-of-central-directory locator.");
            long z = (long)Math.Min(U64(b, loc + 8), long.MaxValue);
            if (z > b.Length - 56 || U32(b, z) != Zip64EndSig) throw new PayloadFormatException(source, loc, $"zip64 end-of-central-directory record offset {z} is invalid.");
            count = Clamp(U64(b, z + 32)); cdSize = Clamp(U64(b, z + 40)); cdOffset = Clamp(U64(b, z + 48));
        }
        if (cdOffset > b.Length || cdSize > b.Length - cdOffset)
            throw new PayloadFormatException(source, eocd, $"central directory ({cdSize} bytes at {cdOffset}) lies outside the {b.Length}-byte file.");
        if (count > cdSize / 46)
            throw new PayloadFormatException(source, eocd, $"{count} members cannot fit in a {cdSize}-byte central directory.");
        var members = new List<ZipMember>((int)count);
        long p = cdOffset, cdEnd = cdOffset + cdSize;
        for (long n = 0; n < count; n++)
        {
            if (p > cdEnd - 46 || U32(b, p) != CentralSig) throw new PayloadFormatException(source, p, $"central directory entry {n} is malformed.");
            int method = U16(b, p + 10);
            long comp = U32(b, p + 20), uncomp = U32(b, p + 24), local = U32(b, p + 42);
            int nameLen = U16(b, p + 28), extraLen = U16(b, p + 30), commentLen = U16(b, p + 32);
            long next = p + 46 + nameLen + extraLen + commentLen;
            if (next > cdEnd) throw new PayloadFormatException(source, p, $"central directory entry {n} runs past the directory.");
            string name = b.Text(p + 46, nameLen);
            if (uncomp == 0xFFFFFFFF || comp == 0xFFFFFFFF || local == 0xFFFFFFFF)
            {
                // Zip64 extended information: the 8-byte values present are those whose 32-bit field is saturated, in this order.
                long e = p + 46 + nameLen, eEnd = e + extraLen;
                bool found = false;
                while (e + 4 <= eEnd)
                {
                    int id = U16(b, e), len = U16(b, e + 2);
                    long d = e + 4;
                    if (d + len > eEnd) break;
                    if (id == 1)
                    {
                        long q = d;
                        if (uncomp == 0xFFFFFFFF) { if (q + 8 > d + len) break; uncomp = Clamp(U64(b, q)); q += 8; }
                        if (comp == 0xFFFFFFFF) { if (q + 8 > d + len) break; comp = Clamp(U64(b, q)); q += 8; }
                        if (local == 0xFFFFFFFF) { if (q + 8 > d + len) break; local = Clamp(U64(b, q)); }
                        found = true;
                        break;
                    }
                    e = d + len;
                }
                if (!found) throw new PayloadFormatException(source, p, $"member '{name}' has zip64 sizes without a valid zip64 extra field.");
            }
            if (local > cdOffset - 30 || cdOffset < 30 || U32(b, local) != LocalSig)
                throw new PayloadFormatException(source, p, $"member '{name}' names local header offset {local}, where there is no local header before the central directory.");
            long dataStart = local + 30 + U16(b, local + 26) + U16(b, local + 28);
            if (dataStart > cdOffset || comp > cdOffset - dataStart)
                throw new PayloadFormatException(source, local, $"member '{name}' ({comp} compressed bytes from offset {dataStart}) runs into the central directory at {cdOffset}.");
            members.Add(new ZipMember(name, method, comp, uncomp, local, dataStart + comp));
            p = next;
        }
        var byStart = members.OrderBy(m => m.LocalHeader).ToList();
        for (int i = 1; i < byStart.Count; i++)
        {
            var a = byStart[i - 1];
            var c = byStart[i];
            if (c.LocalHeader < a.DataEnd)
                throw new PayloadFormatException(source, c.LocalHeader, $"members '{a.Name}' (bytes {a.LocalHeader}–{a.DataEnd}) and '{c.Name}' (from byte {c.LocalHeader}) overlap: archives whose members share data are refused.");
        }
        return members;
    }

    private static long Clamp(ulong v) => v > long.MaxValue ? long.MaxValue : (long)v;

    private static ushort U16(ZipBytes b, long at) => b.Has(at, 2) ? BinaryPrimitives.ReadUInt16LittleEndian(b.Get(at, 2)) : (ushort)0;

    private static uint U32(ZipBytes b, long at) => b.Has(at, 4) ? BinaryPrimitives.ReadUInt32LittleEndian(b.Get(at, 4)) : 0u;

    private static ulong U64(ZipBytes b, long at) => b.Has(at, 8) ? BinaryPrimitives.ReadUInt64LittleEndian(b.Get(at, 8)) : 0ul;

    /// <summary>The archive's bytes by offset: an array, or a file read at each offset asked for.</summary>
    private sealed class ZipBytes
    {
        private readonly byte[]? _bytes;
        private readonly FileStream? _file;
        private readonly byte[] _scratch = new byte[8];
        private readonly byte[] _tail = [];
        private readonly long _tailStart;

        public ZipBytes(byte[] bytes) { _bytes = bytes; Length = bytes.Length; }

        /// <summary>A file; its last 64 KiB + 22 bytes (where the end record is searched for, and where the directory of
        /// a small archive lies) are read once, anything else at each offset asked for.</summary>
        public ZipBytes(FileStream file)
        {
            _file = file;
            Length = file.Length;
            _tail = new byte[(int)Math.Min(Length, 22 + 0xFFFF)];
            _tailStart = Length - _tail.Length;
            Read(_tailStart, _tail);
        }

        public long Length { get; }

        public bool Has(long at, int count) => at >= 0 && at <= Length - count;

        /// <summary><paramref name="count"/> (≤ 8) bytes at <paramref name="at"/>, which <see cref="Has"/> allowed.</summary>
        public ReadOnlySpan<byte> Get(long at, int count)
        {
            if (_bytes is not null) return _bytes.AsSpan((int)at, count);
            if (at >= _tailStart) return _tail.AsSpan((int)(at - _tailStart), count);
            Read(at, _scratch.AsSpan(0, count));
            return _scratch.AsSpan(0, count);
        }

        public string Text(long at, int count)
        {
            if (_bytes is not null) return System.Text.Encoding.UTF8.GetString(_bytes, (int)at, count);
            if (at >= _tailStart && at + count <= Length) return System.Text.Encoding.UTF8.GetString(_tail, (int)(at - _tailStart), count);
            var buffer = new byte[count];
            Read(at, buffer);
            return System.Text.Encoding.UTF8.GetString(buffer);
        }

        private void Read(long at, Span<byte> into)
        {
            int got = 0;
            while (got < into.Length)
            {
                int n = RandomAccess.Read(_file!.SafeFileHandle, into[got..], at + got);
                if (n == 0) throw new EndOfStreamException($"the file ends at byte {at + got}, before the {into.Length} bytes at {at}.");
                got += n;
            }
        }
    }
}
