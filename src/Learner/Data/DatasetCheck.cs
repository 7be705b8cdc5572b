using System.Globalization;
using Learner.Data.Formats;
using Learner.Objectives;

namespace Learner.Data;

/// <summary>What is wrong with one scan, found by <see cref="DatasetCheck.Run"/>.</summary>
public enum DatasetProblemKind
{
    /// <summary>The scan has no payload, but pretraining needs one.</summary>
    MissingPayload,

    /// <summary>The payload file does not exist.</summary>
    PayloadNotFound,

    /// <summary>The payload file cannot be read (malformed, truncated, unsupported, or an I/O error).</summary>
    UnreadablePayload,

    /// <summary>The payload's shape differs from the most common shape, so it cannot be stacked into a batch.</summary>
    ShapeMismatch,

    /// <summary>The payload holds a NaN or an infinity.</summary>
    NonFinitePayload,

    /// <summary>The scan has no finite score, but the objective needs scores.</summary>
    MissingScore,

    /// <summary>The scan has no coarse label, the objective needs labels, and they cannot be derived from the scores.</summary>
    MissingLabel,
}

/// <summary>One problem of one scan: what, which scan, which file and manifest line (when known), and a message.</summary>
/// <param name="Kind">What is wrong.</param>
/// <param name="ScanId">The scan.</param>
/// <param name="File">Its payload file, or null.</param>
/// <param name="ManifestPath">The manifest the scan was read from, or null.</param>
/// <param name="ManifestLine">The 1-based manifest line (0 when unknown).</param>
/// <param name="Message">A one-line description naming the scan, file and line.</param>
public sealed record DatasetProblem(DatasetProblemKind Kind, string ScanId, string? File, string? ManifestPath, int ManifestLine, string Message);

/// <summary>What <see cref="DatasetCheck.Run"/> checks besides the payload headers.</summary>
public sealed record DatasetCheckOptions
{
    /// <summary>Whether every scan needs a finite score (<see cref="Scan.HasScore"/>). Default false.</summary>
    public bool RequireScores { get; init; }

    /// <summary>What needs the scores, as a problem's message names it ("no score, but … needs one"). Default "the
    /// objective".</summary>
    public string ScoresNeededBy { get; init; } = "the objective";

    /// <summary>Whether every scan needs a coarse label. Default false.</summary>
    public bool RequireLabels { get; init; }

    /// <summary>Whether missing labels are acceptable when every scan has a finite score, as pretraining and experiments
    /// then derive labels from the training scores' quartiles. Default true.</summary>
    public bool LabelsFromScores { get; init; } = true;

    /// <summary>Whether every scan needs a payload. Default true.</summary>
    public bool RequirePayloads { get; init; } = true;

    /// <summary>Whether to read every payload's values and check they are finite. Default false: NPY, NPZ and NIfTI
    /// payloads are checked from their headers only (an NPZ member's NPY header, the first bytes of a <c>.nii.gz</c>; no
    /// data is inflated or decoded, so a preflight repeated on every resume costs no decode); in-memory and generated
    /// payloads are loaded through the dataset's <see cref="PayloadCache"/> (so the run after the check does not produce
    /// them again), and then their values are checked too. Values read later are checked as they enter the cache.</summary>
    public bool ReadValues { get; init; }

    /// <summary>The options that check what objective spec <paramref name="objective"/> needs (scores, labels).</summary>
    /// <param name="objective">An objective spec, e.g. <c>mse+weighted-contrastive</c>.</param>
    /// <returns>The options.</returns>
    /// <exception cref="ObjectiveSpecException">The spec is malformed or names an unknown objective or option.</exception>
    public static DatasetCheckOptions ForObjective(string objective) => ForObjectives([objective]);

    /// <summary>The options that check what every one of <paramref name="objectives"/> needs from batches without sampler
    /// pairs or triplets (the default P×K patient batches).</summary>
    /// <param name="objectives">Objective specs.</param>
    /// <returns>The options.</returns>
    /// <exception cref="ObjectiveSpecException">A spec is malformed or names an unknown objective or option.</exception>
    public static DatasetCheckOptions ForObjectives(IEnumerable<string> objectives) => ForObjectives(objectives, BatchFields.None);

    /// <summary>The options that check what every one of <paramref name="objectives"/> needs given the sampler fields the
    /// batch source provides (<see cref="IObjective.RequiresGiven"/>, as the pretrainer asks it): e.g. a contrastive loss
    /// on provided pairs needs labels only when the source draws no pairs.</summary>
    /// <param name="objectives">Objective specs.</param>
    /// <param name="available">The batch source's fields (<see cref="Training.BatchSourceOptions.Provides"/> or
    /// <see cref="Training.IPretrainingBatchSource.Provides"/>).</param>
    /// <returns>The options.</returns>
    /// <exception cref="ObjectiveSpecException">A spec is malformed or names an unknown objective or option.</exception>
    public static DatasetCheckOptions ForObjectives(IEnumerable<string> objectives, BatchFields available)
    {
        ArgumentNullException.ThrowIfNull(objectives);
        var registry = ObjectiveRegistry.CreateDefault();
        var needs = BatchFields.None;
        foreach (var text in objectives)
        {
            var objective = ObjectiveRecipes.Default.Build(ObjectiveSpec.Parse(text), ObjectiveContext.ForValidation(), registry);
            needs |= objective.RequiresGiven(available);
            (objective as IDisposable)?.Dispose();
        }
        return new DatasetCheckOptions { RequireScores = needs.HasFlag(BatchFields.Scores), RequireLabels = needs.HasFlag(BatchFields.Labels) };
    }


