using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Learner.Data.Formats;
using Learner.Nn;

namespace Learner.Tests.Data;

/// <summary>
/// Thousands of seeded mutations (bit flips, truncations, header field edits, appended bytes) of files numpy, nibabel
/// and our writers produced, through each reader: the only exception allowed is <see cref="PayloadFormatException"/>,
/// nothing hangs, and no read allocates much beyond the file size (or the decompression limit, for compressed data).
/// </summary>
public class PayloadFuzzTests
{
    private const int MutationsPerFormat = 2500;
    private static readonly PayloadReadOptions Limited = new() { MaxDecompressedBytes = 1 << 20 };

    private static byte[][] Seeds(params string[] names) => names.Select(n => File.ReadAllBytes(DataFixtures.PathOf(n))).ToArray();

    private static byte[][] NpySeeds() => Seeds(DataFixtures.Section("arrays").EnumerateObject().Select(p => p.Name).ToArray());

    private static byte[][] NiftiSeeds() => Seeds(DataFixtures.Section("nifti").EnumerateObject().Select(p => p.Name).ToArray());

    private static byte[][] NpzSeeds() => Seeds("stored.npz", "deflated.npz", "single.npz");

    /// <summary>One mutation of <paramref name="src"/>; <paramref name="headerSize"/> bytes are the header most edits aim at.</summary>
    private static byte[] Mutate(byte[] src, Rng rng, int headerSize, Func<byte[], Rng, byte[]>? fieldEdit)
    {
        var b = (byte[])src.Clone();
        switch (rng.NextInt(6))
        {
            case 0: // bit flips anywhere
            case 1: // bit flips in the header
                {
                    int flips = 1 + rng.NextInt(8);
                    int span = rng.NextInt(2) == 0 ? b.Length : Math.Min(headerSize, b.Length);
                    for (int i = 0; i < flips; i++) b[rng.NextInt(span)] ^= (byte)(1 << rng.NextInt(8));
                    return b;
                }
            case 2: // truncation
                return b.AsSpan(0, rng.NextInt(b.Length)).ToArray();
            case 3: // header field edits
                return fieldEdit is null ? b : fieldEdit(b, rng);
            case 4: // random bytes overwrite a run
                {
                    int start = rng.NextInt(b.Length), len = 1 + rng.NextInt(16);
                    for (int i = start; i < Math.Min(b.Length, start + len); i++) b[i] = (byte)rng.NextInt(256);
                    return b;
                }
            default: // appended junk
                {
                    var extra = new byte[1 + rng.NextInt(64)];
                    for (int i = 0; i < extra.Length; i++) extra[i] = (byte)rng.NextInt(256);
                    return b.Concat(extra).ToArray();
                }
        }
    }

    private static byte[] EditNpyHeader(byte[] b, Rng rng)
    {
        // Replace one run of digits or one character of the header dict.
        int start = b.Length > 10 ? 10 : 0, end = Math.Min(b.Length, 128);
        var text = Encoding.Latin1.GetString(b, start, end - start);
        string[] replacements = { "2147483647", "4294967296", "99999999999999999999", "-1", "0", "(", ")", ",", "'", "True", "'<f16'", "'|O'", "{", "}", " ", "\\" };
        int pos = rng.NextInt(Math.Max(1, text.Length));
        int len = 1;
        while (pos + len < text.Length && char.IsDigit(text[pos]) && char.IsDigit(text[pos + len])) len++;
        string edited = text[..pos] + replacements[rng.NextInt(replacements.Length)] + text[Math.Min(text.Length, pos + len)..];
        var head = Encoding.Latin1.GetBytes(edited);
        var result = b.Take(start).Concat(head).Concat(b.Skip(end)).ToArray();
        if (rng.NextInt(2) == 0 && result.Length > 10) // keep the header length consistent sometimes
            BinaryPrimitives.WriteUInt16LittleEndian(result.AsSpan(8), (ushort)Math.Max(0, head.Length + (b.Length > 128 ? 128 - end : 0)));
        return result;
    }

