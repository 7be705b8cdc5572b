using System.Globalization;
using Learner.Nn;

namespace Learner.Data;

/// <summary>
/// One acquisition of one patient: an identifier, the patient, an acquisition time (days, months or a visit
/// index — any monotone clock), an optional continuous health score, an optional coarse ordinal label, an optional
/// exact score for evaluation and a lazily loaded payload (a clip T×H×W, a volume D×H×W, or any tensor).
/// </summary>
/// <remarks>
/// <para>Two scores, two roles. <see cref="Score"/> is the <em>pretraining target</em>: what score-using objectives,
/// score-scaled defaults and inter-patient pair gaps read. It may be coarse (a band midpoint, a bin mean).
/// <see cref="ExactScore"/> is the exact measurement, used <em>only</em> to derive the change labels of evaluation
/// (improved / stable / worsened between consecutive visits, see <see cref="ChangeScore"/>). A scan without an exact
/// score falls back to <see cref="Score"/> for its change labels, so a dataset with one score column behaves as before.</para>
/// </remarks>
/// <remarks>Scans are immutable. A <see cref="LongitudinalDataset"/> holds its own copies, whose
/// <see cref="Index"/>, <see cref="PatientIndex"/> and <see cref="VisitIndex"/> locate them in that dataset.</remarks>
public sealed class Scan
{
    /// <summary>Creates a scan.</summary>
    /// <param name="id">Unique scan identifier.</param>
    /// <param name="patientId">The patient's identifier.</param>
    /// <param name="time">Acquisition time; must be finite. Scans of one patient with equal times belong to one visit.</param>
    /// <param name="score">Continuous health score (e.g. S/F ratio, MMSE), or null when unknown.</param>
    /// <param name="coarseLabel">Coarse ordinal health label (0 = least healthy), or null when unknown.</param>
    /// <param name="payload">The payload source, or null for a scan without image data.</param>
    /// <param name="exactScore">The exact health score that change labels of evaluation are derived from, or null to
    /// derive them from <paramref name="score"/> (see <see cref="ChangeScore"/>).</param>
    /// <exception cref="ArgumentException">An identifier is empty or the time is not finite.</exception>
    public Scan(string id, string patientId, double time, double? score = null, int? coarseLabel = null, IScanPayload? payload = null, double? exactScore = null)
    {
        if (string.IsNullOrWhiteSpace(id)) throw new ArgumentException("A scan id must not be empty.", nameof(id));
        if (string.IsNullOrWhiteSpace(patientId)) throw new ArgumentException($"Scan '{id}' has an empty patient id.", nameof(patientId));
        if (!double.IsFinite(time)) throw new ArgumentException($"Scan '{id}' has a non-finite time {time.ToString(CultureInfo.InvariantCulture)}.", nameof(time));
        if (coarseLabel < 0) throw new ArgumentException($"Scan '{id}' has a negative coarse label {coarseLabel}.", nameof(coarseLabel));
        Id = id;
        PatientId = patientId;
        Time = time;
        Score = score;
        CoarseLabel = coarseLabel;
        Payload = payload;
        ExactScore = exactScore;
    }

    /// <summary>Unique scan identifier.</summary>
    public string Id { get; }

    /// <summary>The patient's identifier.</summary>
    public string PatientId { get; }

    /// <summary>Acquisition time (any monotone clock); equal times of one patient form one visit.</summary>
    public double Time { get; }

    /// <summary>The pretraining target: continuous health score read by score-using objectives, score-scaled defaults and
    /// inter-patient pair gaps; may be coarse (e.g. a band midpoint). Null when unknown (NaN is kept as given and rejected
    /// where a score is needed). Never read for change labels when <see cref="ExactScore"/> is present.</summary>
    public double? Score { get; }

    /// <summary>The exact health score, used only to derive the change labels of evaluation (consecutive-visit
    /// improved / stable / worsened and the signed health change); null when the scan has none, in which case change
    /// labels use <see cref="Score"/>. NaN is kept as given and rejected where a change label is needed.</summary>
    public double? ExactScore { get; }

    /// <summary>The score change labels are computed from: <see cref="ExactScore"/> when present, otherwise
    /// <see cref="Score"/> (null when neither is).</summary>
    public double? ChangeScore => ExactScore ?? Score;

    /// <summary>Coarse ordinal health label (0 = least healthy), or null.</summary>
    public int? CoarseLabel { get; }

    /// <summary>The payload source, or null.</summary>
    public IScanPayload? Payload { get; }

    /// <summary>Position of this scan in its dataset's <see cref="LongitudinalDataset.Scans"/>, or −1 outside a dataset.</summary>
    public int Index { get; private set; } = -1;

    /// <summary>Position of this scan's patient in its dataset's <see cref="LongitudinalDataset.Patients"/>, or −1.</summary>
    public int PatientIndex { get; private set; } = -1;

    /// <summary>0-based visit of this scan within its patient (distinct times in increasing order), or −1.</summary>
    public int VisitIndex { get; private set; } = -1;

    /// <summary>Whether the score is present and finite.</summary>
    public bool HasScore => Score is { } s && double.IsFinite(s);

    /// <summary>The score, or a <see cref="MissingScoreException"/> naming this scan and <paramref name="purpose"/>.</summary>
    /// <param name="purpose">What needs the score (for the message).</param>
    /// <returns>The finite score.</returns>
    public double RequireScore(string purpose)
    {
        if (Score is { } s && double.IsFinite(s)) return s;
        throw new MissingScoreException(Id, Score, purpose);
    }

