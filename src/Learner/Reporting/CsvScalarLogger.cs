using System.Globalization;
using Learner.Training;

namespace Learner.Reporting;

/// <summary>
/// Writes training curves as a CSV of scalars, one row per value, in the long form that TensorBoard's scalar export,
/// pandas (<c>pivot</c>) and spreadsheets read: <c>time,step,epoch,tag,value</c>. Tags: <c>loss</c>, <c>lr</c>,
/// <c>steps_per_second</c>, <c>term/&lt;name&gt;</c> for each objective term, <c>loss/&lt;term&gt;/&lt;part&gt;</c> for each
/// loss part (<c>loss/weighted-contrastive/positive</c>), the mining counts the objective reported
/// (<c>mining/pairs</c> with <c>mining/positive-pairs</c>, <c>mining/triplets</c>, <c>mining/anchors</c>, and
/// <c>mining/active-pairs</c>, <c>mining/active-triplets</c> or <c>mining/active</c> for its non-zero terms), and at epoch ends with a validation set
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
        foreach (var (name, v) in value.Parts) Row(PartTag(name), v);
        foreach (var (tag, count) in MiningRows(value.Mining)) Row(tag, count);
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

    /// <summary>The tag of a loss part: "loss/" and the part's name with its dots as slashes
    /// (<c>weighted-contrastive.positive</c> → <c>loss/weighted-contrastive/positive</c>).</summary>
    /// <param name="part">The part's name.</param>
    /// <returns>The tag.</returns>
    public static string PartTag(string part) => "loss/" + part.Replace('.', '/');

    /// <summary>The mining rows of one step: each count the objective reported (non-zero; the positive pairs whenever
    /// pairs were visited), and the active count named by
    /// what was mined (pairs only: <c>mining/active-pairs</c>; triplets only: <c>mining/active-triplets</c>; otherwise
    /// <c>mining/active</c>). Nothing when the objective reported no mining.</summary>
    /// <param name="m">The statistics.</param>
    /// <returns>(tag, value) rows.</returns>
    public static IEnumerable<(string Tag, double Value)> MiningRows(Objectives.MiningStatistics m)
    {
        if (m.Pairs == 0 && m.Triplets == 0 && m.Anchors == 0) yield break;
        if (m.Pairs > 0) { yield return ("mining/pairs", m.Pairs); yield return ("mining/positive-pairs", m.PositivePairs); }
        if (m.Triplets > 0) yield return ("mining/triplets", m.Triplets);
        if (m.Anchors > 0) yield return ("mining/anchors", m.Anchors);
        string active = m.Pairs > 0 && m.Triplets == 0 && m.Anchors == 0 ? "mining/active-pairs"
            : m.Triplets > 0 && m.Pairs == 0 && m.Anchors == 0 ? "mining/active-triplets" : "mining/active";
        yield return (active, m.Active);
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
