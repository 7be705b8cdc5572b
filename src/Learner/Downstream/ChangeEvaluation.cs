using Learner.Data;
using Learner.Metrics;
using Learner.Sampling;

namespace Learner.Downstream;

/// <summary>The pooled out-of-fold result of a patient-grouped cross-validation of change prediction.</summary>
/// <param name="Truth">True change class of every evaluated pair (0 worsened, 1 stable, 2 improved).</param>
/// <param name="Predicted">Out-of-fold prediction of every pair.</param>
/// <param name="Probabilities">Out-of-fold class probabilities, row-major N×3.</param>
/// <param name="PatientIndices">The patient of every pair (for bootstrap CIs resampling patients).</param>
/// <param name="Folds">Number of folds.</param>
public sealed record ChangeEvaluationResult(int[] Truth, int[] Predicted, float[] Probabilities, int[] PatientIndices, int Folds)
{
    /// <summary>Accuracy of the pooled predictions.</summary>
    public double Accuracy => Classification.Accuracy(Truth, Predicted, 3);

    /// <summary>Macro-averaged F1 of the pooled predictions.</summary>
    public double MacroF1 => Classification.MacroF1(Truth, Predicted, 3);

    /// <summary>Quadratic-weighted Cohen's kappa (the change classes are ordinal).</summary>
    public double QuadraticKappa => Classification.CohenKappa(Truth, Predicted, 3);
}

/// <summary>Three-way change prediction from embedding differences, always split by patient: held out
/// (<see cref="FitAndPredict"/>: fit on some patients' pairs, predict other patients') or patient-grouped k-fold
/// cross-validation (<see cref="CrossValidate"/>); no patient's pairs are ever on both sides. Either is a held-out
/// estimate only if the encoder that made the embeddings did not pretrain on the predicted patients.</summary>
public static class ChangeEvaluation
{
    /// <summary>Builds the features d = u(after) − u(before) of same-patient consecutive pairs.</summary>
    /// <param name="embeddings">Row-major N×D embeddings of the dataset's scans.</param>
    /// <param name="dimension">D.</param>
    /// <param name="pairs">Consecutive pairs (from <see cref="IntraPatientPairSampler.Pairs"/>).</param>
    /// <returns>Row-major P×D differences.</returns>
    public static float[] Differences(ReadOnlySpan<float> embeddings, int dimension, IReadOnlyList<ConsecutivePair> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        int n = embeddings.Length / dimension;
        var d = new float[pairs.Count * dimension];
        for (int p = 0; p < pairs.Count; p++)
        {
            var (before, after) = (pairs[p].Before, pairs[p].After);
            if ((uint)before >= (uint)n || (uint)after >= (uint)n)
                throw new ArgumentException($"Pair {p} ({before} → {after}) refers to a scan outside the {n} embeddings.", nameof(pairs));
            System.Numerics.Tensors.TensorPrimitives.Subtract(embeddings.Slice(after * dimension, dimension), embeddings.Slice(before * dimension, dimension), d.AsSpan(p * dimension, dimension));
        }
        return d;
    }

