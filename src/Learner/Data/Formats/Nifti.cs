using System.Buffers.Binary;
using System.IO.Compression;
using System.Numerics.Tensors;
using Learner.Nn;
using Tensor = Learner.Nn.Tensor;

namespace Learner.Data.Formats;

/// <summary>A NIfTI-1 image: its voxels as a float32 tensor, and the header fields that matter for learning.</summary>
public sealed class NiftiImage
{
    internal NiftiImage(Tensor data, float[] spacing, ElementType type, bool bigEndian, float slope, float intercept)
    {
        Data = data;
        VoxelSpacing = spacing;
        StoredType = type;
        BigEndian = bigEndian;
        ScaleSlope = slope;
        ScaleIntercept = intercept;
    }

    /// <summary>The voxels, scaled by <c>scl_slope</c>/<c>scl_inter</c> when the header asks for it, shaped
    /// (X, Y, Z[, T]) as nibabel presents them: element [i, j, k] equals nibabel's <c>img.get_fdata()[i, j, k]</c>
    /// (the file's column-major order is reordered to row-major).</summary>
    public Tensor Data { get; }

    /// <summary>The shape (X, Y, Z[, T]).</summary>
    public IReadOnlyList<int> Shape => Data.ShapeArray;

    /// <summary>Voxel size per axis (<c>pixdim[1..n]</c>), in the file's units.</summary>
    public IReadOnlyList<float> VoxelSpacing { get; }

    /// <summary>The element type stored in the file.</summary>
    public ElementType StoredType { get; }

    /// <summary>Whether the file is big-endian.</summary>
    public bool BigEndian { get; }

    /// <summary>The slope applied (1 when the header asks for no scaling).</summary>
    public float ScaleSlope { get; }

    /// <summary>The intercept applied (0 when the header asks for no scaling).</summary>
    public float ScaleIntercept { get; }
}

/// <summary>Options for <see cref="Nifti.Write(string, Tensor, NiftiWriteOptions?)"/>.</summary>
public sealed record NiftiWriteOptions
{
    /// <summary>The stored element type: UInt8, Int16, Int32, Float32 (default) or Float64. Integer types round and saturate (value − intercept) / slope.</summary>
    public ElementType StoredType { get; init; } = ElementType.Float32;

    /// <summary>Voxel spacing per axis; null for 1 on every axis.</summary>
    public IReadOnlyList<float>? VoxelSpacing { get; init; }

    /// <summary>The <c>scl_slope</c> to write (non-zero); stored values are (value − intercept) / slope. Default 1.</summary>
    public float ScaleSlope { get; init; } = 1f;

    /// <summary>The <c>scl_inter</c> to write. Default 0.</summary>
    public float ScaleIntercept { get; init; }
}

/// <summary>
/// Reader and writer of single-file NIfTI-1 images (<c>.nii</c>, and <c>.nii.gz</c> detected by its gzip magic):
/// uint8, int8, int16, uint16, int32, uint32, int64, float32 and float64 voxels in either byte order, 1-D to 4-D
/// (higher dimensions of length 1 are dropped), with <c>scl_slope</c>/<c>scl_inter</c> applied as nibabel does
/// (a slope of 0 or NaN means no scaling).
/// </summary>
/// <remarks>The header is validated (size, dimensions, type, bit width, data offset, magic) and the voxel data it
/// implies must fit in the bytes the file holds. A <c>.nii.gz</c> is checked before anything is inflated: the header
/// (inflated alone) must imply a float32 result and a decompressed size both within
/// <see cref="PayloadReadOptions.MaxDecompressedBytes"/>, and no more data than the compressed bytes can hold (1032
/// bytes per byte, deflate's maximum); the voxels are then inflated straight into the float32 result through one
/// 64 KiB scratch buffer and reordered as they arrive, so a read allocates the result plus bounded scratch.</remarks>
public static class Nifti
{
    private const int HeaderSize = 348;

    /// <summary>Reads a NIfTI-1 file (<c>.nii</c> or <c>.nii.gz</c>).</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Limits; null for defaults.</param>
    /// <returns>The image.</returns>
    /// <exception cref="PayloadNotFoundException">The file does not exist.</exception>
    /// <exception cref="PayloadFormatException">The file is malformed, truncated, unsupported or too large.</exception>
    public static NiftiImage Read(string path, PayloadReadOptions? options = null)
    {
        options ??= PayloadReadOptions.Default;
        return Read(ByteSource.ReadFile(path, options.MaxFileBytes), path, options);
    }

