using System.Diagnostics;
using System.Globalization;
using Learner.Nn;
using Learner.Nn.Kernels;

namespace Learner.Benchmarks;

/// <summary>
/// The GEMM micro-kernels side by side in one process: for each shape, every kernel family this CPU runs (the AVX-512
/// tiles, the AVX2 6×16 and 4×24 tiles and the two mixed choices) is timed in interleaved rounds, so that a host whose
/// speed drifts from minute to minute (a noisy neighbour, a frequency change) moves every kernel alike, and the ratios
/// to the kernel this machine chooses by default are printed. Every family gives the same bits, so only time differs.
/// Run: <c>dotnet run -c Release --project benchmarks/Learner.Benchmarks -- gemm-kernels [MxNxK[t] …] [--threads T]</c>,
/// shapes written with ASCII <c>x</c> (e.g. <c>8x1086x72</c>), one ending in <c>t</c> multiplying by Bᵀ (B stored n×k). Without shapes, the TSM preset's heaviest products
/// (from its pretraining step) and three square ones.
/// </summary>
internal static class GemmKernels
{
    private static readonly string[] DefaultShapes =
    {
        "8x1086x72", "16x286x144", "8x72x1086t", "16x144x286t", "64x256x64", "32x256x32", "64x64x256t", "32x32x256t",
        "96x96x256", "256x256x256", "1024x1024x1024", "4096x128x128",
    };

    public static void Run(string[] args)
    {
        int threads = Environment.ProcessorCount;
        var shapes = new List<string>();
        for (int i = 1; i < args.Length; i++)
        {
            if (args[i] == "--threads")
            {
                if (i + 1 >= args.Length || !int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out threads) || threads < 1)
                    throw new ArgumentException("--threads takes a positive thread count, e.g. --threads 1.");
            }
            else shapes.Add(args[i]);
        }
        if (shapes.Count == 0) shapes.AddRange(DefaultShapes);
        var kernels = new[] { GemmIsa.Avx512, GemmIsa.Avx512Tall, GemmIsa.Avx512Mixed, GemmIsa.Avx2, GemmIsa.Avx2Wide, GemmIsa.Avx2Mixed }
            .Where(k => Gemm.Supported(k) == k).ToArray();
        GemmIsa chosen = Gemm.BestIsa;
        Console.WriteLine($"CPU: {Machine.Describe()}");
        Console.WriteLine($"{threads} thread(s); interleaved rounds, minimum (median) µs per product; ratio = the default's minimum / the kernel's (> 1: faster than the default, {Name(chosen)}).");
        Console.WriteLine($"| shape | {string.Join(" | ", kernels.Select(Name))} |");
        Console.WriteLine($"|---|{string.Concat(kernels.Select(_ => "---:|"))}");
        foreach (string shape in shapes)
        {
            bool tb = shape.EndsWith('t');
            var d = shape.TrimEnd('t').Split('x').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            int m = d[0], n = d[1], k = d[2];
            var rng = new Rng(1);
            var a = new float[m * k];
            var b = new float[k * n];
            var c = new float[m * n];
            rng.FillUniform(a, -1f, 1f);
            rng.FillUniform(b, -1f, 1f);
            int reps = (int)Math.Clamp(3e7 / ((double)m * n * k), 1, 10_000);
            var times = kernels.Select(_ => new List<double>()).ToArray();
            for (int round = 0; round < 25; round++)
                for (int q = 0; q < kernels.Length; q++)
                {
                    var sw = Stopwatch.StartNew();
                    for (int r = 0; r < reps; r++)
                        Gemm.SgemmCore(kernels[q], threads, false, tb, m, n, k, 1f, a, k, b, tb ? k : n, 0f, c, n);
                    if (round > 0) times[q].Add(sw.Elapsed.TotalMicroseconds / reps);  // round 0 warms up
                }
            int reference = Array.IndexOf(kernels, chosen);
            double refMin = reference >= 0 ? times[reference].Min() : double.NaN;
            var cells = times.Select(t =>
            {
                t.Sort();
                return string.Create(CultureInfo.InvariantCulture, $"{t[0]:F1} ({t[t.Count / 2]:F1}) {refMin / t[0]:F2}×");
            });
            Console.WriteLine($"| {shape} | {string.Join(" | ", cells)} |");
        }
    }

    private static string Name(GemmIsa isa) => GemmKernelChoice.Names.First(n => n.Isa == isa).Name;
}
