using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Learner.Data;
using Learner.Data.Formats;
using Learner.Nn;

namespace Learner.Tests.Data;

/// <summary>A fact that runs only on Linux (where <c>mkfifo</c> exists).</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    /// <summary>Skips the test elsewhere.</summary>
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "needs Linux (mkfifo)";
    }
}

/// <summary>
/// Total allocation of the payload readers at the <i>default</i> limits, measured with
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/>: decompression bombs, NPZ members that overlap or add up past the
/// limit, and non-regular files.
/// </summary>
public class FormatBudgetTests
{
    private static readonly PayloadReadOptions Defaults = PayloadReadOptions.Default;

    /// <summary>Runs <paramref name="read"/> twice (the first warms up) and returns the second call's allocation and failure.</summary>
    internal static (long Allocated, Exception? Error) Measure(Action read, bool warm = true)
    {
        long allocated = 0;
        Exception? error = null;
        for (int i = warm ? 0 : 1; i < 2; i++)
        {
            error = null;
            long before = GC.GetAllocatedBytesForCurrentThread();
            try { read(); }
            catch (Exception e) { error = e; }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        return (allocated, error);
    }

    /// <summary>A NIfTI-1 header (352 bytes, little-endian) of uint8 voxels of the given shape.</summary>
    private static byte[] NiftiUInt8Header(params int[] dims)
    {
        var h = Nifti.ToBytes(Tensor.Zeros(1), new NiftiWriteOptions { StoredType = ElementType.UInt8 }).AsSpan(0, 352).ToArray();
        BinaryPrimitives.WriteInt16LittleEndian(h.AsSpan(40), (short)dims.Length);
        for (int i = 0; i < 7; i++) BinaryPrimitives.WriteInt16LittleEndian(h.AsSpan(42 + 2 * i), (short)(i < dims.Length ? dims[i] : 1));
        return h;
    }

    /// <summary>Gzips <paramref name="head"/> followed by <paramref name="zeros"/> zero bytes, streamed (nothing of that size is allocated).</summary>
    private static byte[] GzipWithZeros(byte[] head, long zeros)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gz.Write(head);
            var block = new byte[1 << 20];
            for (long left = zeros; left > 0; left -= block.Length) gz.Write(block, 0, (int)Math.Min(block.Length, left));
        }
        return ms.ToArray();
    }

    private static byte[] NpyUInt8Header(long elements)
    {
        string dict = $"{{'descr': '|u1', 'fortran_order': False, 'shape': ({elements},), }}";
        int total = 10 + dict.Length + 1;
        dict += new string(' ', (64 - total % 64) % 64) + "\n";
        var h = new byte[10 + dict.Length];
        new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }.CopyTo(h, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(8), (ushort)dict.Length);
        Encoding.ASCII.GetBytes(dict).CopyTo(h, 10);
        return h;
    }

    /// <summary>An NPZ whose members are uint8 arrays of zeros, deflated, written through <see cref="ZipArchive"/> in chunks.</summary>
    private static byte[] NpzOfZeros(int members, long elements)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            var block = new byte[1 << 20];
            for (int m = 0; m < members; m++)
            {
                using var s = zip.CreateEntry($"m{m}.npy", CompressionLevel.SmallestSize).Open();
                s.Write(NpyUInt8Header(elements));
                for (long left = elements; left > 0; left -= block.Length) s.Write(block, 0, (int)Math.Min(block.Length, left));
            }
        }
        return ms.ToArray();
    }

    /// <summary>
    /// One deflated member and <paramref name="entries"/> central-directory entries that all point at it (different
    /// names): the archive is tiny, every entry inflates to the whole member.
    /// </summary>
    /// <summary>Small compressed seeds of the kind a bomb is made of (zeros that deflate ~1000:1), for fuzzing at the default limits.</summary>
    internal static byte[] SmallNiftiGzBomb() => GzipWithZeros(NiftiUInt8Header(128, 128, 128), 128 * 128 * 128);

    /// <summary>Two deflated members of 256 Ki uint8 zeros, and 24 directory entries sharing one member of 1 Mi.</summary>
    internal static byte[][] SmallNpzBombs() => [NpzOfZeros(2, 256 * 1024), OverlappingNpz(24, 1 << 20)];

    internal static byte[] OverlappingNpz(int entries, long elements)
    {
        var one = NpzOfZeros(1, elements);
        // Split the single-member archive into its local part and its one central entry, then repeat the entry.
        int eocd = one.Length - 22;
        int cdOffset = BinaryPrimitives.ReadInt32LittleEndian(one.AsSpan(eocd + 16));
        var local = one.AsSpan(0, cdOffset).ToArray();
        var central = one.AsSpan(cdOffset, eocd - cdOffset).ToArray();
        int nameLen = BinaryPrimitives.ReadUInt16LittleEndian(central.AsSpan(28));
        using var ms = new MemoryStream();
        ms.Write(local);
        for (int i = 0; i < entries; i++)
        {
            var c = (byte[])central.Clone();
            // Rename (same length): m0.npy -> a digit pair keeps names distinct.
            var name = Encoding.ASCII.GetBytes($"{(char)('a' + i % 26)}{(char)('a' + i / 26)}.npy".PadRight(nameLen, 'x')[..nameLen]);
            name.CopyTo(c, 46);
            ms.Write(c);
        }
        var end = one.AsSpan(eocd, 22).ToArray();
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(8), (ushort)entries);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(10), (ushort)entries);
        BinaryPrimitives.WriteInt32LittleEndian(end.AsSpan(12), central.Length * entries);
        ms.Write(end);
        return ms.ToArray();
    }

    [Fact]
    public void A_nii_gz_bomb_within_the_default_limit_allocates_its_float_result_and_scratch_only()
    {
        // 256 M uint8 voxels of zeros: 256 MiB inflated from ~260 KB; the float32 result is exactly the 1 GiB limit.
        var gz = GzipWithZeros(NiftiUInt8Header(1024, 512, 512), 1024L * 512 * 512);
        long voxels = 1024L * 512 * 512;
        var (allocated, error) = Measure(() => Nifti.Read(gz, "bomb.nii.gz"), warm: false);
        error.Should().BeNull();
        allocated.Should().BeLessThanOrEqualTo(4 * voxels + (16L << 20) + PayloadReadOptions.ScratchBytes, $"a {gz.Length}-byte file decodes to {4 * voxels} bytes of float32 (plus a 16 MiB reorder slab)");
        allocated.Should().BeLessThanOrEqualTo(Defaults.AllocationBudget(gz.Length, compressed: true));
    }

    [Fact]
    public void A_nii_gz_header_implying_a_float_result_beyond_the_limit_is_refused_before_inflating()
    {
        // 2^30 uint8 voxels would be 4 GiB of float32; only 1 MiB of data follows.
        var gz = GzipWithZeros(NiftiUInt8Header(1024, 1024, 1024), 1 << 20);
        var (allocated, error) = Measure(() => Nifti.Read(gz, "huge.nii.gz"));
        error.Should().BeOfType<PayloadFormatException>().Which.Message.Should().Contain("huge.nii.gz").And.Contain("(1024, 1024, 1024)").And.Contain("exceeds the 1073741824-byte limit");
        allocated.Should().BeLessThan(PayloadReadOptions.ScratchBytes);
    }

    [Fact]
    public void A_nii_gz_header_implying_more_than_its_compressed_bytes_can_hold_is_refused_before_inflating()
    {
        // 512·512·256 uint8 (1 GiB of float32 would be allowed) over 4 KiB of zeros: no deflate stream that short inflates to 64 MiB.
        var gz = GzipWithZeros(NiftiUInt8Header(512, 512, 256), 4096);
        var (allocated, error) = Measure(() => Nifti.Read(gz, "short.nii.gz"));
        error.Should().BeOfType<PayloadFormatException>().Which.Message.Should().Contain("short.nii.gz").And.Contain("(512, 512, 256)").And.Contain("compressed bytes can inflate to");
        allocated.Should().BeLessThan(PayloadReadOptions.ScratchBytes);
    }

    [Fact]
    public void A_truncated_nii_gz_is_a_typed_error_within_the_budget()
    {
        // Random (incompressible) data, half of what the header claims.
        var rng = new Rng(7);
        var head = NiftiUInt8Header(128, 128, 64);
        var data = new byte[128 * 128 * 32];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)rng.NextInt(256);
        using var ms = new MemoryStream();
        using (var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) { z.Write(head); z.Write(data); }
        var gz = ms.ToArray();
        var (allocated, error) = Measure(() => Nifti.Read(gz, "cut.nii.gz"));
        error.Should().BeOfType<PayloadFormatException>().Which.Message.Should().Contain("cut.nii.gz").And.Contain("truncated");
        allocated.Should().BeLessThanOrEqualTo(4L * 128 * 128 * 64 * 5 / 4 + PayloadReadOptions.ScratchBytes);
    }

    [Fact]
    public void An_npz_whose_directory_entries_share_one_member_is_refused_before_inflating()
    {
        var npz = OverlappingNpz(24, 16L << 20);
        npz.Length.Should().BeLessThan(64 * 1024);
        var (allocated, error) = Measure(() => Npz.Read(npz, "overlap.npz"));
        error.Should().BeOfType<PayloadFormatException>().Which.Message.Should().Contain("overlap.npz").And.Contain("overlap").And.Contain("share data");
        allocated.Should().BeLessThan(PayloadReadOptions.ScratchBytes);
        // Naming one of the entries is refused too: the archive as a whole is malformed.
        Measure(() => Npz.ReadArray(npz, "overlap.npz", "ab")).Error.Should().BeOfType<PayloadFormatException>().Which.Message.Should().Contain("share data");
    }

    [Fact]
    public void Npz_members_whose_float_results_add_up_past_the_limit_are_refused_before_inflating_their_data()
    {
        // Five distinct members of 64 Mi uint8 zeros: 256 MiB of float32 each, 1.25 GiB together.
        var npz = NpzOfZeros(5, 64L << 20);
        var (allocated, error) = Measure(() => Npz.Read(npz, "sum.npz"));
        error.Should().BeOfType<PayloadFormatException>().Which.Message.Should().Contain("sum.npz[m4.npy]").And.Contain("after 1073741824 already").And.Contain("exceeds the 1073741824-byte limit");
        allocated.Should().BeLessThan(PayloadReadOptions.ScratchBytes);
        // One member alone is within the limit and decodes into its result plus scratch.
        var (one, oneError) = Measure(() => Npz.ReadArray(npz, "sum.npz", "m2"));
        oneError.Should().BeNull();
        one.Should().BeLessThanOrEqualTo(4L * (64L << 20) + PayloadReadOptions.ScratchBytes);
    }

    [Fact]
    public void Fortran_order_data_is_reordered_without_a_second_copy()
    {
        // Uncompressed Fortran-order float32 (64·64·64): the read allocates the result, not result + reordered copy.
        using var tmp = new TempFolder();
        var values = Enumerable.Range(0, 64 * 64 * 64).Select(i => (float)i).ToArray();
        string dict = "{'descr': '<f4', 'fortran_order': True, 'shape': (64, 64, 64), }";
        dict += new string(' ', (64 - (10 + dict.Length + 1) % 64) % 64) + "\n";
        var bytes = new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }
            .Concat(BitConverter.GetBytes((ushort)dict.Length)).Concat(Encoding.ASCII.GetBytes(dict))
            .Concat(values.SelectMany(BitConverter.GetBytes)).ToArray();
        Tensor? t = null;
        var (allocated, error) = Measure(() => t = Npy.Read(bytes, "f.npy"));
        error.Should().BeNull();
        // The reorder slab holds 16 of the 64 planes: a quarter of the result, not a second copy.
        allocated.Should().BeLessThan(4L * values.Length * 5 / 4 + 64 * 1024);
        // Element [i, j, k] is Fortran element i + 64 j + 4096 k.
        t!.ToArray()[(3 * 64 + 5) * 64 + 7].Should().Be(3 + 64 * 5 + 4096 * 7);
    }

    [Fact]
    public void A_truncated_zero_dimensional_npy_reports_truncation()
    {
        // A 0-d float32 array needs 4 data bytes; keep one.
        using var ms = new MemoryStream();
        Npy.Write(ms, Tensor.Scalar(1.5f));
        var full = ms.ToArray();
        var cut = full.AsSpan(0, full.Length - 3).ToArray();
        FluentActions.Invoking(() => Npy.Read(cut, "scalar.npy")).Should().Throw<PayloadFormatException>()
            .Which.Message.Should().Contain("scalar.npy").And.Contain("shape ()").And.Contain("needs more data than the 1 bytes").And.NotContain("-3");
        Npy.Read(full, "scalar.npy").ToArray().Should().Equal(1.5f);
    }

    [Fact]
    public void A_directory_named_like_a_payload_is_a_typed_error_naming_it()
    {
        using var tmp = new TempFolder();
        foreach (var name in new[] { "d.npy", "d.npz", "d.nii", "d.nii.gz" })
        {
            string path = tmp.File(name);
            Directory.CreateDirectory(path);
            FluentActions.Invoking(() => PayloadFile.Read(path)).Should().Throw<PayloadFormatException>()
                .Which.Message.Should().Contain(path).And.Contain("is a directory");
        }
    }

    [LinuxFact]
    public void A_named_pipe_named_like_a_payload_is_refused_without_blocking()
    {
        using var tmp = new TempFolder();
        foreach (var name in new[] { "p.npy", "p.npz", "p.nii", "p.nii.gz" })
        {
            string path = tmp.File(name);
            using (var mk = Process.Start(new ProcessStartInfo("mkfifo", path) { UseShellExecute = false })!)
            {
                mk.WaitForExit(10_000).Should().BeTrue();
                mk.ExitCode.Should().Be(0);
            }
            Exception? error = null;
            var reader = Task.Run(() =>
            {
                try { PayloadFile.Read(path); }
                catch (Exception e) { error = e; }
            });
            if (!reader.Wait(TimeSpan.FromSeconds(10)))
            {
                // Unblock the stuck reader before failing, so the test run can end.
                using (new FileStream(path, FileMode.Open, FileAccess.Write)) { }
                reader.Wait(TimeSpan.FromSeconds(10));
                throw new Xunit.Sdk.XunitException($"reading the named pipe {path} blocked");
            }
            error.Should().BeOfType<PayloadFormatException>().Which.Message.Should().Contain(path).And.Contain("not a regular file");
        }
    }

    [LinuxFact]
    public void A_character_device_is_refused()
    {
        // /dev/zero would never end; reached through a payload-like name via a symbolic link.
        using var tmp = new TempFolder();
        string path = tmp.File("zero.npy");
        File.CreateSymbolicLink(path, "/dev/zero");
        FluentActions.Invoking(() => Npy.Read(path)).Should().Throw<PayloadFormatException>()
            .Which.Message.Should().Contain(path).And.Contain("not a regular file");
    }
}
