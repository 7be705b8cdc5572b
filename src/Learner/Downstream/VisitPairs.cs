using Learner.Data;
using Learner.Sampling;

namespace Learner.Downstream;

/// <summary>One visit of one patient: the scans acquired at one time (e.g. the four clips of a day).</summary>
/// <param name="PatientIndex">The patient's position in the dataset.</param>
/// <param name="PatientId">The patient's id.</param>
/// <param name="VisitIndex">0-based visit within the patient.</param>
/// <param name="ScanIndices">The dataset positions of the visit's scans.</param>
/// <param name="ChangeScore">The mean <see cref="Scan.ChangeScore"/> of those scans (what visit change labels use).</param>
public sealed record Visit(int PatientIndex, string PatientId, int VisitIndex, int[] ScanIndices, double ChangeScore);

/// <summary>
/// The visit-level view of a dataset for change prediction: a visit's scans are aggregated (the mean of their embeddings)
/// and consecutive visits of one patient form one pair, labelled from the change of the visits' mean change scores. This
/// is the paper's comparison of a day's scans with the next day's, where the clip-level view
/// (<see cref="IntraPatientPairSampler"/>) pairs every clip of one day with every clip of the next.
/// </summary>
/// <remarks>Immutable; <see cref="Pairs"/> index <see cref="Visits"/> (not scans).</remarks>
public sealed class VisitPairs
{
    private readonly Visit[] _visits;
    private readonly ConsecutivePair[] _pairs;