    /// <summary>Patient-grouped k-fold cross-validation of a change classifier on embedding differences.</summary>
    /// <param name="dataset">The dataset the embeddings and pairs index.</param>
    /// <param name="embeddings">Row-major N×D embeddings of <c>dataset.Scans</c>.</param>
    /// <param name="dimension">D.</param>
    /// <param name="thresholds">How score changes map to change labels.</param>
    /// <param name="folds">Number of folds (≥ 2).</param>
    /// <param name="seed">Seed of the fold assignment.</param>
    /// <param name="options">Classifier settings.</param>
    /// <returns>The pooled out-of-fold predictions.</returns>
    /// <exception cref="PatientLeakageException">A patient landed in both parts of a fold (a bug guard).</exception>
    public static ChangeEvaluationResult CrossValidate(LongitudinalDataset dataset, ReadOnlySpan<float> embeddings, int dimension,
        ChangeThresholds thresholds, int folds = 5, int seed = 1, ChangeClassifierOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (embeddings.Length != dataset.ScanCount * dimension)
            throw new ArgumentException($"{embeddings.Length} embedding values for {dataset.ScanCount} scans of dimension {dimension}.", nameof(embeddings));
        var pairs = new IntraPatientPairSampler(dataset, thresholds).Pairs;
        if (pairs.Count == 0) throw new ArgumentException("The dataset has no same-patient consecutive pairs to evaluate.", nameof(dataset));
        var features = Differences(embeddings, dimension, pairs);
        var truth = new List<int>(); var predicted = new List<int>(); var probs = new List<float>(); var patients = new List<int>();
        foreach (var fold in PatientSplits.KFold(dataset, folds, seed))
        {
            PatientSplits.EnsureDisjoint(("train", fold.Train), ("test", fold.Test));
            var trainRows = new List<int>(); var testRows = new List<int>();
            for (int p = 0; p < pairs.Count; p++)
            {
                string patient = dataset.Scans[pairs[p].Before].PatientId;
                if (fold.Test.ContainsPatient(patient)) testRows.Add(p);
                else if (fold.Train.ContainsPatient(patient)) trainRows.Add(p);
            }
            if (testRows.Count == 0 || trainRows.Count == 0) continue;
            var xTrain = Gather(features, dimension, trainRows);
            var yTrain = trainRows.Select(r => (int)pairs[r].Change).ToArray();
            var xTest = Gather(features, dimension, testRows);
            var clf = new ChangeClassifier(options).Fit(xTrain, dimension, yTrain, 3);
            var p3 = clf.PredictProbabilities(xTest);
            predicted.AddRange(ChangeClassifier.ArgMax(p3, 3));
            foreach (int r in testRows)
            {
                truth.Add((int)pairs[r].Change);
                patients.Add(dataset.Scans[pairs[r].Before].PatientIndex);
            }
            probs.AddRange(p3);
        }
        return new ChangeEvaluationResult(truth.ToArray(), predicted.ToArray(), probs.ToArray(), patients.ToArray(), folds);
    }

    /// <summary>
    /// The held-out protocol's change step: fits the change classifier on the consecutive pairs of
    /// <paramref name="trainPatients"/> only and predicts the pairs of <paramref name="testPatients"/>. Pairs of any other
    /// patient are ignored. The two patient sets must be disjoint.
    /// </summary>
    /// <param name="dataset">The dataset the embeddings index.</param>
    /// <param name="embeddings">Row-major N×D embeddings of <c>dataset.Scans</c> (rows of patients in neither set are not read).</param>
    /// <param name="dimension">D.</param>
    /// <param name="thresholds">How score changes map to change labels (from <see cref="Scan.ChangeScore"/>).</param>
    /// <param name="trainPatients">Patients whose pairs fit the classifier.</param>
    /// <param name="testPatients">Patients whose pairs are predicted.</param>
    /// <param name="options">Classifier settings.</param>
    /// <returns>The predictions of the test pairs (with <see cref="ChangeEvaluationResult.Folds"/> = 1) and the indices of
    /// those pairs in <see cref="IntraPatientPairSampler.Pairs"/> of <paramref name="dataset"/>.</returns>
    /// <exception cref="PatientLeakageException">A patient is in both sets.</exception>
    /// <exception cref="ArgumentException">A set has no consecutive pair.</exception>
    public static (ChangeEvaluationResult Result, int[] PairIndices) FitAndPredict(LongitudinalDataset dataset, ReadOnlySpan<float> embeddings, int dimension,
        ChangeThresholds thresholds, IReadOnlyCollection<string> trainPatients, IReadOnlyCollection<string> testPatients, ChangeClassifierOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(trainPatients);
        ArgumentNullException.ThrowIfNull(testPatients);
        if (embeddings.Length != dataset.ScanCount * dimension)
            throw new ArgumentException($"{embeddings.Length} embedding values for {dataset.ScanCount} scans of dimension {dimension}.", nameof(embeddings));
        var pairs = new IntraPatientPairSampler(dataset, thresholds).Pairs;
        return FitAndPredictPairs(Differences(embeddings, dimension, pairs), dimension, pairs, p => dataset.Scans[pairs[p].Before].PatientId,
            p => dataset.Scans[pairs[p].Before].PatientIndex, trainPatients, testPatients, options, "");
    }

