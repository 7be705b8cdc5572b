using System.IO.Compression;
using Learner.Nn;

namespace Learner.Data.Formats;

/// <summary>
/// Reader and writer of numpy's NPZ archives (a zip of NPY members, stored or deflated), as written by
/// <c>numpy.savez</c> and <c>numpy.savez_compressed</c>.
/// </summary>
/// <remarks>Before anything is inflated, the zip directory is checked: members must lie inside the archive, one after
/// another, without overlapping or sharing data; each member's declared size must be one that its compressed bytes can
/// produce (at most 1032 bytes per deflated byte, exactly its size when stored), and the NPY header of each member read
/// must imply exactly that declared size. The members read together may then decompress to at most
/// <see cref="PayloadReadOptions.MaxDecompressedBytes"/> bytes and decode to at most as many bytes of float32; each
/// member is inflated straight into its float32 result through one 64 KiB scratch buffer. Every zip-level error
/// surfaces as <see cref="PayloadFormatException"/> naming the archive and member.</remarks>
public static class Npz
{
    /// <summary>Reads every array of an NPZ file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Limits; null for defaults.</param>
    /// <returns>The arrays by member name (without <c>.npy</c>), in archive order.</returns>
    /// <exception cref="PayloadNotFoundException">The file does not exist.</exception>
    /// <exception cref="PayloadFormatException">The archive or a member is malformed, its members overlap, or it is too large.</exception>
    public static IReadOnlyDictionary<string, Tensor> Read(string path, PayloadReadOptions? options = null)
    {
        options ??= PayloadReadOptions.Default;
        return Read(ByteSource.ReadFile(path, options.MaxFileBytes), path, options);
    }

