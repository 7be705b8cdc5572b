namespace Learner.Data;

/// <summary>Base class of the data layer's typed errors: every message names the offending scan, patient, file, line or value.</summary>
public class LearnerDataException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public LearnerDataException(string message) : base(message) { }

    /// <summary>Creates the exception with an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="inner">The cause.</param>
    public LearnerDataException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Two scans share one identifier.</summary>
public sealed class DuplicateScanIdException : LearnerDataException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="scanId">The repeated identifier.</param>
    /// <param name="where">Where the repeat was found (a manifest line, for instance), or null.</param>
    public DuplicateScanIdException(string scanId, string? where = null)
        : base($"Scan id '{scanId}' occurs more than once{(where is null ? "" : " (" + where + ")")}; scan ids must be unique.") => ScanId = scanId;

    /// <summary>The repeated identifier.</summary>
    public string ScanId { get; }
}

/// <summary>A scan or a query names a patient that the dataset does not know.</summary>
public sealed class UnknownPatientException : LearnerDataException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="patientId">The unknown patient identifier.</param>
    /// <param name="context">What referred to it (a scan id, for instance), or null.</param>
    public UnknownPatientException(string patientId, string? context = null)
        : base($"Unknown patient '{patientId}'{(context is null ? "" : " (" + context + ")")}.") => PatientId = patientId;

    /// <summary>The unknown patient identifier.</summary>
    public string PatientId { get; }
}

/// <summary>A scan has no health score (missing or NaN) where one is needed: its pretraining <see cref="Scan.Score"/>, or
/// the <see cref="Scan.ChangeScore"/> (exact score, else score) that change labels are derived from.</summary>
public sealed class MissingScoreException : LearnerDataException
{
    /// <summary>Creates the exception for a missing pretraining score (<see cref="Scan.Score"/>).</summary>
    /// <param name="scanId">The scan.</param>
    /// <param name="value">The score found: null when missing, NaN or infinity otherwise.</param>
    /// <param name="purpose">What needed the score.</param>
    public MissingScoreException(string scanId, double? value, string purpose) : this(scanId, value, purpose, forChangeLabels: false) { }

    /// <summary>Creates the exception.</summary>
    /// <param name="scanId">The scan.</param>
    /// <param name="value">The score found: null when missing, NaN or infinity otherwise.</param>
    /// <param name="purpose">What needed the score.</param>
    /// <param name="forChangeLabels">True when the missing score is the <see cref="Scan.ChangeScore"/> that change labels
    /// are derived from (the message then says so and names both sources); false for the pretraining score.</param>
    public MissingScoreException(string scanId, double? value, string purpose, bool forChangeLabels)
        : base(Describe(scanId, value, purpose, forChangeLabels))
    {
        ScanId = scanId;
        Value = value;
        ForChangeLabels = forChangeLabels;
    }

    /// <summary>The scan.</summary>
    public string ScanId { get; }

    /// <summary>The score found: null when missing.</summary>
    public double? Value { get; }

    /// <summary>Whether the missing score is the one change labels are derived from (exact score, else score) rather than
    /// the pretraining score.</summary>
    public bool ForChangeLabels { get; }

    private static string Describe(string scanId, double? value, string purpose, bool forChangeLabels)
    {
        string what = forChangeLabels ? "change score (exact score, else score)" : "health score";
        string found = value is null ? "no " + what : "a non-finite " + what + " (" + value.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) + ")";
        string tail = forChangeLabels ? "; change labels are derived from the exact score, or from the score where the scan has no exact score" : "";
        return $"Scan '{scanId}' has {found}, but {purpose} needs one{tail}.";
    }
}

/// <summary>A scan has no coarse label where one is needed.</summary>
public sealed class MissingLabelException : LearnerDataException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="scanId">The scan.</param>
    /// <param name="purpose">What needed the label.</param>
    public MissingLabelException(string scanId, string purpose)
        : base($"Scan '{scanId}' has no coarse label, but {purpose} needs one (assign labels from the data or with LongitudinalDataset.WithCoarseLabels).") => ScanId = scanId;

    /// <summary>The scan.</summary>
    public string ScanId { get; }
}

/// <summary>A manifest row cannot be read: wrong number of columns, a missing required column, a value that does not parse.</summary>
public sealed class ManifestFormatException : LearnerDataException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The manifest file.</param>
    /// <param name="line">The 1-based line number (0 when not tied to a line).</param>
    /// <param name="detail">What is wrong.</param>
    public ManifestFormatException(string path, int line, string detail)
        : base($"{path}{(line > 0 ? ":line " + line : "")}: {detail}")
    {
        Path = path;
        Line = line;
    }

    /// <summary>The manifest file.</summary>
    public string Path { get; }

    /// <summary>The 1-based line number (0 when not tied to a line).</summary>
    public int Line { get; }
}