    /// <summary>The one held-out fit-and-predict on pair features, for scan pairs and for visit pairs
    /// (<see cref="VisitPairs.FitAndPredict"/>): refuses a patient in both sets, fits the classifier on the training
    /// patients' pairs only and predicts the test patients' pairs; pairs of patients in neither set are not used.</summary>
    /// <param name="features">Row-major P×D features of <paramref name="pairs"/>.</param>
    /// <param name="dimension">D.</param>
    /// <param name="pairs">The pairs (their change labels).</param>
    /// <param name="patientId">The patient id of pair p.</param>
    /// <param name="patientIndex">The dataset position of pair p's patient.</param>
    /// <param name="trainPatients">Patients whose pairs fit the classifier.</param>
    /// <param name="testPatients">Patients whose pairs are predicted.</param>
    /// <param name="options">Classifier settings.</param>
    /// <param name="level">"" for scan pairs, or a prefix such as "visit-level " for messages.</param>
    internal static (ChangeEvaluationResult Result, int[] PairIndices) FitAndPredictPairs(float[] features, int dimension, IReadOnlyList<ConsecutivePair> pairs,
        Func<int, string> patientId, Func<int, int> patientIndex, IReadOnlyCollection<string> trainPatients, IReadOnlyCollection<string> testPatients,
        ChangeClassifierOptions? options, string level)
    {
        ArgumentNullException.ThrowIfNull(trainPatients);
        ArgumentNullException.ThrowIfNull(testPatients);
        var train = trainPatients as ISet<string> ?? new HashSet<string>(trainPatients, StringComparer.Ordinal);
        var test = testPatients as ISet<string> ?? new HashSet<string>(testPatients, StringComparer.Ordinal);
        foreach (var p in test)
            if (train.Contains(p)) throw new PatientLeakageException(p, level + "classifier fit", level + "held-out prediction");
        var trainRows = new List<int>(); var testRows = new List<int>();
        for (int p = 0; p < pairs.Count; p++)
        {
            string patient = patientId(p);
            if (test.Contains(patient)) testRows.Add(p);
            else if (train.Contains(patient)) trainRows.Add(p);
        }
        if (trainRows.Count == 0) throw new ArgumentException($"The {train.Count} training patients have no consecutive-visit pair to fit the {level}change classifier on.", nameof(trainPatients));
        if (testRows.Count == 0) throw new ArgumentException($"The {test.Count} held-out patients have no consecutive-visit pair to predict.", nameof(testPatients));
        var clf = new ChangeClassifier(options).Fit(Gather(features, dimension, trainRows), dimension, trainRows.Select(r => (int)pairs[r].Change).ToArray(), 3);
        var p3 = clf.PredictProbabilities(Gather(features, dimension, testRows));
        var result = new ChangeEvaluationResult(testRows.Select(r => (int)pairs[r].Change).ToArray(), ChangeClassifier.ArgMax(p3, 3), p3,
            testRows.Select(patientIndex).ToArray(), 1);
        return (result, testRows.ToArray());
    }

    private static float[] Gather(float[] features, int d, List<int> rows)
    {
        var x = new float[rows.Count * d];
        for (int i = 0; i < rows.Count; i++) features.AsSpan(rows[i] * d, d).CopyTo(x.AsSpan(i * d, d));
        return x;
    }
}
