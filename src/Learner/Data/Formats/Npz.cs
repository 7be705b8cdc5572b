using System.IO.Compression;
using Learner.Nn;

namespace Learner.Data.Formats;

/// <summary>
/// Reader and writer of numpy's NPZ archives (a zip of NPY members, stored or deflated), as written by
/// <c>numpy.savez</c> and <c>numpy.savez_compressed</c>.
/// </summary>
/// <remarks>Each member is decompressed into a buffer that grows with the data actually produced and is capped by
/// <see cref="PayloadReadOptions.MaxDecompressedBytes"/>; the size the zip directory declares is never allocated
/// on trust. Every zip-level error surfaces as <see cref="PayloadFormatException"/> naming the archive and member.</remarks>
public static class Npz
{
    /// <summary>Reads every array of an NPZ file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Limits; null for defaults.</param>
    /// <returns>The arrays by member name (without <c>.npy</c>), in archive order.</returns>
    /// <exception cref="PayloadNotFoundException">The file does not exist.</exception>
    /// <exception cref="PayloadFormatException">The archive or a member is malformed, or too large.</exception>
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
            using var zip = Open(bytes, source);
            foreach (var e in zip.Entries)
            {
                string name = MemberName(e.FullName);
                if (result.ContainsKey(name)) throw new PayloadFormatException(source, -1, $"member '{name}' occurs twice.");
                result[name] = ReadMember(e, source, options);
            }
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
            using var zip = Open(bytes, source);
            var entries = zip.Entries;
            ZipArchiveEntry? chosen = null;
            if (member is null)
            {
                if (entries.Count != 1)
                    throw new PayloadFormatException(source, -1, $"archive has {entries.Count} members ({string.Join(", ", entries.Select(e => MemberName(e.FullName)))}); name the one to read.");
                chosen = entries[0];
            }
            else
            {
                string want = MemberName(member);
                chosen = entries.FirstOrDefault(e => MemberName(e.FullName) == want)
                    ?? throw new PayloadFormatException(source, -1, $"no member '{want}' (members: {string.Join(", ", entries.Select(e => MemberName(e.FullName)))}).");
            }
            result = ReadMember(chosen, source, options);
        });
        return result!;
    }

    private static string MemberName(string fullName) => fullName.EndsWith(".npy", StringComparison.Ordinal) ? fullName[..^4] : fullName;

    private static ZipArchive Open(byte[] bytes, string source)
    {
        var ms = new MemoryStream(bytes, writable: false);
        return new ZipArchive(ms, ZipArchiveMode.Read, leaveOpen: false);
    }

    private static Tensor ReadMember(ZipArchiveEntry e, string source, PayloadReadOptions options)
    {
        string where = $"{source}[{e.FullName}]";
        long declared = e.Length;
        if (declared > options.MaxDecompressedBytes)
            throw new PayloadFormatException(where, -1, $"member declares {declared} bytes, beyond the {options.MaxDecompressedBytes}-byte limit (PayloadReadOptions.MaxDecompressedBytes).");
        byte[] data;
        using (var s = e.Open())
            data = ByteSource.ReadBounded(s, options.MaxDecompressedBytes, where, declared);
        return Npy.Read(data, where);
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
