using System.Globalization;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Learner.Nn.Kernels;

/// <summary>
/// The processor the engine runs on, as read once at start-up: model name, family, the per-core data-cache sizes the
/// GEMM's blocking is derived from, and the widest vector instruction set in use. On Linux the caches come from
/// <c>/sys/devices/system/cpu/cpu0/cache/index*</c> and the model from <c>/proc/cpuinfo</c>; elsewhere, or when those
/// cannot be read, documented defaults are used (<see cref="CacheSource"/> says which).
/// </summary>
public static class CpuInfo
{
    /// <summary>L1 data cache assumed when it cannot be read (bytes).</summary>
    public const int DefaultL1DataBytes = 32 * 1024;

    /// <summary>L2 cache per core assumed when it cannot be read (bytes).</summary>
    public const int DefaultL2Bytes = 1024 * 1024;

    /// <summary>L3 share per core assumed when it cannot be read (bytes).</summary>
    public const int DefaultL3PerCoreBytes = 4 * 1024 * 1024;

    private static readonly Lazy<Snapshot> Current = new(Read);

    /// <summary>The processor's model name (e.g. "AMD EPYC 9R14"), or the architecture when it is not known.</summary>
    public static string ModelName => Current.Value.Model;

    /// <summary>The x86 family number ("cpu family" in <c>/proc/cpuinfo</c>: 25 for Zen 3/4, 26 for Zen 5, 6 for Intel
    /// cores), or null when not known.</summary>
    public static int? Family => Current.Value.Family;

    /// <summary>L1 data cache of one core, in bytes.</summary>
    public static int L1DataBytes => Current.Value.L1;

    /// <summary>L2 cache of one core (its share when several cores share it), in bytes.</summary>
    public static int L2Bytes => Current.Value.L2;

    /// <summary>The share of the last-level cache per core that shares it, in bytes.</summary>
    public static long L3PerCoreBytes => Current.Value.L3PerCore;

    /// <summary>Where the cache sizes came from: "sysfs" or "defaults".</summary>
    public static string CacheSource => Current.Value.Source;

    /// <summary>The widest vector width the kernels use: 512, 256, 128 (bits), or 0 for scalar code.</summary>
    public static int VectorBits =>
        Vector512.IsHardwareAccelerated ? 512 : Vector256.IsHardwareAccelerated ? 256 : Vector128.IsHardwareAccelerated ? 128 : 0;

    /// <summary>One line for benchmark tables: model name, family and model number, caches, vector width, the GEMM kernel with its tile and blocking, and logical processors.</summary>
    /// <returns>The description.</returns>
    public static string Describe()
    {
        var s = Current.Value;
        string family = s.Family is { } f ? f.ToString(CultureInfo.InvariantCulture) : "?";
        string modelNumber = s.ModelNumber is { } m ? m.ToString(CultureInfo.InvariantCulture) : "?";
        string isa = Avx512F.IsSupported ? "AVX-512" : Avx2.IsSupported ? "AVX2" : Avx.IsSupported ? "AVX" : Sse42.IsSupported ? "SSE4.2"
            : System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? "AdvSIMD" : "no SIMD instructions";
        return string.Create(CultureInfo.InvariantCulture,
            $"{s.Model}, family {family} model {modelNumber}; L1d {s.L1 / 1024} KiB, L2 {s.L2 / 1024} KiB, L3 {s.L3PerCore / 1024} KiB per core ({s.Source}); {isa}, {VectorBits}-bit vectors in use; GEMM kernel {GemmKernelChoice.Describe()}; {Environment.ProcessorCount} logical processors");
    }

    private sealed record Snapshot(string Model, int? Family, int? ModelNumber, int L1, int L2, long L3PerCore, string Source);

    private static Snapshot Read()
    {
        string model = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
        int? family = null, modelNumber = null;
        bool modelRead = false;
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                {
                    int colon = line.IndexOf(':');
                    if (colon < 0) continue;
                    string key = line[..colon].Trim(), value = line[(colon + 1)..].Trim();
                    if (key == "model name" && !modelRead) { model = value; modelRead = true; }
                    else if (key == "cpu family" && family is null && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int fam)) family = fam;
                    else if (key == "model" && modelNumber is null && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int mn)) modelNumber = mn;
                    if (line.Length == 0) break; // the first processor is enough
                }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }

        int l1 = 0, l2 = 0;
        long l3 = 0;
        try
        {
            const string root = "/sys/devices/system/cpu/cpu0/cache";
            if (Directory.Exists(root))
            {
                // The L1d is private to a core, so the CPUs sharing it are the core's hardware threads; a shared cache's
                // per-core share divides by cores (sharing CPUs / threads per core), not by logical CPUs.
                var caches = new List<(int Level, long Size, int Sharing)>();
                foreach (var dir in Directory.EnumerateDirectories(root, "index*"))
                {
                    string type = ReadText(Path.Combine(dir, "type"));
                    if (type == "Instruction") continue;
                    if (!int.TryParse(ReadText(Path.Combine(dir, "level")), NumberStyles.None, CultureInfo.InvariantCulture, out int level)) continue;
                    long size = ParseSize(ReadText(Path.Combine(dir, "size")));
                    if (size <= 0) continue;
                    caches.Add((level, size, Math.Max(1, CountCpus(ReadText(Path.Combine(dir, "shared_cpu_list"))))));
                }
                int threadsPerCore = caches.Where(c => c.Level == 1).Select(c => c.Sharing).DefaultIfEmpty(1).First();
                foreach (var (level, size, sharing) in caches)
                {
                    long perCore = PerCore(size, sharing, threadsPerCore);
                    if (level == 1) l1 = (int)Math.Min(size, int.MaxValue);
                    else if (level == 2) l2 = (int)Math.Min(perCore, int.MaxValue);
                    else if (level == 3) l3 = perCore;
                }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }

        bool read = l1 > 0 && l2 > 0;
        return new Snapshot(model, family, modelNumber,
            l1 > 0 ? l1 : DefaultL1DataBytes,
            l2 > 0 ? l2 : DefaultL2Bytes,
            l3 > 0 ? l3 : DefaultL3PerCoreBytes,
            read ? "sysfs" : "defaults");
    }

    /// <summary>A cache's share per core: its size over the cores that share it (<paramref name="sharingCpus"/> logical
    /// CPUs of <paramref name="threadsPerCore"/> hardware threads each).</summary>
    internal static long PerCore(long size, int sharingCpus, int threadsPerCore) =>
        size / Math.Max(1, sharingCpus / Math.Max(1, threadsPerCore));

    private static string ReadText(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : "";

    /// <summary>Parses a sysfs cache size ("48K", "2048K", "32M", "512").</summary>
    internal static long ParseSize(string text)
    {
        if (text.Length == 0) return 0;
        long scale = char.ToUpperInvariant(text[^1]) switch { 'K' => 1024, 'M' => 1024 * 1024, 'G' => 1024L * 1024 * 1024, _ => 1 };
        string digits = scale == 1 ? text : text[..^1];
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v * scale : 0;
    }

    /// <summary>Counts the CPUs of a sysfs list ("0", "0-1", "0-3,8-11").</summary>
    internal static int CountCpus(string list)
    {
        int count = 0;
        foreach (var part in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int dash = part.IndexOf('-');
            if (dash < 0) { count++; continue; }
            if (int.TryParse(part[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out int lo)
                && int.TryParse(part[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int hi) && hi >= lo)
                count += hi - lo + 1;
        }
        return count;
    }
}