/// <summary>A payload file named by a scan does not exist.</summary>
public sealed class PayloadNotFoundException : LearnerDataException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The missing file.</param>
    /// <param name="context">Who named it (a scan id or a manifest line), or null.</param>
    public PayloadNotFoundException(string path, string? context = null)
        : base($"Payload file '{path}' does not exist{(context is null ? "" : " (" + context + ")")}.") => Path = path;

    /// <summary>The missing file.</summary>
    public string Path { get; }
}

/// <summary>Payloads that must share a shape (to be stacked into a batch) do not.</summary>
public sealed class RaggedPayloadException : LearnerDataException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="scanId">The scan whose payload differs.</param>
    /// <param name="source">Its payload source (a path, for instance).</param>
    /// <param name="expected">The shape expected.</param>
    /// <param name="actual">The shape found.</param>
    public RaggedPayloadException(string scanId, string source, IReadOnlyList<int> expected, IReadOnlyList<int> actual)
        : base($"Payload of scan '{scanId}' ({source}) has shape [{string.Join(", ", actual)}], but [{string.Join(", ", expected)}] was expected; payloads in one batch must share a shape.")
    {
        ScanId = scanId;
        Expected = expected.ToArray();
        Actual = actual.ToArray();
    }

    /// <summary>The scan whose payload differs.</summary>
    public string ScanId { get; }

    /// <summary>The shape expected.</summary>
    public IReadOnlyList<int> Expected { get; }

    /// <summary>The shape found.</summary>
    public IReadOnlyList<int> Actual { get; }
}

/// <summary>A loaded payload holds a NaN or an infinity. Raised where the payload enters (<see cref="FilePayload.Load()"/>,
/// <see cref="Scan.LoadPayload"/>, hence <see cref="LongitudinalDataset.LoadBatch(ReadOnlySpan{int})"/>), before any
/// value reaches an encoder or objective; the message names the scan, the file, the manifest line and the first bad
/// element.</summary>
public sealed class NonFinitePayloadException : LearnerDataException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="scanId">The scan, or null when the payload was loaded on its own.</param>
    /// <param name="source">The payload's source (its file, for a file payload).</param>
    /// <param name="manifestPath">The manifest the scan was read from, or null.</param>
    /// <param name="manifestLine">The 1-based manifest line of the scan (0 when not read from a manifest).</param>
    /// <param name="shape">The payload's shape.</param>
    /// <param name="elementIndex">The flat (row-major) index of the first non-finite element.</param>
    /// <param name="value">That element's value.</param>
    public NonFinitePayloadException(string? scanId, string source, string? manifestPath, int manifestLine, IReadOnlyList<int> shape, long elementIndex, float value)
        : base(Describe(scanId, source, manifestPath, manifestLine, shape, elementIndex, value))
    {
        ScanId = scanId;
        PayloadSource = source;
        ManifestPath = manifestPath;
        ManifestLine = manifestLine;
        Shape = shape.ToArray();
        ElementIndex = elementIndex;
        Value = value;
    }

    /// <summary>The scan, or null when the payload was loaded on its own.</summary>
    public string? ScanId { get; }

    /// <summary>The payload's source (its file, for a file payload).</summary>
    public string PayloadSource { get; }

    /// <summary>The manifest the scan was read from, or null.</summary>
    public string? ManifestPath { get; }

    /// <summary>The 1-based manifest line of the scan (0 when not read from a manifest).</summary>
    public int ManifestLine { get; }

    /// <summary>The payload's shape.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The flat (row-major) index of the first non-finite element.</summary>
    public long ElementIndex { get; }

    /// <summary>The first non-finite value (NaN or ±infinity).</summary>
    public float Value { get; }

    private static string Describe(string? scanId, string source, string? manifestPath, int manifestLine, IReadOnlyList<int> shape, long index, float value)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        var position = new long[shape.Count];
        long rest = index;
        for (int d = shape.Count - 1; d >= 0; d--)
        {
            int n = Math.Max(1, shape[d]);
            position[d] = rest % n;
            rest /= n;
        }
        string who = scanId is null ? "A payload" : $"The payload of scan '{scanId}'";
        string where = manifestPath is null ? "" : manifestLine > 0 ? $", {manifestPath} line {manifestLine.ToString(c)}" : $", {manifestPath}";
        return $"{who} ({source}{where}) holds {value.ToString(c)} at element {index.ToString(c)} (index [{string.Join(", ", position.Select(p => p.ToString(c)))}] of shape [{string.Join(", ", shape.Select(s => s.ToString(c)))}]); payload values must be finite (fix or drop the file).";
    }
}
