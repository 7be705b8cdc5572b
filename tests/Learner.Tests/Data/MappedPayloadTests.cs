using Learner.Data;
using Learner.Data.Formats;
using Learner.Nn;

namespace Learner.Tests.Data;

public class MappedPayloadTests
{
    private const int D0 = 16, D1 = 32, D2 = 40; // 80 KiB of float32: above MappedNpy.MinimumFileBytes

    /// <summary>Six scans of 3 patients whose payloads are NPY files: float32 clips (mapped), plus one float64 and one
    /// Fortran-order float32 file (decoded: they need a conversion).</summary>
    private static (LongitudinalDataset Data, string[] Files) Cohort(TempFolder dir, PayloadCache cache)
    {
        var rng = new Rng(3);
        var scans = new List<Scan>();
        var files = new string[6];
        for (int i = 0; i < 6; i++)
        {
            files[i] = dir.File($"clip{i}.npy");
            var clip = Tensor.Normal(rng, 0.5f, 2f, D0, D1, D2);
            if (i == 4) WriteFloat64(files[i], clip.ToArray(), [D0, D1, D2]);
            else if (i == 5) WriteFortran(files[i], clip.ToArray(), D0, D1, D2);
            else Npy.Write(files[i], clip);
            scans.Add(new Scan($"s{i}", $"p{i / 2}", i % 2, 10 + i, payload: new FilePayload(files[i])));
        }
        return (new LongitudinalDataset(scans, true).WithPayloadCache(cache), files);
    }

    private static void WriteFloat64(string path, float[] values, int[] shape)
    {
        using var s = File.Create(path);
        WriteHeader(s, "<f8", false, shape);
        foreach (float v in values) s.Write(BitConverter.GetBytes((double)v));
    }

    private static void WriteFortran(string path, float[] values, int d0, int d1, int d2)
    {
        using var s = File.Create(path);
        WriteHeader(s, "<f4", true, [d0, d1, d2]);
        for (int k = 0; k < d2; k++)
            for (int j = 0; j < d1; j++)
                for (int i = 0; i < d0; i++)
                    s.Write(BitConverter.GetBytes(values[(i * d1 + j) * d2 + k]));
    }

    private static void WriteHeader(Stream s, string descr, bool fortran, int[] shape)
    {
        string dict = $"{{'descr': '{descr}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': ({string.Join(", ", shape)}), }}";
        int pad = (64 - (10 + dict.Length + 1) % 64) % 64;
        var header = System.Text.Encoding.ASCII.GetBytes(dict + new string(' ', pad) + "\n");
        s.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        s.Write(BitConverter.GetBytes((ushort)header.Length));
        s.Write(header);
    }

    private static int[] Bits(Tensor t) => t.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();

    [Fact]
    public void Float32_files_are_read_through_a_map_with_the_bits_of_the_decoding_reader()
    {
        using var dir = new TempFolder();
        var (mapped, _) = Cohort(dir, new PayloadCache(1 << 20));
        var decoded = mapped.WithPayloadCache(new PayloadCache(0));
        int[] all = [0, 1, 2, 3, 4, 5];

        for (int round = 0; round < 2; round++)
            using (TensorScope.Begin())
                Bits(mapped.LoadBatch(all, 2, (x, copy) => Augment.Apply(x, new Rng(7).Fork((ulong)copy), new AugmentationOptions { NoiseStd = 0.1f })))
                    .Should().Equal(Bits(decoded.LoadBatch(all, 2, (x, copy) => Augment.Apply(x, new Rng(7).Fork((ulong)copy), new AugmentationOptions { NoiseStd = 0.1f }))));

        var stats = mapped.PayloadCache.Statistics;
        stats.MappedPayloads.Should().Be(4, "the four float32 C-order files are mapped; float64 and Fortran order need a conversion");
        stats.Decodes.Should().Be(6, "each file is read once");
        stats.CachedPayloads.Should().Be(6);
        long page = Environment.SystemPageSize, values = D0 * D1 * D2 * sizeof(float);
        long mappedBytes = (new FileInfo(dir.File("clip0.npy")).Length + page - 1) / page * page;
        stats.CachedBytes.Should().Be(4 * mappedBytes + 2 * values, "a mapping counts whole pages, a decoded payload its values");
    }

