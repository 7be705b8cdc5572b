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

    /// <summary>Reads the directory and checks every member's extent.</summary>
    /// <exception cref="PayloadFormatException">The directory is malformed, or two members overlap.</exception>
    internal static List<ZipMember> Validate(byte[] b, string source)
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
            string name = System.Text.Encoding.UTF8.GetString(b, (int)(p + 46), nameLen);
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

    private static ushort U16(byte[] b, long at) => at < 0 || at > b.Length - 2 ? (ushort)0 : BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)at));

    private static uint U32(byte[] b, long at) => at < 0 || at > b.Length - 4 ? 0u : BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)at));

    private static ulong U64(byte[] b, long at) => at < 0 || at > b.Length - 8 ? 0ul : BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan((int)at));
}
