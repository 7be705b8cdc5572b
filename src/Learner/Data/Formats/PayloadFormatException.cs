namespace Learner.Data.Formats;

/// <summary>
/// A payload file (NPY, NPZ, NIfTI) is malformed, truncated, unsupported or larger than allowed. The message names
/// the file and the byte offset at which the problem was found (−1 when it cannot be tied to an offset).
/// </summary>
public sealed class PayloadFormatException : LearnerDataException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="source">The file (or stream name).</param>
    /// <param name="offset">Byte offset of the problem, or −1.</param>
    /// <param name="detail">What is wrong.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public PayloadFormatException(string source, long offset, string detail, Exception? inner = null)
        : base($"{source}{(offset >= 0 ? " at byte " + offset : "")}: {detail}", inner ?? new InvalidDataException(detail))
    {
        Source = source;
        Offset = offset;
        Detail = detail;
    }

    /// <summary>The file (or stream name).</summary>
    public new string Source { get; }

    /// <summary>Byte offset of the problem, or −1.</summary>
    public long Offset { get; }

    /// <summary>What is wrong, without the file and offset.</summary>
    public string Detail { get; }
}

/// <summary>Limits and choices for the payload readers.</summary>
/// <remarks>
/// <para><b>Allocation budget.</b> One read of a file of n bytes allocates at most
/// <see cref="AllocationBudget(long, bool)"/>: the file itself (read whole), the float32 result (4 bytes per element) and
/// <see cref="ScratchBytes"/> of scratch and bookkeeping, plus, for column-major data (every NIfTI, Fortran-order NPY),
/// a reorder slab of at most 16 MiB and never more than the result itself. No growing buffers, no intermediate copy of
/// the data, no second full-size buffer for the axis reorder. For uncompressed input the result is at most 4·n bytes (every element occupies at least
/// one byte of the file). For compressed input (<c>.nii.gz</c>, deflated NPZ members) the result of the whole file,
/// summed over NPZ members, is at most <see cref="MaxDecompressedBytes"/> and at most 4·1032·n (deflate cannot inflate a
/// byte to more than 1032): a header implying more is refused <i>before</i> anything is inflated.</para>
/// </remarks>
public sealed record PayloadReadOptions
{
    /// <summary>The defaults: 1 GiB decompression limit, no NPZ member name.</summary>
    public static PayloadReadOptions Default { get; } = new();

    /// <summary>Scratch and bookkeeping a read may allocate beyond the file and its float32 result: 1 MiB (one 64 KiB
    /// decode buffer, headers, the zip directory's records for an archive of ordinary size).</summary>
    public const long ScratchBytes = 1L << 20;

    /// <summary>
    /// Largest number of bytes a compressed payload (a <c>.nii.gz</c>; for an NPZ, all members read together) may
    /// decompress to, and largest float32 result (4 bytes per element, summed over the members read) it may decode to.
    /// Both are checked against the sizes headers imply before their data is inflated, and the data that actually
    /// inflates is held to them. Default 1 GiB.
    /// </summary>
    public long MaxDecompressedBytes { get; init; } = 1L << 30;

    /// <summary>Largest plain file the readers will load. Default 2 GiB − 1 (the largest .NET array of bytes).</summary>
    public long MaxFileBytes { get; init; } = Array.MaxLength;

    /// <summary>The NPZ member to read as a scan's payload (without <c>.npy</c>); null reads the archive's only member.</summary>
    public string? NpzMember { get; init; }

    /// <summary>The most bytes one read of a file of <paramref name="fileBytes"/> bytes may allocate under these
    /// options (see the remarks): the file, the largest result it can decode to, a reorder slab of at most that result and
    /// 16 MiB, and <see cref="ScratchBytes"/>; compressed input adds 16 bytes per file byte for zip directory records.</summary>
    /// <param name="fileBytes">The file's length.</param>
    /// <param name="compressed">Whether the file is a <c>.nii.gz</c> or an NPZ (whose members may be deflated).</param>
    /// <returns>The bound in bytes.</returns>
    public long AllocationBudget(long fileBytes, bool compressed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fileBytes);
        long result = compressed ? Math.Max(4 * fileBytes, Math.Min(MaxDecompressedBytes, 4 * 1032 * fileBytes)) : 4 * fileBytes;
        long bookkeeping = compressed ? 16 * fileBytes : 0;
        return fileBytes + result + Math.Min(result, 16L << 20) + bookkeeping + ScratchBytes;
    }
}
