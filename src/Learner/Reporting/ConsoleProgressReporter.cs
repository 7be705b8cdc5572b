using System.Diagnostics;
using System.Globalization;
using Learner.Experiments;
using Learner.Training;

namespace Learner.Reporting;

/// <summary>
/// A ready-made, synchronous progress reporter for console programs: give it to
/// <see cref="LearnerExperiment.Run(Data.LongitudinalDataset, IProgress{string}?, IProgress{ExperimentStep}?, CancellationToken)"/>
/// (as both the line and the step progress) or to <see cref="Pretrainer.Run"/>. It prints one line per finished run, and
/// step lines at most every <see cref="Interval"/> (plus the first and last step of every pretraining) with the loss, the
/// position in the experiment (objective, seed, fold, trial) and the experiment's ETA.
/// </summary>
/// <remarks>Reports arrive on the training thread (on each fold's thread when folds run side by side,
/// <see cref="ExperimentRunOptions.ConcurrentRuns"/>); the reporter writes immediately (unlike <see cref="Progress{T}"/>,
/// which posts to a synchronisation context and can reorder or drop lines in a console app). Thread-safe.</remarks>
public sealed class ConsoleProgressReporter : IProgress<ExperimentStep>, IProgress<TrainingProgress>, IProgress<string>
{
    private readonly TextWriter _out;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly object _gate = new();
    private readonly Dictionary<string, TimeSpan> _last = new(StringComparer.Ordinal); // per pretraining (folds may run side by side)

    /// <summary>Creates the reporter.</summary>
    /// <param name="output">Where lines go; null for <see cref="Console.Out"/>.</param>
    /// <param name="interval">Least time between two step lines of one pretraining; null for 2 seconds,
    /// <see cref="TimeSpan.Zero"/> for every step.</param>
    public ConsoleProgressReporter(TextWriter? output = null, TimeSpan? interval = null)
    {
        _out = output ?? Console.Out;
        Interval = interval ?? TimeSpan.FromSeconds(2);
        if (Interval < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(interval), interval, "The interval must not be negative.");
    }

    /// <summary>Least time between two step lines.</summary>
    public TimeSpan Interval { get; }

    /// <summary>Prints a line (e.g. a finished run's summary).</summary>
    /// <param name="value">The line.</param>
    public void Report(string value)
    {
        lock (_gate) _out.WriteLine(value);
    }

    /// <summary>Prints an experiment step when due.</summary>
    /// <param name="value">The step.</param>
    public void Report(ExperimentStep value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var t = value.Training;
        if (!Due(t, value.Position)) return;
        double share = value.TotalSteps > 0 ? 100.0 * value.CompletedSteps / value.TotalSteps : 100;
        Report(string.Create(CultureInfo.InvariantCulture,
            $"[{value.Position}] epoch {t.Epoch}, step {t.Step}/{t.TotalSteps}, loss {t.Loss:F4}{Validation(t)} | experiment {share:F0} %, ETA {Format(value.Eta)}"));
    }

    /// <summary>Prints a pretraining step when due.</summary>
    /// <param name="value">The step.</param>
    public void Report(TrainingProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!Due(value, "")) return;
        Report(string.Create(CultureInfo.InvariantCulture,
            $"epoch {value.Epoch}, step {value.Step}/{value.TotalSteps}: loss {value.Loss:F4}, lr {value.LearningRate:G3}, {value.StepsPerSecond:F1} steps/s{Validation(value)}, ETA {Format(value.Eta)}"));
    }

    /// <summary>Whether a step line of the pretraining <paramref name="key"/> names is due: its first and last step, a
    /// validation, or <see cref="Interval"/> after that pretraining's previous line.</summary>
    private bool Due(TrainingProgress t, string key)
    {
        lock (_gate)
        {
            var now = _clock.Elapsed;
            bool edge = t.Step <= 1 || t.Step >= t.TotalSteps || t.Validation is not null;
            if (!edge && _last.TryGetValue(key, out var last) && now - last < Interval) return false;
            // A pretraining's last step ends its entry (an experiment has one per fold and trial).
            if (t.Step >= t.TotalSteps) _last.Remove(key);
            else _last[key] = now;
            return true;
        }
    }

    private static string Validation(TrainingProgress t) => t.Validation is { } v
        ? string.Create(CultureInfo.InvariantCulture, $", validation loss {v.Loss:F4}{(double.IsNaN(v.MacroF1) ? "" : $", macro-F1 {v.MacroF1:F3}")}")
        : "";

    private static string Format(TimeSpan eta) => eta.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)eta.TotalHours}:{eta.Minutes:D2}:{eta.Seconds:D2}")
        : string.Create(CultureInfo.InvariantCulture, $"{eta.Minutes:D2}:{eta.Seconds:D2}");
}
