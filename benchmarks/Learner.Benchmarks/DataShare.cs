using System.Diagnostics;
using System.Globalization;
using Learner.Data;
using Learner.Data.Synthetic;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Training;

namespace Learner.Benchmarks;

/// <summary>
/// The share of pretraining time spent on data: pretrains the QuickStart setting (synthetic LUS clips 8×32×32, the
/// small TSM-ResNet, weighted contrastive objective) for a few epochs, with the dataset's payload cache on (the default)
/// and off (budget 0), and prints the time the dataset spent assembling batches (decoding, copying, augmenting; read
/// from <see cref="PayloadCache.Statistics"/>) against the wall time of the run.
/// Run: <c>dotnet run -c Release --project benchmarks/Learner.Benchmarks -- data-share [patients] [epochs]</c>.
/// </summary>
internal static class DataShare
{
    public static void Run(string[] args)
    {
        int patients = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 60;
        int epochs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        var cohort = new SyntheticLusOptions { Patients = patients, Seed = 7 };
        Console.WriteLine($"CPU: {Machine.Describe()}");
        Console.WriteLine($"Synthetic LUS, {patients} patients, clips {cohort.Frames}×{cohort.Height}×{cohort.Width}; tsm-resnet D=64; weighted-contrastive; {epochs} epochs × 20 steps.");
        Console.WriteLine("| payload cache | wall s | batch assembly s | share of step time | decodes | cache hits |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        foreach (bool cached in new[] { false, true })
        {
            var data = SyntheticLusCohort.Generate(cohort);
            data = data.WithPayloadCache(new PayloadCache(cached ? PayloadCache.DefaultBudgetBytes : 0));
            var options = new ExperimentOptions
            {
                Encoder = new EncoderOptions { Architecture = "tsm-resnet", EmbeddingDimension = 64, ClipLength = cohort.Frames },
                Pretraining = new PretrainingOptions { Epochs = epochs, StepsPerEpoch = 20, WarmupSteps = 5 },
            };
            var (trainer, _) = new PretrainerFactory(options).Create(data, "weighted-contrastive", seed: 1);
            var clock = Stopwatch.StartNew();
            trainer.Run();
            double wall = clock.Elapsed.TotalSeconds;
            var s = data.PayloadCache.Statistics;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {(cached ? "on" : "off")} | {wall:F2} | {s.LoadTime.TotalSeconds:F3} | {100 * s.LoadTime.TotalSeconds / wall:F1} % | {s.Decodes} | {s.Hits} |"));
        }
    }
}
