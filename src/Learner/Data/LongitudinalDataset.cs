using System.Globalization;
using Learner.Nn;

namespace Learner.Data;

/// <summary>
/// Many patients, each with scans over time. Scans are grouped by patient (patients in order of first appearance)
/// and ordered by time within a patient, so a patient's scans are a contiguous range of <see cref="Scans"/>.
/// The health-score direction is explicit: <see cref="HigherIsHealthier"/> is true for S/F ratio and MMSE.
/// </summary>
public sealed partial class LongitudinalDataset
{
    private readonly Scan[] _scans;
    private readonly Patient[] _patients;
    private readonly Dictionary<string, int> _scanById;
    private readonly Dictionary<string, int> _patientById;
    private readonly PayloadCache _cache;
    private readonly ScanNormalization? _normalization;

    /// <summary>Builds a dataset.</summary>
    /// <param name="scans">The scans, in any order.</param>
    /// <param name="higherIsHealthier">Whether a higher health score means a healthier patient.</param>
    /// <param name="patientIds">The known patients, when the caller has a patient table: a scan naming any other
    /// patient is an error, and listed patients without scans are dropped. Null accepts every patient the scans name.</param>
    /// <exception cref="DuplicateScanIdException">Two scans share an identifier.</exception>
    /// <exception cref="UnknownPatientException">A scan names a patient not in <paramref name="patientIds"/>.</exception>
    /// <remarks>The dataset gets its own <see cref="PayloadCache"/> of <see cref="PayloadCache.DefaultBudgetBytes"/> (what
    /// every cache of the process holds together is bounded by that budget too);
    /// <see cref="WithPayloadCache"/> chooses another.</remarks>
    public LongitudinalDataset(IEnumerable<Scan> scans, bool higherIsHealthier, IEnumerable<string>? patientIds = null)
        : this(scans, higherIsHealthier, patientIds, null, null)
    {
    }

    private LongitudinalDataset(IEnumerable<Scan> scans, bool higherIsHealthier, IEnumerable<string>? patientIds, PayloadCache? cache, ScanNormalization? normalization)
    {
        _cache = cache ?? new PayloadCache(PayloadCache.DefaultBudgetBytes);
        _normalization = normalization;
        ArgumentNullException.ThrowIfNull(scans);
        HigherIsHealthier = higherIsHealthier;
        HashSet<string>? known = patientIds is null ? null : new HashSet<string>(patientIds, StringComparer.Ordinal);

        var input = scans.ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var groups = new Dictionary<string, List<Scan>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var s in input)
        {
            ArgumentNullException.ThrowIfNull(s, nameof(scans));
            if (!seen.Add(s.Id)) throw new DuplicateScanIdException(s.Id);
            if (known is not null && !known.Contains(s.PatientId)) throw new UnknownPatientException(s.PatientId, $"named by scan '{s.Id}'");
            if (!groups.TryGetValue(s.PatientId, out var list))
            {
                groups[s.PatientId] = list = new List<Scan>();
                order.Add(s.PatientId);
            }
            list.Add(s);
        }

