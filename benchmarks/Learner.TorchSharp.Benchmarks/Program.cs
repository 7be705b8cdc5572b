using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Learner.Encoders;
using Learner.TorchSharp.Benchmarks;

// The managed engine against TorchSharp (CPU, and CUDA when present), in the same process: one pretraining step of the
// small TSM ResNet, the objectives' value and gradient, and embedding clips with the same encoder.
//   --quick [steps] [--require-cuda] [--width W] [--resnet18] [--step-only] [--backends B,...]
//                                      time each backend with a stopwatch (medians) and print the ratios; with
//                                      --require-cuda, exit 3 when TorchSharp finds no CUDA device; --width W scales the
//                                      encoder's widths (8: ResNet-18's 64-128-256-512); --resnet18 builds the paper's
//                                      backbone (EncoderOptions.Preset "resnet18": those widths behind the ImageNet
//                                      stem); --step-only skips the objectives
//                                      and the embedding pass; --backends times only the backends named (e.g.
//                                      managed, to time it in a process where libtorch has run nothing);
//                                      --libtorch-threads T sets libtorch's intra-op threads (default: every core)
//   anything else                      BenchmarkDotNet (in-process)
// Objective calls are warmed up until .NET has promoted their kernels to optimised code (see Time below).
const int ObjectiveWarmupCalls = 60;
const double ObjectiveWarmupSeconds = 1.0;
// Steps and embedding passes: their warm-up calls and at least this long of them.
const double WarmupSeconds = 2.0;

// Before libtorch loads: its OpenMP threads sleep when idle unless OMP_WAIT_POLICY says otherwise (docs/torchsharp.md).
Console.WriteLine($"OMP_WAIT_POLICY: {Learner.TorchSharp.LibTorchThreads.UsePassiveWaitUnlessSet()}");
try
{
    using var probe = TorchSharp.torch.ones(1);
}
catch (Exception e)
{
    Console.Error.WriteLine($"TorchSharp's native library could not be loaded ({e.GetType().Name}: {e.Message}); this benchmark runs only where it loads (docs/torchsharp.md).");
    return 2;
}

// Both engines get every core: libtorch's intra-op pool is set to the processor count (some builds start with 1).
TorchSharp.torch.set_num_threads(Environment.ProcessorCount);