    /// <summary>Whether <see cref="ChangeScore"/> is present and finite.</summary>
    public bool HasChangeScore => ChangeScore is { } s && double.IsFinite(s);

    /// <summary>The score change labels are computed from (<see cref="ChangeScore"/>), or a
    /// <see cref="MissingScoreException"/> naming this scan, <paramref name="purpose"/> and that change labels need it.</summary>
    /// <param name="purpose">What needs the change score (for the message).</param>
    /// <returns>The finite change score.</returns>
    public double RequireChangeScore(string purpose)
    {
        if (ChangeScore is { } s && double.IsFinite(s)) return s;
        throw new MissingScoreException(Id, ChangeScore, purpose, forChangeLabels: true);
    }

    /// <summary>The coarse label, or a <see cref="MissingLabelException"/> naming this scan and <paramref name="purpose"/>.</summary>
    /// <param name="purpose">What needs the label (for the message).</param>
    /// <returns>The label.</returns>
    public int RequireLabel(string purpose) => CoarseLabel ?? throw new MissingLabelException(Id, purpose);

    /// <summary>Loads the payload.</summary>
    /// <returns>A new tensor.</returns>
    /// <exception cref="LearnerDataException">The scan has no payload, or loading it failed (a subtype names the file).</exception>
    /// <exception cref="NonFinitePayloadException">The payload holds a NaN or an infinity (whatever its source; the
    /// message names this scan, the file and manifest line when known, and the first bad element).</exception>
    public Tensor LoadPayload()
    {
        if (Payload is null) throw new LearnerDataException($"Scan '{Id}' has no payload.");
        if (Payload is FilePayload file) return file.Load(Id);
        var t = Payload.Load() ?? throw new LearnerDataException($"The payload of scan '{Id}' ({Payload.Description}) returned no tensor.");
        PayloadValues.CheckFinite(t, Id, Payload.Description, null, 0);
        return t;
    }

    /// <summary>A copy with another coarse label.</summary>
    /// <param name="coarseLabel">The label.</param>
    /// <returns>The copy (not attached to a dataset).</returns>
    public Scan WithCoarseLabel(int? coarseLabel) => new(Id, PatientId, Time, Score, coarseLabel, Payload, ExactScore);

    /// <summary>A copy with another pretraining score; the exact score is kept.</summary>
    /// <param name="score">The score.</param>
    /// <returns>The copy (not attached to a dataset).</returns>
    public Scan WithScore(double? score) => new(Id, PatientId, Time, score, CoarseLabel, Payload, ExactScore);

    /// <summary>A copy with another exact score (the one change labels are derived from).</summary>
    /// <param name="exactScore">The exact score, or null to derive change labels from <see cref="Score"/>.</param>
    /// <returns>The copy (not attached to a dataset).</returns>
    public Scan WithExactScore(double? exactScore) => new(Id, PatientId, Time, Score, CoarseLabel, Payload, exactScore);

    /// <summary>A copy with another payload.</summary>
    /// <param name="payload">The payload source.</param>
    /// <returns>The copy (not attached to a dataset).</returns>
    public Scan WithPayload(IScanPayload? payload) => new(Id, PatientId, Time, Score, CoarseLabel, payload, ExactScore);

    internal Scan Attach(int index, int patientIndex, int visitIndex) =>
        new(Id, PatientId, Time, Score, CoarseLabel, Payload, ExactScore) { Index = index, PatientIndex = patientIndex, VisitIndex = visitIndex };

    /// <summary>A short description.</summary>
    /// <returns>The description.</returns>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"Scan {Id} (patient {PatientId}, t={Time}, score={(Score is null ? "-" : Score.Value.ToString("G6", CultureInfo.InvariantCulture))}{(ExactScore is null ? "" : ", exact=" + ExactScore.Value.ToString("G6", CultureInfo.InvariantCulture))}, label={(CoarseLabel is null ? "-" : CoarseLabel.Value.ToString(CultureInfo.InvariantCulture))})");
}

/// <summary>One patient of a <see cref="LongitudinalDataset"/> and that patient's scans in time order.</summary>
public sealed class Patient
{
    internal Patient(string id, int index, int firstScan, Scan[] scans, int visitCount)
    {
        Id = id;
        Index = index;
        FirstScanIndex = firstScan;
        Scans = scans;
        VisitCount = visitCount;
    }

    /// <summary>The patient identifier.</summary>
    public string Id { get; }

    /// <summary>Position in <see cref="LongitudinalDataset.Patients"/>.</summary>
    public int Index { get; }

    /// <summary>The patient's scans in time order (equal times keep their input order).</summary>
    public IReadOnlyList<Scan> Scans { get; }

    /// <summary>Index in <see cref="LongitudinalDataset.Scans"/> of the patient's first scan; the patient's scans are contiguous there.</summary>
    public int FirstScanIndex { get; }

    /// <summary>Number of scans.</summary>
    public int ScanCount => Scans.Count;

    /// <summary>Number of distinct acquisition times (visits).</summary>
    public int VisitCount { get; }

    /// <summary>A short description.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => $"Patient {Id} ({ScanCount} scans, {VisitCount} visits)";
}