        _scans = new Scan[input.Count];
        _patients = new Patient[order.Count];
        _scanById = new Dictionary<string, int>(input.Count, StringComparer.Ordinal);
        _patientById = new Dictionary<string, int>(order.Count, StringComparer.Ordinal);
        int next = 0;
        for (int p = 0; p < order.Count; p++)
        {
            var list = groups[order[p]];
            // Stable sort by time: equal times (several clips of one visit) keep their input order.
            var sorted = list.Select((s, i) => (s, i)).OrderBy(x => x.s.Time).ThenBy(x => x.i).Select(x => x.s).ToArray();
            var attached = new Scan[sorted.Length];
            int visit = -1;
            double lastTime = double.NegativeInfinity;
            for (int i = 0; i < sorted.Length; i++)
            {
                if (i == 0 || sorted[i].Time != lastTime) { visit++; lastTime = sorted[i].Time; }
                attached[i] = sorted[i].Attach(next + i, p, visit);
                _scans[next + i] = attached[i];
                _scanById[attached[i].Id] = next + i;
            }
            _patients[p] = new Patient(order[p], p, next, attached, visit + 1);
            _patientById[order[p]] = p;
            next += sorted.Length;
        }
        LabelCount = _scans.Length == 0 ? 0 : _scans.Max(s => s.CoarseLabel ?? -1) + 1;
    }

    private LongitudinalDataset(LongitudinalDataset source, PayloadCache cache, ScanNormalization? normalization)
    {
        _normalization = normalization;
        _scans = source._scans;
        _patients = source._patients;
        _scanById = source._scanById;
        _patientById = source._patientById;
        HigherIsHealthier = source.HigherIsHealthier;
        LabelCount = source.LabelCount;
        _cache = cache;
    }

    /// <summary>The store of decoded payloads that <see cref="LoadBatch(ReadOnlySpan{int}, int, Func{Tensor, int, Tensor}?)"/>
    /// reads through, shared with the datasets derived from this one; its <see cref="PayloadCache.Statistics"/> count
    /// decodes and the time spent assembling batches.</summary>
    public PayloadCache PayloadCache => _cache;

    /// <summary>The same scans reading their payloads through <paramref name="cache"/> (e.g. <c>new PayloadCache(0)</c>
    /// to decode on every use, or a larger budget); the datasets derived from the result share it.</summary>
    /// <param name="cache">The cache.</param>
    /// <returns>The dataset (the scans and patients are shared, not copied).</returns>
    public LongitudinalDataset WithPayloadCache(PayloadCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        return new LongitudinalDataset(this, cache, _normalization);
    }

    /// <summary>The per-scan normalisation its payloads get, as applied by <see cref="Preprocess.NormalizeIntensities"/>
    /// (kept by every dataset derived from that one), or null for payloads as stored whose normalisation is not recorded
    /// (a dataset built from scans, a manifest, a synthetic cohort). A pretrainer normalises a dataset with null here by
    /// its <see cref="Training.PretrainingOptions.InputNormalization"/>.</summary>
    public ScanNormalization? Normalization => _normalization;

    /// <summary>The same scans recorded as normalised by <paramref name="normalization"/> (whose payloads already are).</summary>
    internal LongitudinalDataset WithNormalization(ScanNormalization normalization) => new(this, _cache, normalization);

    /// <summary>Whether a higher health score means a healthier patient.</summary>
    public bool HigherIsHealthier { get; }

    /// <summary>All scans, grouped by patient and ordered by time within each patient.</summary>
    public IReadOnlyList<Scan> Scans => _scans;

    /// <summary>All patients, in order of first appearance.</summary>
    public IReadOnlyList<Patient> Patients => _patients;

    /// <summary>Number of scans.</summary>
    public int ScanCount => _scans.Length;

    /// <summary>Number of patients.</summary>
    public int PatientCount => _patients.Length;

    /// <summary>One more than the largest coarse label present (0 when no scan has a label).</summary>
    public int LabelCount { get; }

    /// <summary>Number of patients with a single visit (a single scan, or several scans at one time): they give no
    /// intra-patient pair. Not an error; reported so that callers can see how much of the data is cross-sectional.</summary>
    public int SingleVisitPatientCount => _patients.Count(p => p.VisitCount < 2);

    /// <summary>The scan with identifier <paramref name="scanId"/>.</summary>
    /// <param name="scanId">The identifier.</param>
    /// <returns>The scan.</returns>
    /// <exception cref="LearnerDataException">No scan has this identifier.</exception>
    public Scan GetScan(string scanId) =>
        TryGetScan(scanId, out var s) ? s : throw new LearnerDataException($"Unknown scan '{scanId}'.");

    /// <summary>Looks up a scan by identifier.</summary>
    /// <param name="scanId">The identifier.</param>
    /// <param name="scan">The scan when found.</param>
    /// <returns>Whether it was found.</returns>
    public bool TryGetScan(string scanId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Scan? scan)
    {
        ArgumentNullException.ThrowIfNull(scanId);
        if (_scanById.TryGetValue(scanId, out int i)) { scan = _scans[i]; return true; }
        scan = null;
        return false;
    }

    /// <summary>The patient with identifier <paramref name="patientId"/>.</summary>
    /// <param name="patientId">The identifier.</param>
    /// <returns>The patient.</returns>
    /// <exception cref="UnknownPatientException">No such patient.</exception>
    public Patient GetPatient(string patientId)
    {
        ArgumentNullException.ThrowIfNull(patientId);
        return _patientById.TryGetValue(patientId, out int p) ? _patients[p] : throw new UnknownPatientException(patientId);
    }

    /// <summary>Whether the dataset has a patient with this identifier.</summary>
    /// <param name="patientId">The identifier.</param>
    /// <returns>Whether it does.</returns>
    public bool ContainsPatient(string patientId) => _patientById.ContainsKey(patientId);

    /// <summary>The smallest and largest health score.</summary>
    /// <param name="purpose">What needs the scores (for the error message).</param>
    /// <returns>The range.</returns>
    /// <exception cref="MissingScoreException">A scan has no finite score.</exception>
    /// <exception cref="InvalidOperationException">The dataset is empty.</exception>
    public (double Min, double Max) ScoreRange(string purpose = "the score range")
    {
        if (_scans.Length == 0) throw new InvalidOperationException("The dataset has no scans.");
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var s in _scans)
        {
            double v = s.RequireScore(purpose);
            if (v < min) min = v;
            if (v > max) max = v;
        }
        return (min, max);
    }

    /// <summary>Every scan's score as float32, in <see cref="Scans"/> order.</summary>
    /// <param name="purpose">What needs the scores (for the error message).</param>
    /// <returns>A new array.</returns>
    /// <exception cref="MissingScoreException">A scan has no finite score.</exception>
    public float[] ScoresAsSingle(string purpose = "this operation")
    {
        var r = new float[_scans.Length];
        for (int i = 0; i < r.Length; i++) r[i] = (float)_scans[i].RequireScore(purpose);
        return r;
    }

    /// <summary>The same scans with their payloads replaced by <paramref name="map"/> (derived payloads such as a
    /// normalised view), sharing this dataset's payload cache and its budget.</summary>
    internal LongitudinalDataset WithPayloads(Func<IScanPayload, IScanPayload> map, ScanNormalization normalization) =>
        new(_scans.Select(s => s.Payload is { } payload ? s.WithPayload(map(payload)) : s), HigherIsHealthier, null, _cache, normalization);

    /// <summary>A dataset whose coarse labels are the bins of each scan's score (scores and exact scores are kept).</summary>
    /// <param name="binning">The binning; its direction must match the dataset's.</param>
    /// <returns>The relabelled dataset.</returns>
    /// <exception cref="MissingScoreException">A scan has no finite score.</exception>
    /// <exception cref="ArgumentException">The binning's direction differs from the dataset's.</exception>
    public LongitudinalDataset WithCoarseLabels(ScoreBinning binning)
    {
        CheckDirection(binning);
        return new LongitudinalDataset(_scans.Select(s => s.WithCoarseLabel(binning.Assign(s.RequireScore("coarse-label binning")))), HigherIsHealthier, null, _cache, _normalization);
    }

    /// <summary>
    /// The "pretrain on coarse, judge on exact" cohort in one call: every scan's <see cref="Scan.Score"/> is replaced by
    /// the representative value of its bin, <see cref="Scan.CoarseLabel"/> becomes the bin, and
    /// <see cref="Scan.ExactScore"/> keeps the original score (a scan that already has an exact score keeps that one), so
    /// change labels still come from the exact scores.
    /// </summary>
    /// <remarks>The representative value is the <b>mean of this dataset's scores in the bin</b>
    /// (<see cref="ScoreBinning.BinMeans"/>), not the bin centre: the outer bins are unbounded, so they have no centre,
    /// and the mean is the value that minimises the squared error to the scores it replaces (the best constant a score
    /// regression could learn from the bin). Call it on the training patients and pass the means to
    /// <see cref="WithCoarseScores(ScoreBinning, IReadOnlyList{double})"/> for the held-out ones to keep their scores out
    /// of the representatives; pass band midpoints there to mimic clinical bands.</remarks>
    /// <param name="binning">The binning of <see cref="Scan.Score"/>; its direction must match the dataset's.</param>
    /// <returns>The coarse-score dataset.</returns>
    /// <exception cref="MissingScoreException">A scan has no finite score.</exception>
    /// <exception cref="ArgumentException">The binning's direction differs from the dataset's.</exception>
    public LongitudinalDataset WithCoarseScores(ScoreBinning binning)
    {
        CheckDirection(binning);
        return WithCoarseScores(binning, binning.BinMeans(_scans.Select(s => s.RequireScore("coarse-score binning"))));
    }

    /// <summary>As <see cref="WithCoarseScores(ScoreBinning)"/>, with the representative score of each bin given:
    /// bin <c>k</c>'s scans get <c>binScores[k]</c> as their <see cref="Scan.Score"/>.</summary>
    /// <param name="binning">The binning of <see cref="Scan.Score"/>; its direction must match the dataset's.</param>
    /// <param name="binScores">One value per bin, indexed by label (e.g. training-set bin means or band midpoints); a
    /// bin that a scan falls in must have a finite value.</param>
    /// <returns>The coarse-score dataset.</returns>
    /// <exception cref="MissingScoreException">A scan has no finite score.</exception>
    /// <exception cref="ArgumentException">The binning's direction differs from the dataset's, the number of values is
    /// not the number of bins, or a scan falls in a bin whose value is not finite (the message names scan and bin).</exception>
    public LongitudinalDataset WithCoarseScores(ScoreBinning binning, IReadOnlyList<double> binScores)
    {
        CheckDirection(binning);
        ArgumentNullException.ThrowIfNull(binScores);
        if (binScores.Count != binning.BinCount)
            throw new ArgumentException($"{binScores.Count} bin scores were given for {binning.BinCount} bins.", nameof(binScores));
        var coarse = new Scan[_scans.Length];
        for (int i = 0; i < coarse.Length; i++)
        {
            var s = _scans[i];
            double exact = s.RequireScore("coarse-score binning");
            int bin = binning.Assign(exact);
            double value = binScores[bin];
            if (!double.IsFinite(value))
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Scan '{s.Id}' (score {exact:G6}) falls in bin {bin}, whose coarse score {value} is not finite."), nameof(binScores));
            coarse[i] = new Scan(s.Id, s.PatientId, s.Time, value, bin, s.Payload, s.ExactScore ?? exact);
        }
        return new LongitudinalDataset(coarse, HigherIsHealthier, null, _cache, _normalization);
    }

    /// <summary>A label-only dataset for experiments without a score target: every <see cref="Scan.Score"/> is removed,
    /// coarse labels are kept, and <see cref="Scan.ExactScore"/> keeps the exact score (the original score where the
    /// scan had no exact one), so change labels can still be derived for evaluation.</summary>
    /// <remarks>Objectives and samplers that need scores then raise <see cref="MissingScoreException"/>; scans without a
    /// coarse label are kept and fail only where a label is needed (<see cref="MissingLabelException"/>).</remarks>
    /// <returns>The dataset without pretraining scores.</returns>
    public LongitudinalDataset WithoutScores() =>
        new(_scans.Select(s => new Scan(s.Id, s.PatientId, s.Time, null, s.CoarseLabel, s.Payload, s.ExactScore ?? s.Score)), HigherIsHealthier, null, _cache, _normalization);

    private void CheckDirection(ScoreBinning binning)
    {
        ArgumentNullException.ThrowIfNull(binning);
        if (binning.HigherIsHealthier != HigherIsHealthier)
            throw new ArgumentException($"The binning says higher-is-healthier = {binning.HigherIsHealthier}, the dataset says {HigherIsHealthier}.", nameof(binning));
    }

    /// <summary>A dataset whose coarse labels are the quantile bins of the scores (see <see cref="ScoreBinning.FromQuantiles"/>).</summary>
    /// <param name="binCount">Bins wanted.</param>
    /// <returns>The relabelled dataset.</returns>
    public LongitudinalDataset WithQuantileLabels(int binCount) =>
        WithCoarseLabels(ScoreBinning.FromQuantiles(_scans.Select(s => s.RequireScore("quantile binning")), binCount, HigherIsHealthier));

    /// <summary>The dataset restricted to the listed patients (whole patients only: a patient's scans are never split).</summary>
    /// <param name="patientIds">The patients to keep.</param>
    /// <returns>The subset, with patients in this dataset's order.</returns>
    /// <exception cref="UnknownPatientException">A listed patient is not in this dataset.</exception>
    public LongitudinalDataset SubsetByPatients(IEnumerable<string> patientIds)
    {
        ArgumentNullException.ThrowIfNull(patientIds);
        var keep = new bool[_patients.Length];
        foreach (var id in patientIds)
        {
            if (!_patientById.TryGetValue(id, out int p)) throw new UnknownPatientException(id, "asked for in a patient subset");
            keep[p] = true;
        }
        return new LongitudinalDataset(_patients.Where(p => keep[p.Index]).SelectMany(p => p.Scans), HigherIsHealthier, null, _cache, _normalization);
    }

    /// <summary>Checks that every file-backed payload exists.</summary>
    /// <exception cref="PayloadNotFoundException">A payload file is missing; the message names the file and the scan.</exception>
    public void CheckPayloadFiles()
    {
        foreach (var s in _scans)
            if (s.Payload is FilePayload f && !File.Exists(f.Path)) throw new PayloadNotFoundException(f.Path, $"scan '{s.Id}'");
    }

    /// <summary>A short description.</summary>
    /// <returns>The description.</returns>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"LongitudinalDataset ({PatientCount} patients, {ScanCount} scans, {(HigherIsHealthier ? "higher" : "lower")} score is healthier)");
}