    private static byte[] EditNiftiHeader(byte[] src, Rng rng)
    {
        bool gz = src.Length > 2 && src[0] == 0x1F && src[1] == 0x8B;
        var b = gz ? Gunzip(src) : (byte[])src.Clone();
        if (b.Length < 348) return b;
        bool big = BinaryPrimitives.ReadInt32LittleEndian(b) != 348;
        int[] shortFields = { 40, 42, 44, 46, 48, 50, 52, 54, 70, 72 };
        int[] floatFields = { 108, 112, 116, 80, 84 };
        short[] shorts = { 0, -1, 1, 7, 8, short.MaxValue, short.MinValue, 2, 4, 16, 64, 1024, 3 };
        float[] floats = { 0, -1, float.NaN, float.PositiveInfinity, 1e30f, 352.5f, 348, 352, 4e9f, 1 };
        if (rng.NextInt(2) == 0)
        {
            int off = shortFields[rng.NextInt(shortFields.Length)];
            short v = shorts[rng.NextInt(shorts.Length)];
            if (big) BinaryPrimitives.WriteInt16BigEndian(b.AsSpan(off), v); else BinaryPrimitives.WriteInt16LittleEndian(b.AsSpan(off), v);
        }
        else
        {
            int off = floatFields[rng.NextInt(floatFields.Length)];
            float v = floats[rng.NextInt(floats.Length)];
            if (big) BinaryPrimitives.WriteSingleBigEndian(b.AsSpan(off), v); else BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(off), v);
        }
        return gz ? Gzip(b) : b;
    }

    private static byte[] EditZipFields(byte[] src, Rng rng)
    {
        var b = (byte[])src.Clone();
        // Local file headers (PK\3\4) and central directory entries (PK\1\2): corrupt sizes, method, name length, offsets.
        var sigs = new List<(int Pos, bool Central)>();
        for (int i = 0; i + 4 <= b.Length; i++)
        {
            if (b[i] == 'P' && b[i + 1] == 'K' && b[i + 2] == 3 && b[i + 3] == 4) sigs.Add((i, false));
            if (b[i] == 'P' && b[i + 1] == 'K' && b[i + 2] == 1 && b[i + 3] == 2) sigs.Add((i, true));
        }
        if (sigs.Count == 0) return b;
        var (pos, central) = sigs[rng.NextInt(sigs.Count)];
        int[] fields = central ? new[] { 10, 20, 24, 28, 30, 42 } : new[] { 8, 18, 22, 26, 28 };
        int f = pos + fields[rng.NextInt(fields.Length)];
        uint[] values = { 0, 1, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF, 12345678, 8, 99 };
        uint v = values[rng.NextInt(values.Length)];
        if (f + 4 <= b.Length) BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(f), v);
        return b;
    }

    private static byte[] Gunzip(byte[] b)
    {
        using var gz = new GZipStream(new MemoryStream(b), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        gz.CopyTo(ms);
        return ms.ToArray();
    }

    private static byte[] Gzip(byte[] b)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(b);
        return ms.ToArray();
    }

    private static void Fuzz(string format, byte[][] seeds, int headerSize, Func<byte[], Rng, byte[]>? fieldEdit, Action<byte[]> read, Func<byte[], long> allocationBound, int mutations = MutationsPerFormat, ulong salt = 0)
    {
        var failures = new List<string>();
        int typed = 0, accepted = 0;
        var task = Task.Run(() =>
        {
            var rng = new Rng(20241101UL + (ulong)format.Length + salt);
            for (int i = 0; i < mutations; i++)
            {
                var seed = seeds[i % seeds.Length];
                var bytes = Mutate(seed, rng, headerSize, fieldEdit);
                long before = GC.GetAllocatedBytesForCurrentThread();
                try { read(bytes); accepted++; }
                catch (PayloadFormatException) { typed++; }
                catch (Exception e) { failures.Add($"mutation {i} ({bytes.Length} bytes): {e.GetType().Name}: {e.Message}"); }
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                if (allocated > allocationBound(bytes)) failures.Add($"mutation {i} ({bytes.Length} bytes) allocated {allocated} bytes, bound {allocationBound(bytes)}");
            }
        });
        task.Wait(TimeSpan.FromSeconds(60)).Should().BeTrue($"the {format} fuzz loop must not hang");
        failures.Should().BeEmpty($"{format}: only PayloadFormatException may escape a reader");
        typed.Should().BeGreaterThan(mutations / 4, "most mutations must be detected");
    }

    // At the default limits (1 GiB decompressed), with seeds that deflate ~1000:1 added: header edits then claim
    // volumes a small file cannot hold, and every read must stay within PayloadReadOptions.AllocationBudget.
    private const int DefaultLimitMutations = 600;

    [Fact]
    public void Npy_reader_stays_within_the_budget_at_the_default_limits() =>
        Fuzz("npy-default", NpySeeds(), 128, EditNpyHeader, b => Npy.Read(b, "fuzz.npy"),
            b => PayloadReadOptions.Default.AllocationBudget(b.Length, compressed: false), DefaultLimitMutations, 1);

    [Fact]
    public void Nifti_reader_stays_within_the_budget_at_the_default_limits() =>
        Fuzz("nifti-default", NiftiSeeds().Append(FormatBudgetTests.SmallNiftiGzBomb()).ToArray(), 352, EditNiftiHeader, b => Nifti.Read(b, "fuzz.nii"),
            b => PayloadReadOptions.Default.AllocationBudget(b.Length, compressed: true), DefaultLimitMutations, 2);

    [Fact]
    public void Npz_reader_stays_within_the_budget_at_the_default_limits() =>
        Fuzz("npz-default", NpzSeeds().Concat(FormatBudgetTests.SmallNpzBombs()).ToArray(), 96, EditZipFields, b => Npz.Read(b, "fuzz.npz"),
            b => PayloadReadOptions.Default.AllocationBudget(b.Length, compressed: true), DefaultLimitMutations, 3);

    [Fact]
    public void Npy_reader_survives_mutations() =>
        Fuzz("npy", NpySeeds(), 128, EditNpyHeader, b => Npy.Read(b, "fuzz.npy"), b => 8L * b.Length + 64 * 1024);

    [Fact]
    public void Nifti_reader_survives_mutations() =>
        Fuzz("nifti", NiftiSeeds(), 352, EditNiftiHeader, b => Nifti.Read(b, "fuzz.nii", Limited), b => 8L * b.Length + 4L * Limited.MaxDecompressedBytes + 256 * 1024);

    [Fact]
    public void Npz_reader_survives_mutations() =>
        Fuzz("npz", NpzSeeds(), 96, EditZipFields, b => Npz.Read(b, "fuzz.npz", Limited), b => 8L * b.Length + 8L * Limited.MaxDecompressedBytes + 512 * 1024);

    [Fact]
    public void Headers_claiming_huge_arrays_do_not_allocate_them()
    {
        // NPY: a tiny file whose header claims 2^31-1 × 2^31-1 floats.
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2147483647, 2147483647), }\n";
        var npy = new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }
            .Concat(BitConverter.GetBytes((ushort)header.Length)).Concat(Encoding.ASCII.GetBytes(header)).Concat(new byte[16]).ToArray();
        FluentActions.Invoking(() => Npy.Read(npy, "huge.npy")).Should().Throw<PayloadFormatException>().WithMessage("*huge.npy at byte*needs more data*");
        AllocatedByFailingRead(() => Npy.Read(npy, "huge.npy")).Should().BeLessThan(64 * 1024);

        // NIfTI: a valid header claiming 32767³ voxels over 8 bytes of data.
        var nii = Nifti.ToBytes(Tensor.Zeros(2, 1, 1));
        BinaryPrimitives.WriteInt16LittleEndian(nii.AsSpan(40), 3);
        for (int i = 0; i < 3; i++) BinaryPrimitives.WriteInt16LittleEndian(nii.AsSpan(42 + 2 * i), short.MaxValue);
        FluentActions.Invoking(() => Nifti.Read(nii, "huge.nii")).Should().Throw<PayloadFormatException>().Where(e => e.Offset == 352);
        AllocatedByFailingRead(() => Nifti.Read(nii, "huge.nii")).Should().BeLessThan(64 * 1024);
    }

    [Fact]
    public void Decompression_bombs_stop_at_the_limit()
    {
        // 8 MiB of zeros behind a valid NIfTI header compresses to a few KiB; the 1 MiB limit stops it early.
        var nii = Nifti.ToBytes(Tensor.Zeros(128, 128, 128));
        var gz = Gzip(nii);
        FluentActions.Invoking(() => Nifti.Read(gz, "bomb.nii.gz", Limited)).Should().Throw<PayloadFormatException>().WithMessage("*exceeds the 1048576-byte limit*");
        AllocatedByFailingRead(() => Nifti.Read(gz, "bomb.nii.gz", Limited)).Should().BeLessThan(8L << 20);

        using var tmp = new TempFolder();
        Npz.Write(tmp.File("bomb.npz"), new Dictionary<string, Tensor> { ["z"] = Tensor.Zeros(1024, 1024) });
        var zip = File.ReadAllBytes(tmp.File("bomb.npz"));
        FluentActions.Invoking(() => Npz.Read(zip, "bomb.npz", Limited)).Should().Throw<PayloadFormatException>().WithMessage("*bomb.npz*");
        AllocatedByFailingRead(() => Npz.Read(zip, "bomb.npz", Limited)).Should().BeLessThan(8L << 20);
    }

    /// <summary>Bytes allocated by a read that throws <see cref="PayloadFormatException"/> (measured on a second, warm call).</summary>
    private static long AllocatedByFailingRead(Action read)
    {
        long result = 0;
        for (int i = 0; i < 2; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try { read(); }
            catch (PayloadFormatException) { }
            result = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        return result;
    }
}
