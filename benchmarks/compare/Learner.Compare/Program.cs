using System.Globalization;
using System.Text.Json;
using Learner.Compare;

// Usage:
//   Learner.Compare list
//   Learner.Compare run <name-or-pattern...> [--json] [--warmup N] [--iterations N] [--min-seconds S] [--libtorch-threads T]
// Patterns may use '*', e.g. 'gemm/*'; a name ending in "@libtorch" is the same workload in libtorch 2.10 through
// TorchSharp, in this process (LibtorchWorkloads). With --json, stdout carries only the JSON document.
var registry = WorkloadRegistry.Discover();
if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine("Learner.Compare list | run <name-or-pattern...> [--json] [--warmup N] [--iterations N] [--min-seconds S] [--libtorch-threads T]");
    return 0;
}
try
{
    switch (args[0])
    {
        case "list":
            foreach (var w in registry.All) Console.WriteLine($"{w.Name}\t{w.Description}");
            return 0;
        case "run":
            return Run(args.Skip(1).ToArray());
        default:
            Console.Error.WriteLine($"Unknown command '{args[0]}'. Use 'list' or 'run'.");
            return 2;
    }
}
catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

int Run(string[] rest)
{
    bool json = false;
    var options = new TimingOptions();
    var names = new List<string>();
    for (int i = 0; i < rest.Length; i++)
    {
        string NextValue() => i + 1 < rest.Length ? rest[++i] : throw new ArgumentException($"Option {rest[i]} needs a value.");
        switch (rest[i])
        {
            case "--json": json = true; break;
            case "--warmup": options = options with { WarmupIterations = int.Parse(NextValue(), CultureInfo.InvariantCulture) }; break;
            case "--iterations": options = options with { MinIterations = int.Parse(NextValue(), CultureInfo.InvariantCulture) }; break;
            case "--min-seconds": options = options with { MinSeconds = double.Parse(NextValue(), CultureInfo.InvariantCulture) }; break;
            case "--libtorch-threads": Libtorch.Threads = int.Parse(NextValue(), CultureInfo.InvariantCulture); break;
            default:
                if (rest[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"Unknown option '{rest[i]}'.");
                names.Add(rest[i]);
                break;
        }
    }
    if (names.Count == 0) throw new ArgumentException("Name at least one workload (or a pattern such as 'gemm/*').");
    var results = new List<WorkloadTiming>();
    foreach (var workload in registry.Select(names))
    {
        var timing = WorkloadTimer.Measure(workload, options);
        results.Add(timing);
        if (!json) Console.WriteLine($"{timing.Name,-40} median {timing.MedianMs,10:F3} ms   min {timing.MinMs,10:F3} ms   ({timing.Iterations} runs)");
    }
    if (json)
    {
        var document = new
        {
            machine = new
            {
                cpu = Learner.Nn.Kernels.CpuInfo.Describe(),
                processors = Environment.ProcessorCount,
                runtime = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
                os = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
                avx512 = System.Runtime.Intrinsics.X86.Avx512F.IsSupported,
                avx2 = System.Runtime.Intrinsics.X86.Avx2.IsSupported,
                libtorch = Libtorch.Describe(),
            },
            results = results.Select(r => new { name = r.Name, median_ms = r.MedianMs, min_ms = r.MinMs, mean_ms = r.MeanMs, iterations = r.Iterations }),
        };
        Console.WriteLine(JsonSerializer.Serialize(document, new JsonSerializerOptions { WriteIndented = true }));
    }
    return 0;
}