    /// <summary>Reads a NIfTI-1 image held in memory (gzip-compressed or not).</summary>
    /// <param name="bytes">The file contents.</param>
    /// <param name="source">A name for messages.</param>
    /// <param name="options">Limits; null for defaults.</param>
    /// <returns>The image.</returns>
    /// <exception cref="PayloadFormatException">The bytes are malformed, truncated, unsupported or too large.</exception>
    public static NiftiImage Read(byte[] bytes, string source, PayloadReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        options ??= PayloadReadOptions.Default;
        if (ByteSource.IsGzip(bytes)) return ByteSource.Inflating(source, () => ReadGzip(bytes, source, options));
        var h = ParseHeader(bytes, bytes.Length, source);
        var data = GC.AllocateUninitializedArray<float>((int)h.Count);
        ElementConvert.Decode(bytes.AsSpan(h.DataStart), h.Type, h.Big, h.Dims, fortran: true, data);
        return Finish(h, data);
    }

    /// <summary>The shape <see cref="Read(string, PayloadReadOptions?)"/> would return, from the header alone (a
    /// <c>.nii.gz</c> inflates only its first 348 bytes): the data is neither inflated nor decoded, so its values are not
    /// checked.</summary>
    /// <exception cref="PayloadNotFoundException">The file does not exist.</exception>
    /// <exception cref="PayloadFormatException">The header is malformed (or, uncompressed, disagrees with the file size).</exception>
    internal static int[] ReadShape(string path, PayloadReadOptions options)
    {
        // The header's bytes only (decompressed from the start of a .nii.gz), never the whole file.
        var head = new byte[HeaderSize];
        return ByteSource.ReadHead(path, options.MaxFileBytes, head, (file, got, length) =>
        {
            if (!ByteSource.IsGzip(head.AsSpan(0, got))) return ParseHeader(head.AsSpan(0, got), length, path).Dims;
            file.Position = 0;
            return ByteSource.Inflating(path, () =>
            {
                using var gz = new GZipStream(file, CompressionMode.Decompress, leaveOpen: true);
                int inflated = ElementConvert.ReadFully(gz, head);
                if (inflated < HeaderSize) throw new PayloadFormatException(path, inflated, $"{inflated} decompressed bytes are too few for a NIfTI-1 header ({HeaderSize}).");
                return ParseHeader(head, -1, path).Dims;
            });
        });
    }

    private static NiftiImage ReadGzip(byte[] bytes, string source, PayloadReadOptions options)
    {
        using var gz = ByteSource.OpenGzip(bytes);
        var head = new byte[HeaderSize];
        int got = ElementConvert.ReadFully(gz, head);
        if (got < HeaderSize) throw new PayloadFormatException(source, got, $"{got} decompressed bytes are too few for a NIfTI-1 header ({HeaderSize}).");
        var h = ParseHeader(head, -1, source);
        long size = ElementConvert.SizeOf(h.Type);
        long total = h.DataStart + h.Count * size;
        long limit = options.MaxDecompressedBytes;
        string shape = string.Join(", ", h.Dims);
        if (4 * h.Count > limit)
            throw new PayloadFormatException(source, 40, $"shape ({shape}) decodes to {4 * h.Count} bytes of float32, which exceeds the {limit}-byte limit for compressed payloads (PayloadReadOptions.MaxDecompressedBytes).");
        if (total > limit)
            throw new PayloadFormatException(source, 40, $"shape ({shape}) of {h.Type} at vox_offset {h.DataStart} needs {total} decompressed bytes, which exceeds the {limit}-byte limit (PayloadReadOptions.MaxDecompressedBytes).");
        long most = (long)bytes.Length * ByteSource.MaxDeflateRatio;
        if (total > most)
            throw new PayloadFormatException(source, 40, $"shape ({shape}) of {h.Type} needs {total} decompressed bytes, more than the {bytes.Length} compressed bytes can inflate to ({most}): truncated file or corrupt dim.");
        var scratch = new byte[ByteSource.ScratchBytes];
        long skip = h.DataStart - HeaderSize;
        long skipped = ByteSource.Drain(new LengthLimit(gz, skip), skip, scratch);
        if (skipped < skip) throw new PayloadFormatException(source, HeaderSize + skipped, $"data ends before vox_offset {h.DataStart} (truncated file).");
        var data = GC.AllocateUninitializedArray<float>((int)h.Count);
        long need = h.Count * size;
        long read = ElementConvert.Decode(gz, h.Type, h.Big, h.Dims, fortran: true, data, scratch);
        if (read < need)
            throw new PayloadFormatException(source, h.DataStart + read, $"data ends after {read} of the {need} bytes shape ({shape}) of {h.Type} needs (truncated file).");
        // Inflate the rest (bounded) so that the gzip trailer's CRC and length are checked, as for a whole-file read.
        long rest = limit - total;
        if (ByteSource.Drain(gz, rest, scratch) > rest)
            throw new PayloadFormatException(source, limit, $"decompressed data exceeds the {limit}-byte limit (PayloadReadOptions.MaxDecompressedBytes).");
        return Finish(h, data);
    }