if (args.Length > 0 && args[0] == "--quick")
{
    bool requireCuda = args.Contains("--require-cuda");
    bool stepOnly = args.Contains("--step-only");
    int widthAt = Array.IndexOf(args, "--width");
    int backendsAt = Array.IndexOf(args, "--backends");
    int threadsAt = Array.IndexOf(args, "--libtorch-threads");
    if (threadsAt > 0)
    {
        if (threadsAt + 1 >= args.Length || !int.TryParse(args[threadsAt + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int threads) || threads < 1)
            throw new ArgumentException("--libtorch-threads takes a positive thread count, e.g. --libtorch-threads 1.");
        TorchSharp.torch.set_num_threads(threads);
    }
    string[]? only = backendsAt > 0 && backendsAt + 1 < args.Length ? args[backendsAt + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null;
    if (backendsAt > 0 && only is null) throw new ArgumentException("--backends takes a comma-separated list, e.g. --backends managed.");
    if (widthAt > 0)
    {
        if (widthAt + 1 >= args.Length || !double.TryParse(args[widthAt + 1], NumberStyles.Float, CultureInfo.InvariantCulture, out double width) || !(width > 0))
            throw new ArgumentException("--width takes a positive width multiplier, e.g. --width 8 for ResNet-18's widths.");
        StepWorkload.Encoder = StepWorkload.Encoder with { WidthMultiplier = width };
    }
    // The step count: what is left after the flags and --width's value (args[widthAt + 1] is index widthAt after Skip(1)).
    bool resnet18 = args.Contains("--resnet18");
    if (resnet18) StepWorkload.Encoder = StepWorkload.Encoder with { Preset = "resnet18" };
    var numbers = args.Skip(1).Where((a, i) => a is not ("--require-cuda" or "--step-only" or "--width" or "--resnet18" or "--backends" or "--libtorch-threads")
        && !(widthAt > 0 && i == widthAt) && !(backendsAt > 0 && i == backendsAt) && !(threadsAt > 0 && i == threadsAt)).ToArray();
    int steps = numbers.Length > 0 ? int.Parse(numbers[0], CultureInfo.InvariantCulture) : 20;
    if (steps < 1) throw new ArgumentOutOfRangeException(nameof(args), "--quick takes a positive number of steps.");
    var backends = StepWorkload.Backends().ToList();
    if (only is not null)
    {
        var unknown = only.Except(backends).ToArray();
        if (unknown.Length > 0) throw new ArgumentException($"--backends: {string.Join(", ", unknown)} not among this machine's backends ({string.Join(", ", backends)}).");
        backends = backends.Where(only.Contains).ToList();
    }
    Console.WriteLine($"backends: {string.Join(", ", backends)}; CUDA devices: {(TorchSharp.torch.cuda.is_available() ? TorchSharp.torch.cuda.device_count() : 0)}");
    if (requireCuda && !backends.Contains("torchsharp-cuda"))
    {
        Console.Error.WriteLine("--require-cuda: TorchSharp finds no CUDA device (a CUDA runtime package, e.g. TorchSharp-cuda-linux, and an NVIDIA driver are needed).");
        return 3;
    }
    Console.WriteLine($"CPU: {Learner.Nn.Kernels.CpuInfo.Describe()}");
    Console.WriteLine($"threads: managed {Environment.ProcessorCount}, libtorch {TorchSharp.torch.get_num_threads()}");
    Console.WriteLine($"encoder: tsm-resnet, preset {StepWorkload.Encoder.Preset}, width multiplier {StepWorkload.Encoder.WidthMultiplier.ToString(CultureInfo.InvariantCulture)} ({string.Join("-", EncoderFactory.TsmResNetOptions(StepWorkload.Encoder).Widths)})");
    QuickStep(backends, steps);
    if (stepOnly) return 0;
    QuickObjectives(backends, Math.Max(10, steps));
    QuickEmbedding(backends, Math.Max(3, steps / 4));
    return 0;
}

// In-process (--inProcess), so every job (e.g. --job short) measures the TorchSharp assembly this process loaded.
var bdnArgs = args.Any(a => a is "--inProcess" or "-i") ? args : args.Append("--inProcess").ToArray();
BenchmarkSwitcher.FromAssembly(typeof(PretrainingStepBenchmarks).Assembly).Run(bdnArgs, DefaultConfig.Instance);
return 0;

// The median of `runs` timed calls after `warmup` untimed ones (and, with `warmupSeconds`, as many more as that long
// takes), with the minimum and maximum. The time matters for code called once per call, such as an objective's
// kernel: .NET first runs a method as unoptimised tier-0 code and recompiles it optimised only after 30 calls, in the
// background; three warm-up calls measured tier-0 code (y-aware at B = 256: 6–10 ms, against 0.2 ms optimised).
static (double Median, double Min, double Max) Time(int warmup, int runs, Action call, double warmupSeconds = 0)
{
    var warming = Stopwatch.StartNew();
    for (int i = 0; i < warmup || warming.Elapsed.TotalSeconds < warmupSeconds; i++) call();
    var times = new double[runs];
    for (int i = 0; i < runs; i++)
    {
        var clock = Stopwatch.StartNew();
        call();
        times[i] = clock.Elapsed.TotalMilliseconds;
    }
    Array.Sort(times);
    return (times[runs / 2], times[0], times[^1]);
}

static void Ratios(string what, IReadOnlyDictionary<string, double> medians)
{
    if (!medians.ContainsKey("managed")) return;
    foreach (var (backend, ms) in medians.Where(kv => kv.Key != "managed"))
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {what}: managed / {backend} = {medians["managed"] / ms:F2}× (above 1: {backend} is faster)"));
}

static void QuickStep(IReadOnlyList<string> backends, int steps)
{
    Console.WriteLine($"pretraining step (TSM ResNet, {StepWorkload.BatchSize} clips of {StepWorkload.Encoder.ClipLength}×32×32, D = {StepWorkload.Encoder.EmbeddingDimension}, weighted contrastive, AdamW): median of {steps} steps after 3 warm-up steps and at least {WarmupSeconds} s of them");
    var medians = new Dictionary<string, double>();
    foreach (string backend in backends)
    {
        var (encoder, objective) = StepWorkload.Create(backend);
        var optimizer = encoder.CreateOptimizer(new EncoderOptimizerOptions());
        var (clips, scores, patients) = StepWorkload.Batch();
        var emb = new float[StepWorkload.BatchSize * encoder.EmbeddingDimension];
        var grad = new float[emb.Length];
        double first = double.NaN, loss = 0;
        var t = Time(3, steps, () =>
        {
            loss = StepWorkload.Step(encoder, optimizer, objective, clips, scores, patients, emb, grad);
            if (double.IsNaN(first)) first = loss;
        }, WarmupSeconds);
        medians[backend] = t.Median;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {backend,-16} {t.Median,9:F2} ms/step (min {t.Min:F2}, max {t.Max:F2}), loss {first:F5} at the first step, {loss:F5} at the last (the same batch every step)"));
        (objective as IDisposable)?.Dispose();
        (encoder as IDisposable)?.Dispose();
    }
    Ratios("step", medians);
}

static void QuickObjectives(IReadOnlyList<string> backends, int calls)
{
    Console.WriteLine($"objectives (value and embedding gradient through IObjective.Compute, host copies included; B = {ObjectiveWorkload.B}, D = {ObjectiveWorkload.D}): median of {calls} calls after {ObjectiveWarmupCalls} warm-up calls and at least {ObjectiveWarmupSeconds} s of them, ms");
    Console.WriteLine("  " + "objective".PadRight(22) + string.Concat(backends.Select(b => b.PadLeft(17))) + string.Concat(backends.Skip(1).Select(b => $"{backends[0]} / {b}".PadLeft(28))));
    var data = ObjectiveWorkload.Batch();
    foreach (string name in ObjectiveWorkload.Objectives)
    {
        var medians = new Dictionary<string, double>();
        var losses = new Dictionary<string, double>();
        foreach (string backend in backends)
        {
            var objective = ObjectiveWorkload.Create(name, backend);
            medians[backend] = Time(ObjectiveWarmupCalls, calls, () => losses[backend] = ObjectiveWorkload.Compute(objective, data), ObjectiveWarmupSeconds).Median;
            (objective as IDisposable)?.Dispose();
        }
        double first = losses[backends[0]];
        double worst = backends.Skip(1).Select(b => Math.Abs(losses[b] - first) / Math.Max(1, Math.Abs(first))).DefaultIfEmpty(0).Max();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {name,-22}{string.Concat(backends.Select(b => $"{medians[b],17:F3}"))}{string.Concat(backends.Skip(1).Select(b => $"{medians[backends[0]] / medians[b],27:F2}×"))}   (loss {first:G6}, largest relative difference {worst:E1})"));
    }
}

static void QuickEmbedding(IReadOnlyList<string> backends, int passes)
{
    Console.WriteLine($"embedding {EmbeddingWorkload.Clips} clips (the step's encoder, evaluation mode, no gradients, batches of {EmbeddingWorkload.BatchSize}): median of {passes} passes after 1 warm-up pass and at least {WarmupSeconds} s of them");
    var batches = EmbeddingWorkload.Batches();
    var medians = new Dictionary<string, double>();
    float[]? reference = null;
    foreach (string backend in backends)
    {
        var encoder = EmbeddingWorkload.Create(backend);
        var embeddings = new float[EmbeddingWorkload.Clips * encoder.EmbeddingDimension];
        var t = Time(1, passes, () => EmbeddingWorkload.EmbedAll(encoder, batches, embeddings), WarmupSeconds);
        medians[backend] = t.Median;
        string difference = "";
        if (reference is null) reference = embeddings;
        else
        {
            double worst = 0, scale = reference.Max(v => Math.Abs((double)v));
            for (int i = 0; i < embeddings.Length; i++) worst = Math.Max(worst, Math.Abs(embeddings[i] - (double)reference[i]));
            difference = string.Create(CultureInfo.InvariantCulture, $", largest difference from managed {worst:E1} (largest entry {scale:F3})");
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {backend,-16} {t.Median,9:F1} ms/pass (min {t.Min:F1}, max {t.Max:F1}), {EmbeddingWorkload.Clips * 1000.0 / t.Median,7:F0} clips/s{difference}"));
        (encoder as IDisposable)?.Dispose();
    }
    Ratios("embedding", medians);
}
