namespace Learner.TorchSharp.Tests;

/// <summary>Runs a body repeatedly while a second thread collects garbage and runs finalisers without pause: the
/// condition under which a TorchSharp <see cref="global::TorchSharp.Scalar"/> that nothing keeps alive is freed in the
/// middle of its native call.</summary>
internal static class CollectionStress
{
    /// <summary>Calls <paramref name="body"/> until <paramref name="duration"/> has passed, under constant collections;
    /// returns the completed calls and the exception that stopped them (null when none did).</summary>
    public static (long Calls, Exception? Error) Run(TimeSpan duration, Action body)
    {
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested) { GC.Collect(); GC.WaitForPendingFinalizers(); }
        }) { IsBackground = true };
        collector.Start();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        long calls = 0;
        try
        {
            while (watch.Elapsed < duration)
            {
                body();
                calls++;
            }
            return (calls, null);
        }
        catch (Exception e)
        {
            return (calls, e);
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }
}