    /// <summary>A read-only view of the next <c>length</c> bytes of a stream.</summary>
    private sealed class LengthLimit(Stream inner, long length) : Stream
    {
        private long _left = length;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            if (_left <= 0) return 0;
            int n = inner.Read(buffer[..(int)Math.Min(buffer.Length, _left)]);
            _left -= n;
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static short I16(ReadOnlySpan<byte> b, int off, bool big) => big ? BinaryPrimitives.ReadInt16BigEndian(b[off..]) : BinaryPrimitives.ReadInt16LittleEndian(b[off..]);

    private static float F32(ReadOnlySpan<byte> b, int off, bool big) => big ? BinaryPrimitives.ReadSingleBigEndian(b[off..]) : BinaryPrimitives.ReadSingleLittleEndian(b[off..]);

    /// <summary>The header fields a read needs.</summary>
    private sealed record Header(int[] Dims, ElementType Type, bool Big, int DataStart, long Count, float Slope, float Inter, bool Scaled, float[] Spacing);

    /// <summary>Validates the header; <paramref name="fileLength"/> is the uncompressed file's length, or −1 when the
    /// data is still compressed (its size is then bounded by the caller).</summary>
    private static Header ParseHeader(ReadOnlySpan<byte> b, long fileLength, string source)
    {
        if (b.Length < HeaderSize) throw new PayloadFormatException(source, b.Length, $"{b.Length} bytes are too few for a NIfTI-1 header ({HeaderSize}).");
        int sizeLe = BinaryPrimitives.ReadInt32LittleEndian(b);
        bool big;
        if (sizeLe == HeaderSize) big = false;
        else if (BinaryPrimitives.ReadInt32BigEndian(b) == HeaderSize) big = true;
        else if (sizeLe == 540 || BinaryPrimitives.ReadInt32BigEndian(b) == 540) throw new PayloadFormatException(source, 0, "NIfTI-2 files are not supported (NIfTI-1 only).");
        else throw new PayloadFormatException(source, 0, $"sizeof_hdr is {sizeLe}, not {HeaderSize}: not a NIfTI-1 file.");

        var magic = b.Slice(344, 4);
        if (magic.SequenceEqual("ni1\0"u8)) throw new PayloadFormatException(source, 344, "a two-file NIfTI (.hdr/.img) header; only single-file .nii is supported.");
        if (!magic.SequenceEqual("n+1\0"u8)) throw new PayloadFormatException(source, 344, "missing the NIfTI-1 magic 'n+1'.");

        int rank = I16(b, 40, big);
        if (rank is < 1 or > 7) throw new PayloadFormatException(source, 40, $"dim[0] = {rank}; it must be between 1 and 7.");
        var dims = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int d = I16(b, 42 + 2 * i, big);
            if (d < 1) throw new PayloadFormatException(source, 42 + 2 * i, $"dim[{i + 1}] = {d}; dimensions must be positive.");
            dims[i] = d;
        }
        int kept = rank;
        while (kept > 4 && dims[kept - 1] == 1) kept--;
        if (kept > 4) throw new PayloadFormatException(source, 40, $"a {rank}-D image of shape ({string.Join(", ", dims)}) has more than 4 non-trivial dimensions.");
        if (kept < rank) dims = dims[..kept];

