using System.Globalization;
using System.Text;

namespace Learner.Nn.Serialization;

/// <summary>
/// A safetensors file or checkpoint that cannot be read or does not fit the model: truncated or corrupted data,
/// an invalid header, an unsupported dtype, or missing, unexpected and mis-shaped keys. The message names the file
/// and, where they apply, the key and the byte offset in the file.
/// </summary>
public sealed class CheckpointException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="filePath">The file.</param>
    /// <param name="detail">What is wrong.</param>
    /// <param name="key">The tensor or metadata key concerned, if any.</param>
    /// <param name="byteOffset">The byte offset in the file where the problem is, if known.</param>
    /// <param name="inner">The underlying exception, if any.</param>
    public CheckpointException(string filePath, string detail, string? key = null, long? byteOffset = null, Exception? inner = null)
        : base(Compose(filePath, detail, key, byteOffset), inner)
    {
        FilePath = filePath;
        Key = key;
        ByteOffset = byteOffset;
    }

    /// <summary>The file concerned.</summary>
    public string FilePath { get; }

    /// <summary>The tensor or metadata key concerned, or null.</summary>
    public string? Key { get; }

    /// <summary>The byte offset in the file where the problem was found, or null.</summary>
    public long? ByteOffset { get; }

    private static string Compose(string filePath, string detail, string? key, long? byteOffset)
    {
        var sb = new StringBuilder();
        sb.Append('\'').Append(filePath).Append("': ").Append(detail);
        if (key is not null || byteOffset is not null)
        {
            sb.Append(" (");
            if (key is not null) sb.Append("key '").Append(key).Append('\'');
            if (key is not null && byteOffset is not null) sb.Append(", ");
            if (byteOffset is not null) sb.Append("byte offset ").Append(byteOffset.Value.ToString(CultureInfo.InvariantCulture));
            sb.Append(')');
        }
        return sb.ToString();
    }
}
