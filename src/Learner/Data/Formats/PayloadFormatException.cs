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
public sealed record PayloadReadOptions
{
    /// <summary>The defaults: 1 GiB decompression limit, no NPZ member name.</summary>
    public static PayloadReadOptions Default { get; } = new();

    /// <summary>
    /// Largest number of bytes a compressed payload (an NPZ member, a <c>.nii.gz</c>) may decompress to. Buffers grow
    /// with the data that actually decompresses and never beyond this bound, whatever a header claims. Default 1 GiB.
    /// </summary>
    public long MaxDecompressedBytes { get; init; } = 1L << 30;

    /// <summary>Largest plain file the readers will load. Default 2 GiB − 1 (the largest .NET array of bytes).</summary>
    public long MaxFileBytes { get; init; } = Array.MaxLength;

    /// <summary>The NPZ member to read as a scan's payload (without <c>.npy</c>); null reads the archive's only member.</summary>
    public string? NpzMember { get; init; }
}