    /// <summary>The options that check what a pretraining run on <paramref name="source"/>'s batches needs: what every one
    /// of <paramref name="objectives"/> needs given the fields the source provides (<see cref="ForObjectives(IEnumerable{string}, BatchFields)"/>),
    /// and the source's own needs — inter-patient pairs and triplets are drawn by score gap, so every scan needs a score.</summary>
    /// <param name="objectives">Objective specs.</param>
    /// <param name="source">The batch source's settings.</param>
    /// <returns>The options.</returns>
    /// <exception cref="ObjectiveSpecException">A spec is malformed or names an unknown objective or option.</exception>
    public static DatasetCheckOptions ForPretraining(IEnumerable<string> objectives, Training.BatchSourceOptions source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var options = ForObjectives(objectives, source.Provides);
        return source.Kind == Training.BatchSourceKind.PatientBatches
            ? options
            : options with
            {
                RequireScores = true,
                ScoresNeededBy = options.RequireScores ? options.ScoresNeededBy : source.Kind == Training.BatchSourceKind.InterPatientPairs
                    ? "the batch source (inter-patient pairs, drawn by score gap)" : "the batch source (triplets, drawn by score gap)",
            };
    }
}

/// <summary>The result of <see cref="DatasetCheck.Run"/>: every problem found (all of them, not only the first).</summary>
public sealed class DatasetCheckReport
{
    internal DatasetCheckReport(LongitudinalDataset dataset, IReadOnlyList<DatasetProblem> problems, IReadOnlyList<int>? shape, int payloads)
    {
        ScanCount = dataset.ScanCount;
        PatientCount = dataset.PatientCount;
        ScoredScanCount = dataset.Scans.Count(s => s.HasScore);
        LabelledScanCount = dataset.Scans.Count(s => s.CoarseLabel is not null);
        Problems = problems;
        PayloadShape = shape;
        PayloadsChecked = payloads;
    }

    /// <summary>Every problem, in scan order.</summary>
    public IReadOnlyList<DatasetProblem> Problems { get; }

    /// <summary>Whether no problem was found.</summary>
    public bool IsValid => Problems.Count == 0;

    /// <summary>Scans checked.</summary>
    public int ScanCount { get; }

    /// <summary>Patients.</summary>
    public int PatientCount { get; }

    /// <summary>Scans with a finite score.</summary>
    public int ScoredScanCount { get; }

    /// <summary>Scans with a coarse label.</summary>
    public int LabelledScanCount { get; }

    /// <summary>The most common payload shape, or null when no payload could be read.</summary>
    public IReadOnlyList<int>? PayloadShape { get; }

    /// <summary>Payloads whose shape was read.</summary>
    public int PayloadsChecked { get; }

    /// <summary>A one-line summary.</summary>
    /// <returns>The summary.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{ScanCount} scans of {PatientCount} patients, {ScoredScanCount} with scores, {LabelledScanCount} with labels, {PayloadsChecked} payloads read{(PayloadShape is null ? "" : " of shape [" + string.Join(", ", PayloadShape) + "]")}: {(IsValid ? "no problems" : Problems.Count + " problem(s)")}.");

    /// <summary>Throws when a problem was found.</summary>
    /// <exception cref="DatasetCheckException">There is at least one problem (the message lists every one).</exception>
    public void ThrowIfInvalid()
    {
        if (!IsValid) throw new DatasetCheckException(this);
    }
}

/// <summary>A dataset check found problems; the message lists every one with its scan, file and manifest line.</summary>
public sealed class DatasetCheckException : LearnerDataException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="report">The report (with at least one problem).</param>
    public DatasetCheckException(DatasetCheckReport report)
        : base(Describe(report ?? throw new ArgumentNullException(nameof(report)))) => Report = report;

    /// <summary>The report.</summary>
    public DatasetCheckReport Report { get; }

    private static string Describe(DatasetCheckReport r) =>
        $"The dataset check found {r.Problems.Count} problem(s):{Environment.NewLine}" + string.Join(Environment.NewLine, r.Problems.Select(p => "  " + p.Message));
}