    /// <summary>Reads every array of an NPZ archive held in memory.</summary>
    /// <param name="bytes">The archive.</param>
    /// <param name="source">A name for messages.</param>
    /// <param name="options">Limits; null for defaults.</param>
    /// <returns>The arrays by member name (without <c>.npy</c>), in archive order.</returns>
    /// <exception cref="PayloadFormatException">The archive or a member is malformed, or too large.</exception>
    public static IReadOnlyDictionary<string, Tensor> Read(byte[] bytes, string source, PayloadReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        options ??= PayloadReadOptions.Default;
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Guard(source, null, () =>
        {
            var dir = ZipDirectory.Validate(bytes, source);
            using var zip = Open(bytes, source);
            var entries = Matched(zip, dir, source);
            var budget = new ReadBudget(options);
            var members = new List<(ZipArchiveEntry Entry, string Name)>();
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < entries.Count; i++)
            {
                var e = entries[i];
                string name = MemberName(e.FullName);
                if (!names.Add(name)) throw new PayloadFormatException(source, -1, $"member '{name}' occurs twice.");
                Claim(e, dir[i], source, budget);
                members.Add((e, name));
            }
            var scratch = new byte[ByteSource.ScratchBytes];
            foreach (var (e, name) in members) result[name] = ReadMember(e, source, scratch);
        });
        return result;
    }

    /// <summary>Reads one named array of an NPZ file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="member">The member name, with or without <c>.npy</c>; null reads the archive's only member.</param>
    /// <param name="options">Limits; null for defaults.</param>
    /// <returns>The array.</returns>
    /// <exception cref="PayloadFormatException">The archive is malformed, or the member is absent or ambiguous (the message lists the members).</exception>
    public static Tensor ReadArray(string path, string? member, PayloadReadOptions? options = null)
    {
        options ??= PayloadReadOptions.Default;
        return ReadArray(ByteSource.ReadFile(path, options.MaxFileBytes), path, member, options);
    }

    /// <summary>Reads one named array of an NPZ archive held in memory.</summary>
    /// <param name="bytes">The archive.</param>
    /// <param name="source">A name for messages.</param>
    /// <param name="member">The member name, with or without <c>.npy</c>; null reads the archive's only member.</param>
    /// <param name="options">Limits; null for defaults.</param>
    /// <returns>The array.</returns>
    /// <exception cref="PayloadFormatException">The archive is malformed, or the member is absent or ambiguous.</exception>
    public static Tensor ReadArray(byte[] bytes, string source, string? member, PayloadReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        options ??= PayloadReadOptions.Default;
        Tensor? result = null;
        Guard(source, member, () =>
        {
            var dir = ZipDirectory.Validate(bytes, source);
            using var zip = Open(bytes, source);
            var entries = Matched(zip, dir, source);
            var chosen = Choose(entries, member, source);
            Claim(chosen, dir[entries.IndexOf(chosen)], source, new ReadBudget(options));
            result = ReadMember(chosen, source, new byte[ByteSource.ScratchBytes]);
        });
        return result!;
    }

    /// <summary>The shape <see cref="ReadArray(string, string?, PayloadReadOptions?)"/> would return, from the archive's
    /// directory and the member's NPY header alone: the member's data is not inflated, so its values are not checked.</summary>
    /// <exception cref="PayloadNotFoundException">The file does not exist.</exception>
    /// <exception cref="PayloadFormatException">The archive or the member's header is malformed, or the member is absent or ambiguous.</exception>
    internal static int[] ReadShape(string path, string? member, PayloadReadOptions options)
    {
        // The zip directory, the members' local headers and the chosen member's NPY header only, never the whole file.
        return ByteSource.ReadHead(path, options.MaxFileBytes, [], (file, _, _) =>
        {
            int[]? shape = null;
            Guard(path, member, () =>
            {
                var dir = ZipDirectory.Validate(file, path);
                file.Position = 0;
                using var zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
                var entries = Matched(zip, dir, path);
                var chosen = Choose(entries, member, path);
                shape = Claim(chosen, dir[entries.IndexOf(chosen)], path, new ReadBudget(options)).Shape;
            });
            return shape!;
        });
    }

    /// <summary>The member named <paramref name="member"/>, or the only one when it is null.</summary>
    private static ZipArchiveEntry Choose(List<ZipArchiveEntry> entries, string? member, string source)
    {
        if (member is null)
        {
            if (entries.Count != 1)
                throw new PayloadFormatException(source, -1, $"archive has {entries.Count} members ({string.Join(", ", entries.Select(e => MemberName(e.FullName)))}); name the one to read.");
            return entries[0];
        }
        string want = MemberName(member);
        return entries.FirstOrDefault(e => MemberName(e.FullName) == want)
            ?? throw new PayloadFormatException(source, -1, $"no member '{want}' (members: {string.Join(", ", entries.Select(e => MemberName(e.FullName)))}).");
    }

    /// <summary>The archive's entries, checked to be the members <see cref="ZipDirectory"/> validated, in the same order.</summary>
    private static List<ZipArchiveEntry> Matched(ZipArchive zip, List<ZipMember> dir, string source)
    {
        var entries = zip.Entries.ToList();
        if (entries.Count != dir.Count)
            throw new PayloadFormatException(source, -1, $"the zip directory lists {dir.Count} members but the archive opens with {entries.Count}.");
        for (int i = 0; i < entries.Count; i++)
            if (entries[i].CompressedLength != dir[i].CompressedSize || entries[i].Length != dir[i].UncompressedSize)
                throw new PayloadFormatException(source, dir[i].LocalHeader, $"member '{dir[i].Name}' has inconsistent sizes in the zip directory.");
        return entries;
    }

    private static string MemberName(string fullName) => fullName.EndsWith(".npy", StringComparison.Ordinal) ? fullName[..^4] : fullName;

    private static ZipArchive Open(byte[] bytes, string source)
    {
        var ms = new MemoryStream(bytes, writable: false);
        return new ZipArchive(ms, ZipArchiveMode.Read, leaveOpen: false);
    }

    /// <summary>
    /// Checks a member before its data is inflated: its declared size against what its compressed bytes can hold, its
    /// NPY header against that size, and both the size and the float32 result against what the file may still use.
    /// </summary>
    private static NpyHeader Claim(ZipArchiveEntry e, ZipMember m, string source, ReadBudget budget)
    {
        string where = $"{source}[{e.FullName}]";
        long declared = e.Length, compressed = e.CompressedLength;
        long most = m.Method == 0 ? compressed : compressed > long.MaxValue / ByteSource.MaxDeflateRatio ? long.MaxValue : compressed * ByteSource.MaxDeflateRatio;
        if (declared > most)
            throw new PayloadFormatException(where, -1, $"member declares {declared} bytes, more than its {compressed} compressed bytes can inflate to ({most}).");
        budget.ClaimDecompressed(declared, where, "the member");
        NpyHeader h;
        using (var s = e.Open()) h = Npy.ReadHeader(s, declared, where);
        budget.ClaimOutput(Npy.ElementCount(h), h.Shape, where);
        return h;
    }

    private static Tensor ReadMember(ZipArchiveEntry e, string source, byte[] scratch)
    {
        string where = $"{source}[{e.FullName}]";
        using var s = e.Open();
        var h = Npy.ReadHeader(s, e.Length, where);
        return Npy.ReadData(s, h, where, scratch);
    }

    /// <summary>Runs zip work, turning the BCL's zip errors into <see cref="PayloadFormatException"/>.</summary>
    private static void Guard(string source, string? member, Action body)
    {
        string where = member is null ? source : $"{source}[{member}]";
        try { body(); }
        catch (PayloadFormatException) { throw; }
        catch (InvalidDataException e) { throw new PayloadFormatException(where, -1, "corrupt zip archive: " + e.Message, e); }
        catch (EndOfStreamException e) { throw new PayloadFormatException(where, -1, "zip archive ends early: " + e.Message, e); }
        catch (IOException e) { throw new PayloadFormatException(where, -1, "cannot read zip archive: " + e.Message, e); }
        catch (NotSupportedException e) { throw new PayloadFormatException(where, -1, "unsupported zip feature: " + e.Message, e); }
        catch (ArgumentException e) { throw new PayloadFormatException(where, -1, "corrupt zip archive: " + e.Message, e); }
        catch (OverflowException e) { throw new PayloadFormatException(where, -1, "corrupt zip archive: " + e.Message, e); }
    }

    /// <summary>Writes tensors as an NPZ archive of float32 NPY members.</summary>
    /// <param name="path">The file (overwritten).</param>
    /// <param name="arrays">The arrays by member name (without <c>.npy</c>).</param>
    /// <param name="compress">Deflate the members (<c>savez_compressed</c>) or store them (<c>savez</c>).</param>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> arrays, bool compress = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(arrays);
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        using var zip = new ZipArchive(fs, ZipArchiveMode.Create);
        foreach (var (name, t) in arrays)
        {
            var entry = zip.CreateEntry(name + ".npy", compress ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
            using var es = entry.Open();
            Npy.Write(es, t);
        }
    }
}
