using System.Runtime.ExceptionServices;
using Learner.Nn.Kernels;
using Learner.Objectives;

namespace Learner.Experiments;

/// <summary>One fold of one run of an experiment: an objective, a seed and a fold plan, with the run's number and the
/// fold's position among all the experiment's folds.</summary>
internal sealed record FoldItem(ObjectiveSpec Spec, int Seed, FoldPlan Plan, int Run, int Index);

/// <summary>
/// Runs an experiment's folds side by side (<see cref="ExperimentRunOptions.ConcurrentRuns"/>): at most one dedicated
/// thread per thread of the caller's budget (<see cref="WorkerPool.Threads"/>) takes the folds in order, each under
/// <see cref="WorkerPool.LimitThreads"/> with an equal share of that budget, so no fold waits for another's kernels.
/// </summary>
/// <remarks>
/// Each fold computes what it would alone (the engine's results do not depend on its thread count), so the outcomes
/// are the same bits as one after another. A fold that fails stops the others from starting new steps (they are
/// cancelled) and its exception is rethrown, the one of the earliest fold when several fail; a cancellation of the
/// caller's token is rethrown as an <see cref="OperationCanceledException"/> once every thread has stopped.
/// </remarks>
internal static class ConcurrentFolds
{
    /// <summary>Runs <paramref name="run"/> for every item on <paramref name="concurrent"/> threads and calls
    /// <paramref name="finished"/> (serialised, on the thread that ran it) with each outcome.</summary>
    internal static void Run(IReadOnlyList<FoldItem> items, int concurrent, Func<FoldItem, CancellationToken, FoldOutcome> run,
        Action<FoldItem, FoldOutcome> finished, CancellationToken cancellationToken)
    {
        // At most one fold per thread of the budget; the threads split as evenly as they go (the first runners get
        // the remainder).
        int budget = WorkerPool.Threads;
        concurrent = Math.Clamp(concurrent, 1, budget);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var gate = new object();
        int next = -1;
        (int Index, ExceptionDispatchInfo Error)? failure = null;
        void Fail(int index, Exception e)
        {
            lock (gate)
                if (failure is null || index < failure.Value.Index) failure = (index, ExceptionDispatchInfo.Capture(e));
            stop.Cancel();
        }
        void Work(int runner)
        {
            // Everything inside the try: an exception on a dedicated thread (from a fold, a handler, or the limit's
            // dispose) must reach the caller, not end the process.
            int i = -1;
            try
            {
                using var limit = WorkerPool.LimitThreads(budget / concurrent + (runner < budget % concurrent ? 1 : 0));
                while (!stop.IsCancellationRequested)
                {
                    i = Interlocked.Increment(ref next);
                    if (i >= items.Count) return;
                    var outcome = run(items[i], stop.Token);
                    lock (gate) finished(items[i], outcome);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // the caller's cancellation, or another fold's failure: reported below
            }
            catch (Exception e)
            {
                Fail(i < 0 ? int.MaxValue : i, e);
            }
        }
        // Dedicated threads (not the thread pool, whose own threads the engine's workers would compete with), with a
        // 16 MiB stack: a pretraining's backward pass is not deep, but a caller's progress handlers run on them too.
        var threads = Enumerable.Range(0, concurrent)
            .Select(t => new Thread(() => Work(t), 16 * 1024 * 1024) { IsBackground = true, Name = $"Learner experiment fold runner {t + 1}" })
            .ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        failure?.Error.Throw();
        cancellationToken.ThrowIfCancellationRequested();
    }
}