/// <summary>
/// Checks a dataset before any training: every payload's shape (from the NPY header where possible, without reading the
/// data), that all shapes agree, and that the scores and labels an objective needs are present. Every bad scan is
/// reported, with its file and manifest line — not only the first.
/// </summary>
public static class DatasetCheck
{
    /// <summary>Runs the check.</summary>
    /// <param name="dataset">The dataset (from <see cref="Manifest.Read"/> for manifest lines in the messages).</param>
    /// <param name="options">What to require; null for payloads only.</param>
    /// <returns>The report.</returns>
    public static DatasetCheckReport Run(LongitudinalDataset dataset, DatasetCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        options ??= new DatasetCheckOptions();
        var problems = new List<DatasetProblem>();
        var shapes = new int[]?[dataset.ScanCount];
        bool allScored = dataset.Scans.All(s => s.HasScore);
        bool labelsDerivable = options.LabelsFromScores && allScored;
        foreach (var scan in dataset.Scans)
        {
            var file = scan.Payload as FilePayload;
            DatasetProblem Problem(DatasetProblemKind kind, string what) =>
                new(kind, scan.Id, file?.Path, file?.ManifestPath, file?.ManifestLine ?? 0, $"{Where(scan, file)}: {what}");
            if (options.RequireScores && !scan.HasScore)
                problems.Add(Problem(DatasetProblemKind.MissingScore, scan.Score is null ? $"no score, but {options.ScoresNeededBy} needs one." : $"score {scan.Score.Value.ToString(CultureInfo.InvariantCulture)} is not finite, but {options.ScoresNeededBy} needs one."));
            if (options.RequireLabels && scan.CoarseLabel is null && !labelsDerivable)
                problems.Add(Problem(DatasetProblemKind.MissingLabel, "no coarse label, but the objective needs one (and labels cannot be derived from the scores, since not every scan has one)."));
            if (scan.Payload is null)
            {
                if (options.RequirePayloads) problems.Add(Problem(DatasetProblemKind.MissingPayload, "no payload."));
                continue;
            }
            try { shapes[scan.Index] = ReadShape(dataset, scan, file, options.ReadValues); }
            catch (PayloadNotFoundException e) { problems.Add(Problem(DatasetProblemKind.PayloadNotFound, e.Message)); }
            catch (NonFinitePayloadException e) { problems.Add(Problem(DatasetProblemKind.NonFinitePayload, e.Message)); }
            catch (LearnerDataException e) { problems.Add(Problem(DatasetProblemKind.UnreadablePayload, e.Message)); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add(Problem(DatasetProblemKind.UnreadablePayload, $"cannot read the payload: {e.Message}"));
            }
        }
        // The most common shape is the expected one, so a few odd files are named rather than everything after one.
        var common = shapes.Where(s => s is not null).GroupBy(s => string.Join(",", s!)).OrderByDescending(g => g.Count()).ThenBy(g => Array.IndexOf(shapes, g.First())).FirstOrDefault()?.First();
        int read = shapes.Count(s => s is not null);
        if (common is not null)
            foreach (var scan in dataset.Scans)
                if (shapes[scan.Index] is { } shape && !shape.AsSpan().SequenceEqual(common))
                {
                    var file = scan.Payload as FilePayload;
                    problems.Add(new DatasetProblem(DatasetProblemKind.ShapeMismatch, scan.Id, file?.Path, file?.ManifestPath, file?.ManifestLine ?? 0,
                        $"{Where(scan, file)}: payload shape [{string.Join(", ", shape)}] differs from the shape of most payloads, [{string.Join(", ", common)}]; payloads in one batch must share a shape."));
                }
        var ordered = problems.OrderBy(p => dataset.TryGetScan(p.ScanId, out var s) ? s.Index : int.MaxValue).ToList();
        return new DatasetCheckReport(dataset, ordered, common, read);
    }

    private static string Where(Scan scan, FilePayload? file) =>
        file is null ? $"scan '{scan.Id}' ({scan.Payload?.Description ?? "no payload"})"
        : file.ManifestPath is null ? $"scan '{scan.Id}' ({file.Path})"
        : $"{file.ManifestPath} line {file.ManifestLine.ToString(CultureInfo.InvariantCulture)}, scan '{scan.Id}' ({file.Path})";

    /// <summary>The payload's shape: from an NPY header, or by loading it through the dataset's
    /// <see cref="PayloadCache"/>, so that the run the check precedes (a resumed one too) does not decode it again.</summary>
    private static int[] ReadShape(LongitudinalDataset dataset, Scan scan, FilePayload? file, bool readValues)
    {
        if (!readValues && file is not null)
        {
            string path = file.Path;
            bool npy = path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase), npz = path.EndsWith(".npz", StringComparison.OrdinalIgnoreCase);
            bool nifti = path.EndsWith(".nii", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".nii.gz", StringComparison.OrdinalIgnoreCase);
            if (npy || npz || nifti)
            {
                if (!File.Exists(path)) throw new PayloadNotFoundException(path);
                if (npz) return Npz.ReadShape(path, file.Options.NpzMember, file.Options);
                if (nifti) return Nifti.ReadShape(path, file.Options);
                return Npy.ReadHeader(ByteSource.ReadFile(path, file.Options.MaxFileBytes), path).Shape;
            }
        }
        using var scope = Nn.TensorScope.Begin();
        dataset.PayloadCache.ValuesOf(scan, out var shape);
        return (int[])shape.Clone();
    }
}