    [Fact]
    public void Files_under_the_mapping_threshold_are_decoded()
    {
        using var dir = new TempFolder();
        string file = dir.File("small.npy");
        Npy.Write(file, Tensor.Full(1.5f, 4, 100)); // 1.6 KB
        var data = new LongitudinalDataset([new Scan("a", "p", 0, 1, payload: new FilePayload(file))], true).WithPayloadCache(new PayloadCache(1 << 20));
        using (TensorScope.Begin()) data.LoadBatch([0]).ToArray().Should().OnlyContain(v => v == 1.5f);
        data.PayloadCache.Statistics.MappedPayloads.Should().Be(0, "a small file would cost a mapping and a page for little data");
        data.PayloadCache.CachedBytes.Should().Be(400 * sizeof(float));
    }

    [Fact]
    public void A_mapped_file_truncated_during_the_run_is_refused_by_name()
    {
        using var dir = new TempFolder();
        var (data, files) = Cohort(dir, new PayloadCache(1 << 20));
        using (TensorScope.Begin()) data.LoadBatch([0, 1]);

        using (var s = new FileStream(files[1], FileMode.Open, FileAccess.Write)) s.SetLength(s.Length - 40);

        var act = () => { using (TensorScope.Begin()) data.LoadBatch([0, 1]); };
        act.Should().Throw<PayloadFormatException>().Which.Source.Should().Be(files[1]);
    }

