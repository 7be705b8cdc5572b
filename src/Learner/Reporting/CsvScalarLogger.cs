using System.Globalization;
using Learner.Training;

namespace Learner.Reporting;

/// <summary>
/// Writes training curves as a CSV of scalars, one row per value, in the long form that TensorBoard's scalar export,
/// pandas (<c>pivot</c>) and spreadsheets read: <c>time,step,epoch,tag,value</c>. Tags: <c>loss</c>, <c>lr</c>,
/// <c>steps_per_second</c>, <c>term/&lt;name&gt;</c> for each objective term, and at epoch ends with a validation set
/// <c>validation/loss</c>, <c>validation/spearman</c>, <c>validation/precision_at_1</c>, <c>validation/map_at_r</c>,
/// <c>validation/accuracy</c>, <c>validation/macro_f1</c>, <c>validation/quadratic_kappa</c>. A value that was not
/// measured (NaN) is an empty cell. Each step's rows are flushed together, so a killed run loses at most one step.
/// Pass it as the pretrainer's progress (alone, or in <see cref="Combine"/> with a console reporter).
/// </summary>
public sealed class CsvScalarLogger : IProgress<TrainingProgress>, IDisposable
{
    /// <summary>The header row.</summary>
    public const string Header = "time,step,epoch,tag,value";

    private readonly StreamWriter _writer;
    private readonly Func<DateTimeOffset> _clock;

    /// <summary>Opens <paramref name="path"/> for writing (its folder is created).</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="append">Append to an existing file (a resumed run) instead of replacing it; the header is written
    /// only to a new or empty file. A resumed run repeats the steps after its last checkpoint: take the last row of each
    /// (step, tag).</param>
    /// <param name="clock">The time source (UTC), or null for the system clock.</param>
    public CsvScalarLogger(string path, bool append = false, Func<DateTimeOffset>? clock = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        bool header = !append || !File.Exists(path) || new FileInfo(path).Length == 0;
        _writer = new StreamWriter(new FileStream(path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read));
        _clock = clock ?? (() => DateTimeOffset.UtcNow);
        if (header) { _writer.Write(Header + "\n"); _writer.Flush(); }
    }

    /// <inheritdoc />
    public void Report(TrainingProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        string time = _clock().ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);
        void Row(string tag, double v) =>
            _writer.Write(string.Create(CultureInfo.InvariantCulture, $"{time},{value.Step},{value.Epoch},{Quote(tag)},{(double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "")}\n"));
        Row("loss", value.Loss);
        Row("lr", value.LearningRate);
        Row("steps_per_second", value.StepsPerSecond);
        foreach (var (name, v) in value.Terms) Row("term/" + name, v);
        if (value.Validation is { } r)
        {
            Row("validation/loss", r.Loss);
            Row("validation/spearman", r.Spearman);
            Row("validation/precision_at_1", r.PrecisionAt1);
            Row("validation/map_at_r", r.MapAtR);
            Row("validation/accuracy", r.Accuracy);
            Row("validation/macro_f1", r.MacroF1);
            Row("validation/quadratic_kappa", r.QuadraticKappa);
        }
        _writer.Flush();
    }

    /// <summary>One progress sink that forwards to each of <paramref name="sinks"/> (nulls skipped), in order.</summary>
    /// <param name="sinks">The sinks.</param>
    /// <returns>The combined sink.</returns>
    public static IProgress<TrainingProgress> Combine(params IProgress<TrainingProgress>?[] sinks)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        var list = sinks.Where(s => s is not null).Cast<IProgress<TrainingProgress>>().ToArray();
        return new Fanout(list);
    }

    /// <inheritdoc />
    public void Dispose() => _writer.Dispose();

    private static string Quote(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;

    private sealed class Fanout(IProgress<TrainingProgress>[] sinks) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            foreach (var s in sinks) s.Report(value);
        }
    }
}
