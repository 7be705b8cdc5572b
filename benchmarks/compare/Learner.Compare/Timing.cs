using System.Diagnostics;

namespace Learner.Compare;

/// <summary>How long to warm up and to measure. The warm-up lasts at least 2 s because .NET runs a method as unoptimised
/// tier-0 code until it has been called 30 times and then recompiles it in the background, later still on 2 busy cores:
/// with 0.3 s the small-CNN step was timed at a median of 8–10 ms (tier 0) against 2.5 ms optimised.</summary>
public sealed record TimingOptions(int WarmupIterations = 3, double WarmupSeconds = 2.0, int MinIterations = 10, double MinSeconds = 1.0, int MaxIterations = 1000);

/// <summary>Timings of one workload, in milliseconds per call.</summary>
public sealed record WorkloadTiming(string Name, double MedianMs, double MinMs, double MeanMs, int Iterations);

/// <summary>Warm-up, then repeated timed calls.</summary>
public static class WorkloadTimer
{
    /// <summary>Runs the workload's setup, warms up, and times calls until both the iteration and the time minimum are met.</summary>
    public static WorkloadTiming Measure(Workload workload, TimingOptions options)
    {
        Action action = workload.Setup();
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < options.WarmupIterations || warm.Elapsed.TotalSeconds < options.WarmupSeconds; i++) action();

        var samples = new List<double>();
        var total = Stopwatch.StartNew();
        var sw = new Stopwatch();
        while (samples.Count < options.MaxIterations &&
               (samples.Count < options.MinIterations || total.Elapsed.TotalSeconds < options.MinSeconds))
        {
            sw.Restart();
            action();
            sw.Stop();
            samples.Add(sw.Elapsed.TotalMilliseconds);
        }
        samples.Sort();
        double median = samples.Count % 2 == 1 ? samples[samples.Count / 2] : 0.5 * (samples[samples.Count / 2 - 1] + samples[samples.Count / 2]);
        return new WorkloadTiming(workload.Name, median, samples[0], samples.Average(), samples.Count);
    }
}