    [Fact]
    public void A_mapped_file_rewritten_during_the_run_is_refused_by_name()
    {
        using var dir = new TempFolder();
        var (data, files) = Cohort(dir, new PayloadCache(1 << 20));
        using (TensorScope.Begin()) data.LoadBatch([0]);
        var written = File.GetLastWriteTimeUtc(files[0]);

        using (var s = new FileStream(files[0], FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            s.Seek(-16, SeekOrigin.End);
            s.Write(new byte[16]); // same length, other values
        }
        File.SetLastWriteTimeUtc(files[0], written.AddSeconds(1));

        var act = () => { using (TensorScope.Begin()) data.LoadBatch([0]); };
        act.Should().Throw<PayloadFormatException>().WithMessage("*rewritten*").Which.Source.Should().Be(files[0]);
    }

    [Fact]
    public void A_mapped_file_holds_no_open_file_and_Clear_unmaps_it()
    {
        if (!OperatingSystem.IsLinux()) return; // open files and mappings are listed in /proc/self
        using var dir = new TempFolder();
        var (data, files) = Cohort(dir, new PayloadCache(1 << 20));
        using (TensorScope.Begin()) data.LoadBatch([0, 1, 2]);
        data.PayloadCache.Statistics.MappedPayloads.Should().Be(3);
        OpenFiles().Should().NotContain(files.Take(3), "the descriptor is closed once the view exists");
        Mappings().Should().Contain(files.Take(3));

        data.PayloadCache.Clear();

        Mappings().Should().NotContain(files.Take(3));
        data.PayloadCache.CachedBytes.Should().Be(0);
    }

    [Fact]
    public void A_collected_cache_unmaps_its_files()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var dir = new TempFolder();
        string[] files = MapThreeAndDrop(dir);
        for (int i = 0; i < 3 && Mappings().Intersect(files).Any(); i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Mappings().Should().NotContain(files, "a map collected without Clear is unmapped by its finalizer");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static string[] MapThreeAndDrop(TempFolder dir)
    {
        var (data, files) = Cohort(dir, new PayloadCache(1 << 20, new PayloadBudget(1 << 20)));
        using (TensorScope.Begin()) data.LoadBatch([0, 1, 2]);
        Mappings().Should().Contain(files.Take(3));
        return files.Take(3).ToArray();
    }

    [Fact]
    public void A_map_dropped_for_a_normalised_view_stays_mapped_until_Clear()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var dir = new TempFolder();
        var (data, files) = Cohort(dir, new PayloadCache(1 << 22));
        using (TensorScope.Begin()) data.LoadBatch([0]);
        float[] normalised;
        using (TensorScope.Begin()) normalised = ScanNormalization.Default.Apply(data).LoadBatch([0]).ToArray();

        normalised.Should().NotBeEmpty();
        data.PayloadCache.Statistics.Hits.Should().Be(1, "the normalised view took the mapped values");
        Mappings().Should().Contain(files[0], "another thread may still be copying from it: not unmapped on removal");
        data.PayloadCache.Clear();
        Mappings().Should().NotContain(files[0]);
    }

    private static List<string> OpenFiles()
    {
        var open = new List<string>();
        foreach (var fd in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
            try { if (new FileInfo(fd).LinkTarget is { } target) open.Add(target); } catch (IOException) { }
        return open;
    }

    private static List<string> Mappings() =>
        File.ReadAllLines("/proc/self/maps").Select(line => line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length == 6).Select(f => f[5].Trim()).ToList();

    [Fact]
    public void A_non_finite_value_in_a_mapped_file_names_the_scan_and_the_file()
    {
        using var dir = new TempFolder();
        string file = dir.File("bad.npy");
        var values = new float[20_000]; // 80 KB: mapped
        values[7] = float.NaN;
        Npy.Write(file, new Tensor(values, 4, 5000));
        var data = new LongitudinalDataset([new Scan("bad", "p", 0, 1, payload: new FilePayload(file))], true).WithPayloadCache(new PayloadCache(1 << 20));

        var act = () => { using (TensorScope.Begin()) data.LoadBatch([0]); };
        var e = act.Should().Throw<NonFinitePayloadException>().Which;
        e.ScanId.Should().Be("bad");
        e.PayloadSource.Should().Be(file);
        e.ElementIndex.Should().Be(7);
        data.PayloadCache.Count.Should().Be(0, "a refused file is not kept mapped");
    }

    [Fact]
    public void In_memory_payloads_are_checked_for_finiteness_once()
    {
        var payload = new TensorPayload(new Tensor([1f, 2f, 3f], 3));
        var data = new LongitudinalDataset([new Scan("a", "p", 0, 1, payload: payload)], true);
        using (TensorScope.Begin()) data.LoadBatch([0]);

        // Values cannot change after construction; writing one behind the payload's back shows they are not scanned again.
        System.Runtime.InteropServices.MemoryMarshal.GetReference(payload.Values) = float.NaN;

        using (TensorScope.Begin()) float.IsNaN(data.LoadBatch([0]).ToArray()[0]).Should().BeTrue();
        var fresh = new LongitudinalDataset([new Scan("b", "q", 0, 1, payload: new TensorPayload(new Tensor([float.NaN], 1)))], true);
        var act = () => { using (TensorScope.Begin()) fresh.LoadBatch([0]); };
        act.Should().Throw<NonFinitePayloadException>().Which.ScanId.Should().Be("b");
    }

    [Fact]
    public void Caches_share_one_process_wide_budget()
    {
        var shared = new PayloadBudget(100);
        var first = new PayloadCache(1000, shared);
        var second = new PayloadCache(1000, shared);
        LongitudinalDataset Data(PayloadCache cache, string prefix) => new LongitudinalDataset(
            Enumerable.Range(0, 4).Select(i => new Scan($"{prefix}{i}", $"p{i}", 0, 1, payload: new DelegatePayload(() => new Tensor(new float[6], 6), "six zeros"))), true).WithPayloadCache(cache);

        using (TensorScope.Begin()) Data(first, "a").LoadBatch([0, 1, 2, 3]);
        using (TensorScope.Begin()) Data(second, "b").LoadBatch([0, 1, 2, 3]);

        first.Count.Should().Be(4, "96 bytes fit the shared 100");
        second.Count.Should().Be(0, "the shared budget is full although this cache's own is not");
        shared.HeldBytes.Should().Be(96);
        first.Clear();
        shared.HeldBytes.Should().Be(0);
        using (TensorScope.Begin()) Data(second, "c").LoadBatch([0, 1, 2, 3]);
        second.Count.Should().Be(4);
    }

    [Fact]
    public void The_preflight_check_reads_npz_and_nifti_headers_only_and_generated_payloads_through_the_cache()
    {
        using var dir = new TempFolder();
        var scans = Enumerable.Range(0, 4).Select(i =>
        {
            string file = dir.File(i % 2 == 0 ? $"v{i}.npz" : $"v{i}.nii.gz");
            PayloadFile.Write(file, Tensor.Full(i, 2, 3, 4));
            return new Scan($"s{i}", $"p{i}", 0, i, payload: new FilePayload(file));
        });
        var files = new LongitudinalDataset(scans, true).WithPayloadCache(new PayloadCache(1 << 20));

        var report = DatasetCheck.Run(files);
        report.IsValid.Should().BeTrue();
        report.PayloadShape.Should().Equal(2, 3, 4);
        files.PayloadCache.Statistics.Decodes.Should().Be(0, "the check reads headers only: a resumed run's preflight decodes nothing");

        int produced = 0;
        var generated = new LongitudinalDataset(Enumerable.Range(0, 3).Select(i => new Scan($"g{i}", $"q{i}", 0, i,
            payload: new DelegatePayload(() => { Interlocked.Increment(ref produced); return Tensor.Full(i, 2, 2); }, "generated"))), true)
            .WithPayloadCache(new PayloadCache(1 << 20));
        DatasetCheck.Run(generated).IsValid.Should().BeTrue();
        float[] values;
        using (TensorScope.Begin()) values = ScanNormalization.Default.Apply(generated).LoadBatch([0, 1, 2]).ToArray();

        produced.Should().Be(3, "the check's values are reused, and a normalised view takes them instead of generating them again");
        generated.PayloadCache.Count.Should().Be(3, "a raw entry makes room for its normalised view");
        values.Should().OnlyContain(v => v == 0f, "constant clips z-score to zeros");
    }

    [Theory]
    [InlineData("big.npz")]
    [InlineData("big.nii")]
    [InlineData("big.nii.gz")]
    public void Reading_a_shape_reads_the_header_bytes_not_the_file(string name)
    {
        using var dir = new TempFolder();
        string file = dir.File(name);
        PayloadFile.Write(file, Tensor.Normal(new Rng(1), 0f, 1f, 16, 128, 256)); // 2 MiB of noise: hardly compressible
        new FileInfo(file).Length.Should().BeGreaterThan(1 << 20);
        var options = new PayloadReadOptions();
        int[] Shape() => name.EndsWith(".npz", StringComparison.Ordinal) ? Npz.ReadShape(file, null, options) : Nifti.ReadShape(file, options);
        Shape().Should().Equal(16, 128, 256);

        long before = GC.GetAllocatedBytesForCurrentThread();
        Shape();
        (GC.GetAllocatedBytesForCurrentThread() - before).Should().BeLessThan(512 * 1024, "only the headers (and the zip directory's last 64 KiB) are read");
    }

    [Fact]
    public void A_corrupt_npz_member_header_is_found_by_the_header_only_check()
    {
        using var dir = new TempFolder();
        string file = dir.File("bad.npz");
        File.WriteAllBytes(file, [0x50, 0x4B, 0x03, 0x04, 1, 2, 3]);
        var data = new LongitudinalDataset([new Scan("bad", "p", 0, 1, payload: new FilePayload(file))], true);
        DatasetCheck.Run(data).Problems.Should().ContainSingle(p => p.Kind == DatasetProblemKind.UnreadablePayload && p.ScanId == "bad");
    }
}