        short code = I16(b, 70, big);
        ElementType type = code switch
        {
            2 => ElementType.UInt8,
            4 => ElementType.Int16,
            8 => ElementType.Int32,
            16 => ElementType.Float32,
            64 => ElementType.Float64,
            256 => ElementType.Int8,
            512 => ElementType.UInt16,
            768 => ElementType.UInt32,
            1024 => ElementType.Int64,
            _ => throw new PayloadFormatException(source, 70, $"unsupported datatype code {code} (uint8 2, int16 4, int32 8, float32 16, float64 64, int8 256, uint16 512, uint32 768, int64 1024 are read)."),
        };
        int size = ElementConvert.SizeOf(type);
        short bitpix = I16(b, 72, big);
        if (bitpix != size * 8) throw new PayloadFormatException(source, 72, $"bitpix {bitpix} does not match datatype code {code} ({size * 8} bits).");

        float voxOffset = F32(b, 108, big);
        long maxOffset = fileLength >= 0 ? fileLength : int.MaxValue;
        if (!float.IsFinite(voxOffset) || voxOffset < HeaderSize + 4 || voxOffset != MathF.Floor(voxOffset) || voxOffset > maxOffset)
            throw new PayloadFormatException(source, 108, fileLength >= 0
                ? $"vox_offset {voxOffset} must be a whole number of bytes between {HeaderSize + 4} and the file length {fileLength}."
                : $"vox_offset {voxOffset} must be a whole number of bytes between {HeaderSize + 4} and {int.MaxValue}.");
        int dataStart = (int)voxOffset;
        long available = fileLength - dataStart;
        long count = 1;
        foreach (int d in dims)
        {
            count *= d; // at most 32767^4 · 8 < 2^63
            if (fileLength >= 0 && count * size > available)
                throw new PayloadFormatException(source, dataStart, $"shape ({string.Join(", ", dims)}) of {type} needs more than the {available} bytes after vox_offset (truncated file or corrupt dim).");
        }
        if (count > Array.MaxLength) throw new PayloadFormatException(source, 40, $"shape ({string.Join(", ", dims)}) has more voxels than an array can hold.");

        float slope = F32(b, 112, big), inter = F32(b, 116, big);
        bool scaled = slope != 0 && !float.IsNaN(slope);
        if (scaled)
        {
            if (float.IsNaN(inter)) inter = 0;
            if (!float.IsFinite(slope) || !float.IsFinite(inter))
                throw new PayloadFormatException(source, 112, $"scl_slope {slope} / scl_inter {inter} are not finite.");
        }
        else { slope = 1; inter = 0; }

        var spacing = new float[dims.Length];
        for (int i = 0; i < dims.Length; i++) spacing[i] = F32(b, 80 + 4 * i, big);
        return new Header(dims, type, big, dataStart, count, slope, inter, scaled, spacing);
    }

    /// <summary>Applies the scaling in place and wraps the voxels.</summary>
    private static NiftiImage Finish(Header h, float[] data)
    {
        if (h.Scaled && (h.Slope != 1 || h.Inter != 0))
        {
            TensorPrimitives.Multiply(data, h.Slope, data);
            TensorPrimitives.Add(data, h.Inter, data);
        }
        return new NiftiImage(new Tensor(data, h.Dims), h.Spacing, h.Type, h.Big, h.Slope, h.Inter);
    }

