using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Learner.Encoders;
using Learner.TorchSharp.Benchmarks;

// One pretraining step of the small TSM ResNet on the managed engine and on TorchSharp (CPU, and CUDA when present).
//   --quick [steps]   time each backend with a stopwatch (median of the steps) and print the ratios, then embedding
//                     throughput (64 clips per forward, evaluation mode)
//   anything else     BenchmarkDotNet (in-process)
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
    int steps = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
    Console.WriteLine($"threads: managed {Environment.ProcessorCount}, libtorch {TorchSharp.torch.get_num_threads()}; {steps} steps after 3 warm-up steps");
    var medians = new Dictionary<string, double>();
    foreach (string backend in StepWorkload.Backends())
    {
        var (encoder, objective) = StepWorkload.Create(backend);
        var optimizer = encoder.CreateOptimizer(new EncoderOptimizerOptions());
        var (clips, scores, patients) = StepWorkload.Batch();
        var emb = new float[StepWorkload.BatchSize * encoder.EmbeddingDimension];
        var grad = new float[emb.Length];
        var times = new List<double>();
        double first = 0, loss = 0;
        for (int i = 0; i < steps + 3; i++)
        {
            var clock = Stopwatch.StartNew();
            loss = StepWorkload.Step(encoder, optimizer, objective, clips, scores, patients, emb, grad);
            if (i == 0) first = loss;
            if (i >= 3) times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        medians[backend] = times[times.Count / 2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{backend,-16} {medians[backend],9:F2} ms/step (min {times[0]:F2}, max {times[^1]:F2}), loss {first:F5} at the first step, {loss:F5} at the last (the same batch every step)"));
        (objective as IDisposable)?.Dispose();
        (encoder as IDisposable)?.Dispose();
    }
    foreach (var (backend, ms) in medians.Where(kv => kv.Key != "managed"))
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"managed / {backend}: {medians["managed"] / ms:F2}× (above 1: {backend} is faster)"));

    // Embedding throughput: the same encoder in evaluation mode, no gradients, batches of 64 clips (as Embedder does).
    const int embedBatch = 64, repeats = 7;
    var clips64 = Learner.Nn.Tensor.Normal(new Learner.Nn.Rng(9), 0, 1, embedBatch, StepWorkload.Encoder.ClipLength, 32, 32);
    var rates = new Dictionary<string, double>();
    foreach (string backend in StepWorkload.Backends())
    {
        var (encoder, objective) = StepWorkload.Create(backend);
        encoder.SetTraining(false);
        var emb = new float[embedBatch * encoder.EmbeddingDimension];
        var times = new List<double>();
        for (int i = 0; i < repeats + 2; i++)
        {
            var clock = Stopwatch.StartNew();
            using (Learner.Nn.TensorScope.Begin()) encoder.Forward(clips64, emb, requiresGrad: false);
            if (i >= 2) times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        rates[backend] = embedBatch / (times[times.Count / 2] / 1000);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{backend,-16} embedding: {times[times.Count / 2],8:F1} ms per {embedBatch} clips ({rates[backend]:F0} clips/s; median of {repeats})"));
        (objective as IDisposable)?.Dispose();
        (encoder as IDisposable)?.Dispose();
    }
    foreach (var (backend, rate) in rates.Where(kv => kv.Key != "managed"))
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"embedding managed / {backend}: {rates["managed"] / rate:F2}× (above 1: managed is faster)"));
    return 0;
}

// In-process (--inProcess), so every job (e.g. --job short) measures the TorchSharp assembly this process loaded.
var bdnArgs = args.Any(a => a is "--inProcess" or "-i") ? args : args.Append("--inProcess").ToArray();
BenchmarkSwitcher.FromAssembly(typeof(PretrainingStepBenchmarks).Assembly).Run(bdnArgs, DefaultConfig.Instance);
return 0;