    /// <summary>Groups the scans into visits and pairs consecutive visits.</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="thresholds">How a change of visit score maps to improved / stable / worsened.</param>
    /// <exception cref="MissingScoreException">A scan of a patient with two or more visits has no finite change score.</exception>
    public VisitPairs(LongitudinalDataset dataset, ChangeThresholds thresholds)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(thresholds);
        Dataset = dataset;
        Thresholds = thresholds;
        var visits = new List<Visit>();
        var pairs = new List<ConsecutivePair>();
        foreach (var patient in dataset.Patients)
        {
            int first = visits.Count;
            foreach (var group in patient.Scans.GroupBy(s => s.VisitIndex).OrderBy(g => g.Key))
            {
                var scans = group.ToArray();
                double score = patient.VisitCount < 2 ? double.NaN : scans.Average(s => s.RequireChangeScore("labelling visit-level change"));
                visits.Add(new Visit(patient.Index, patient.Id, group.Key, scans.Select(s => s.Index).ToArray(), score));
            }
            for (int v = first; v + 1 < visits.Count; v++)
            {
                double before = visits[v].ChangeScore, after = visits[v + 1].ChangeScore;
                pairs.Add(new ConsecutivePair(v, v + 1, thresholds.Classify(before, after, dataset.HigherIsHealthier),
                    (float)thresholds.HealthChange(before, after, dataset.HigherIsHealthier)));
            }
        }
        _visits = visits.ToArray();
        _pairs = pairs.ToArray();
    }

    /// <summary>The dataset.</summary>
    public LongitudinalDataset Dataset { get; }

    /// <summary>The thresholds.</summary>
    public ChangeThresholds Thresholds { get; }

    /// <summary>Every visit, by patient and time.</summary>
    public IReadOnlyList<Visit> Visits => _visits;

    /// <summary>Consecutive-visit pairs; <see cref="ConsecutivePair.Before"/> and <see cref="ConsecutivePair.After"/>
    /// index <see cref="Visits"/>.</summary>
    public IReadOnlyList<ConsecutivePair> Pairs => _pairs;

    /// <summary>The patient (dataset position) of every pair.</summary>
    /// <returns>One patient index per pair.</returns>
    public int[] PairPatients() => _pairs.Select(p => _visits[p.Before].PatientIndex).ToArray();

    /// <summary>Visit embeddings: the mean of each visit's scan embeddings.</summary>
    /// <param name="scanEmbeddings">Row-major N×D embeddings of the dataset's scans.</param>
    /// <param name="dimension">D.</param>
    /// <returns>Row-major V×D visit embeddings, in <see cref="Visits"/> order.</returns>
    /// <exception cref="ArgumentException">The embeddings do not hold N×D values.</exception>
    public float[] MeanEmbeddings(ReadOnlySpan<float> scanEmbeddings, int dimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        if (scanEmbeddings.Length != (long)Dataset.ScanCount * dimension)
            throw new ArgumentException($"{scanEmbeddings.Length} embedding values for {Dataset.ScanCount} scans of dimension {dimension}.", nameof(scanEmbeddings));
        var result = new float[(long)_visits.Length * dimension];
        for (int v = 0; v < _visits.Length; v++)
        {
            var row = result.AsSpan(v * dimension, dimension);
            foreach (int s in _visits[v].ScanIndices)
                System.Numerics.Tensors.TensorPrimitives.Add(row, scanEmbeddings.Slice(s * dimension, dimension), row);
            System.Numerics.Tensors.TensorPrimitives.Multiply(row, 1f / _visits[v].ScanIndices.Length, row);
        }
        return result;
    }

    /// <summary>
    /// Visit-level change prediction, held out: the change classifier is fit on the visit-embedding differences of
    /// <paramref name="trainPatients"/>' consecutive visits and predicts those of <paramref name="testPatients"/>.
    /// </summary>
    /// <param name="scanEmbeddings">Row-major N×D scan embeddings (rows of patients in neither set are not read).</param>
    /// <param name="dimension">D.</param>
    /// <param name="trainPatients">Patients whose visit pairs fit the classifier.</param>
    /// <param name="testPatients">Patients whose visit pairs are predicted (disjoint from the training patients).</param>
    /// <param name="options">The classifier settings.</param>
    /// <returns>The predictions of the test pairs and the indices into <see cref="Pairs"/> they belong to.</returns>
    /// <exception cref="PatientLeakageException">A patient is in both sets.</exception>
    /// <exception cref="ArgumentException">No training or no test pair.</exception>
    public (ChangeEvaluationResult Result, int[] PairIndices) FitAndPredict(ReadOnlySpan<float> scanEmbeddings, int dimension,
        IReadOnlyCollection<string> trainPatients, IReadOnlyCollection<string> testPatients, ChangeClassifierOptions? options = null)
        => FitAndPredictOnVisits(MeanEmbeddings(scanEmbeddings, dimension), dimension, trainPatients, testPatients, options);

    /// <summary><see cref="FitAndPredict"/> on visit embeddings already pooled: averaged by <see cref="MeanEmbeddings"/>,
    /// or weighted by a pooling fit on the training patients (<see cref="AttentionVisitPooling.Pool"/>).</summary>
    /// <param name="visitEmbeddings">Row-major V×D visit embeddings, in <see cref="Visits"/> order.</param>
    /// <param name="dimension">D.</param>
    /// <param name="trainPatients">Patients whose visit pairs fit the classifier.</param>
    /// <param name="testPatients">Patients whose visit pairs are predicted (disjoint from the training patients).</param>
    /// <param name="options">The classifier settings.</param>
    /// <returns>The predictions of the test pairs and the indices into <see cref="Pairs"/> they belong to.</returns>
    /// <exception cref="PatientLeakageException">A patient is in both sets.</exception>
    /// <exception cref="ArgumentException">No training or no test pair.</exception>
    public (ChangeEvaluationResult Result, int[] PairIndices) FitAndPredictOnVisits(float[] visitEmbeddings, int dimension,
        IReadOnlyCollection<string> trainPatients, IReadOnlyCollection<string> testPatients, ChangeClassifierOptions? options = null)
        => ChangeEvaluation.FitAndPredictPairs(ChangeEvaluation.Differences(visitEmbeddings, dimension, _pairs), dimension, _pairs,
            p => _visits[_pairs[p].Before].PatientId, p => _visits[_pairs[p].Before].PatientIndex, trainPatients, testPatients, options, "visit-level ");
}