    /// <summary>Writes a tensor of shape (X, Y, Z[, T]) (1-D to 4-D) as a little-endian NIfTI-1 file; a path ending in
    /// <c>.gz</c> is gzip-compressed. Element [i, j, k] of the tensor becomes voxel (i, j, k), as nibabel reads it.</summary>
    /// <param name="path">The file (overwritten).</param>
    /// <param name="volume">The voxels.</param>
    /// <param name="options">Stored type, spacing and scaling; null for float32, unit spacing, no scaling.</param>
    /// <exception cref="ArgumentException">The tensor's rank is outside 1–4, a dimension exceeds 32767, or an option is invalid.</exception>
    public static void Write(string path, Tensor volume, NiftiWriteOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var bytes = ToBytes(volume, options);
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            using var gz = new GZipStream(fs, CompressionLevel.Fastest);
            gz.Write(bytes);
        }
        else fs.Write(bytes);
    }

    /// <summary>Encodes a tensor as an uncompressed single-file NIfTI-1 image (see <see cref="Write(string, Tensor, NiftiWriteOptions?)"/>).</summary>
    /// <param name="volume">The voxels.</param>
    /// <param name="options">Stored type, spacing and scaling; null for defaults.</param>
    /// <returns>The file contents.</returns>
    public static byte[] ToBytes(Tensor volume, NiftiWriteOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(volume);
        options ??= new NiftiWriteOptions();
        int rank = volume.Rank;
        if (rank is < 1 or > 4) throw new ArgumentException($"NIfTI-1 writing needs a 1-D to 4-D tensor, got shape [{string.Join(", ", volume.ShapeArray)}].", nameof(volume));
        var shape = volume.ShapeArray;
        foreach (int d in shape)
            if (d is < 1 or > short.MaxValue) throw new ArgumentException($"NIfTI-1 dimensions must be in 1..32767, got shape [{string.Join(", ", shape)}].", nameof(volume));
        var (code, size) = options.StoredType switch
        {
            ElementType.UInt8 => ((short)2, 1),
            ElementType.Int16 => ((short)4, 2),
            ElementType.Int32 => ((short)8, 4),
            ElementType.Float32 => ((short)16, 4),
            ElementType.Float64 => ((short)64, 8),
            _ => throw new ArgumentException($"Writing {options.StoredType} is not supported (UInt8, Int16, Int32, Float32, Float64).", nameof(options)),
        };
        float slope = options.ScaleSlope, inter = options.ScaleIntercept;
        if (slope == 0 || !float.IsFinite(slope) || !float.IsFinite(inter)) throw new ArgumentException(FormattableString.Invariant($"ScaleSlope must be finite and non-zero and ScaleIntercept finite (got {slope}, {inter})."), nameof(options));
        var spacing = options.VoxelSpacing;
        if (spacing is not null && spacing.Count != rank) throw new ArgumentException($"VoxelSpacing has {spacing.Count} entries for a {rank}-D volume.", nameof(options));

        const int offset = 352;
        var b = new byte[offset + (long)volume.Size * size];
        var h = b.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(h, HeaderSize);
        BinaryPrimitives.WriteInt16LittleEndian(h[40..], (short)rank);
        for (int i = 0; i < 7; i++) BinaryPrimitives.WriteInt16LittleEndian(h[(42 + 2 * i)..], (short)(i < rank ? shape[i] : 1));
        BinaryPrimitives.WriteInt16LittleEndian(h[70..], code);
        BinaryPrimitives.WriteInt16LittleEndian(h[72..], (short)(size * 8));
        BinaryPrimitives.WriteSingleLittleEndian(h[76..], 1f); // qfac
        for (int i = 0; i < 7; i++) BinaryPrimitives.WriteSingleLittleEndian(h[(80 + 4 * i)..], i < rank ? (spacing?[i] ?? 1f) : 1f);
        BinaryPrimitives.WriteSingleLittleEndian(h[108..], offset);
        BinaryPrimitives.WriteSingleLittleEndian(h[112..], slope);
        BinaryPrimitives.WriteSingleLittleEndian(h[116..], inter);
        "n+1\0"u8.CopyTo(h[344..]);

        var fortran = ElementConvert.FortranToC(volume.ToArray(), shape.Reverse().ToArray());
        var dst = h[offset..];
        for (int i = 0; i < fortran.Length; i++)
        {
            float v = fortran[i];
            double stored = (v - (double)inter) / slope;
            switch (options.StoredType)
            {
                case ElementType.UInt8: dst[i] = (byte)Math.Clamp(Math.Round(stored), 0, 255); break;
                case ElementType.Int16: BinaryPrimitives.WriteInt16LittleEndian(dst[(2 * i)..], (short)Math.Clamp(Math.Round(stored), short.MinValue, short.MaxValue)); break;
                case ElementType.Int32: BinaryPrimitives.WriteInt32LittleEndian(dst[(4 * i)..], (int)Math.Clamp(Math.Round(stored), int.MinValue, int.MaxValue)); break;
                case ElementType.Float32: BinaryPrimitives.WriteSingleLittleEndian(dst[(4 * i)..], (float)stored); break;
                default: BinaryPrimitives.WriteDoubleLittleEndian(dst[(8 * i)..], stored); break;
            }
        }
        return b;
    }
}
