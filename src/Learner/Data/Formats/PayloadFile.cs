using Learner.Nn;

namespace Learner.Data.Formats;

/// <summary>Reads and writes a payload file, choosing the format from the extension.</summary>
public static class PayloadFile
{
    /// <summary>Reads <c>.npy</c>, <c>.npz</c> (the member <see cref="PayloadReadOptions.NpzMember"/>, or the only one),
    /// <c>.nii</c> or <c>.nii.gz</c> as a float32 tensor.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Limits and the NPZ member; null for defaults.</param>
    /// <returns>The payload.</returns>
    /// <exception cref="PayloadNotFoundException">The file does not exist.</exception>
    /// <exception cref="PayloadFormatException">The file is malformed, is a directory, empty or not a regular file (a named
    /// pipe or device is refused before it is opened), or its extension is not one of the above.</exception>
    public static Tensor Read(string path, PayloadReadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= PayloadReadOptions.Default;
        ByteSource.EnsureRegularFile(path);
        string p = path.ToLowerInvariant();
        if (p.EndsWith(".npy", StringComparison.Ordinal)) return Npy.Read(path, options);
        if (p.EndsWith(".npz", StringComparison.Ordinal)) return Npz.ReadArray(path, options.NpzMember, options);
        if (p.EndsWith(".nii", StringComparison.Ordinal) || p.EndsWith(".nii.gz", StringComparison.Ordinal)) return Nifti.Read(path, options).Data;
        throw new PayloadFormatException(path, -1, "unknown payload extension (expected .npy, .npz, .nii or .nii.gz).");
    }

    /// <summary>Writes a payload as <c>.npy</c>, <c>.npz</c> (one member named <c>arr_0</c>, deflated), <c>.nii</c> or <c>.nii.gz</c> (float32), by extension.</summary>
    /// <param name="path">The file (overwritten).</param>
    /// <param name="payload">The payload.</param>
    /// <exception cref="ArgumentException">The extension is not one of the above.</exception>
    public static void Write(string path, Tensor payload)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(payload);
        string p = path.ToLowerInvariant();
        if (p.EndsWith(".npy", StringComparison.Ordinal)) Npy.Write(path, payload);
        else if (p.EndsWith(".npz", StringComparison.Ordinal)) Npz.Write(path, new Dictionary<string, Tensor> { ["arr_0"] = payload });
        else if (p.EndsWith(".nii", StringComparison.Ordinal) || p.EndsWith(".nii.gz", StringComparison.Ordinal)) Nifti.Write(path, payload);
        else throw new ArgumentException($"Unknown payload extension in '{path}' (expected .npy, .npz, .nii or .nii.gz).", nameof(path));
    }
}
