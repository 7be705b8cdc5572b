using Learner.Training;

namespace Learner.Experiments;

/// <summary>One training step of one pretraining of an experiment, with where it stands in the whole experiment.</summary>
/// <param name="Objective">The objective spec being pretrained.</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Run">0-based index of the run (objective × seed, objective-major).</param>
/// <param name="Runs">Number of runs of the experiment.</param>
/// <param name="Training">The step's progress.</param>
public sealed record ExperimentStep(string Objective, int Seed, int Run, int Runs, TrainingProgress Training)
{
    /// <summary>0-based outer fold.</summary>
    public int Fold { get; init; }

    /// <summary>Number of outer folds (1 for a single held-out split or the transductive mode).</summary>
    public int Folds { get; init; } = 1;

    /// <summary>0-based search trial, or −1 without a search.</summary>
    public int Trial { get; init; } = -1;

    /// <summary>Trials per fold (0 without a search).</summary>
    public int Trials { get; init; }

    /// <summary>Training steps of the whole experiment done so far (runs skipped by a resume count as done).</summary>
    public long CompletedSteps { get; init; }

    /// <summary>Training steps of the whole experiment.</summary>
    public long TotalSteps { get; init; }

    /// <summary>Estimated time left for the whole experiment, from the training speed measured so far (evaluation
    /// time not included).</summary>
    public TimeSpan Eta { get; init; }

    /// <summary>A one-line description of where the step stands, e.g. <c>run 2/6 mse seed 1, fold 3/5, trial 1/3</c>.</summary>
    public string Position => $"run {Run + 1}/{Runs} {Objective} seed {Seed}, fold {Fold + 1}/{Folds}{(Trial >= 0 ? $", trial {Trial + 1}/{Trials}" : "")}";
}

/// <summary>Options of one execution of a <see cref="LearnerExperiment"/> (as opposed to what is compared).</summary>
public sealed record ExperimentRunOptions
{
    /// <summary>A folder for the run's state: each fold's pretraining checkpoints and chosen encoder
    /// (<c>runs/&lt;objective&gt;/seed-&lt;s&gt;/fold-&lt;k&gt;/</c>), each finished fold's predictions, and
    /// <c>results.json</c> (written when the experiment ends, and with <c>complete: false</c> when it is cancelled).
    /// Null (default): nothing is written.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Reuse the finished folds found in <see cref="OutputDirectory"/> and continue unfinished pretrainings from
    /// their last checkpoint (same options: the results are those of an uninterrupted run).</summary>
    public bool Resume { get; init; }

    /// <summary>The command line recorded in the results, or null.</summary>
    public string? CommandLine { get; init; }

    /// <summary>A description of the data recorded in the results (source, which column fed what), or null.</summary>
    public string? DatasetDescription { get; init; }

    /// <summary>Run a short untimed pretraining before the first timed one, so that per-run times exclude JIT
    /// compilation (default true).</summary>
    public bool WarmUp { get; init; } = true;

    /// <summary>How many folds (one objective, seed and fold: its pretraining, search trials and evaluation) run side by
    /// side — at most as many as the folds left and as <see cref="Learner.Nn.Kernels.WorkerPool.Threads"/>, each on an
    /// equal share of those threads (<see cref="Learner.Nn.Kernels.WorkerPool.LimitThreads"/>). Default 1: one fold after
    /// another, each on every core. The results are the same bits for any value (the engine's sums do not depend on its
    /// thread count); only the per-fold pretraining seconds, which are wall times, grow. Finished runs are reported once
    /// all their folds and those of the runs before them are done; progress and step reports then come from the folds'
    /// threads, one at a time, while the calling thread waits (a handler must not wait for the calling thread, e.g.
    /// by a synchronous Invoke onto a UI thread that called the synchronous Run). Two folds side by side, one core each, finish sooner on two cores than one after another
    /// on both (no worker waits between the many small kernels of a step), at the cost of holding both folds' models and
    /// batches in memory. Only backends with <see cref="Encoders.ComputeBackend.RunsSideBySide"/> (the managed one)
    /// accept more than 1.</summary>
    public int ConcurrentRuns { get; init; } = 1;
}

/// <summary>Cancellation of an experiment, carrying the runs that finished before it.</summary>
public sealed class ExperimentCancelledException : OperationCanceledException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="partial">The finished runs (metadata <c>Complete = false</c>).</param>
    /// <param name="token">The token that was cancelled.</param>
    public ExperimentCancelledException(ExperimentResults partial, CancellationToken token)
        : base($"The experiment was cancelled after {partial.Rows.Count} finished run(s).", token) => Partial = partial;

    /// <summary>The finished runs.</summary>
    public ExperimentResults Partial { get; }
}
