using Learner.Data;
using Learner.Nn;

namespace Learner.Sampling;

/// <summary>A train / validation / test split by patient: every patient's scans are in exactly one part.</summary>
/// <remarks>Immutable; safe to share between threads.</remarks>
public sealed class PatientSplit
{
    internal PatientSplit(LongitudinalDataset train, LongitudinalDataset validation, LongitudinalDataset test)
    {
        PatientSplits.EnsureDisjoint(("train", train), ("validation", validation), ("test", test));
        Train = train;
        Validation = validation;
        Test = test;
    }

    /// <summary>The training patients.</summary>
    public LongitudinalDataset Train { get; }

    /// <summary>The validation patients.</summary>
    public LongitudinalDataset Validation { get; }

    /// <summary>The test patients.</summary>
    public LongitudinalDataset Test { get; }
}

/// <summary>One fold of a patient-grouped k-fold: the test patients of this fold and the training patients (all others).</summary>
/// <remarks>Immutable; safe to share between threads.</remarks>
public sealed class PatientFold
{
    internal PatientFold(int index, LongitudinalDataset train, LongitudinalDataset test)
    {
        PatientSplits.EnsureDisjoint(("train", train), ($"test fold {index}", test));
        Index = index;
        Train = train;
        Test = test;
    }

    /// <summary>The fold number (0-based).</summary>
    public int Index { get; }

    /// <summary>The patients of the other folds.</summary>
    public LongitudinalDataset Train { get; }

    /// <summary>This fold's patients.</summary>
    public LongitudinalDataset Test { get; }
}

/// <summary>
/// Patient-grouped splits, stratified by coarse label and seeded. The splitting unit is the patient, so leakage cannot
/// happen through this API; <see cref="EnsureDisjoint"/> checks any parts (also ones built by hand) and throws
/// <see cref="PatientLeakageException"/> naming a patient found in two parts.
/// </summary>
/// <remarks>A patient's stratum is its most frequent coarse label (ties to the lower label); patients without labels form one
/// stratum of their own. Within a stratum patients are shuffled with the seed.</remarks>
public static class PatientSplits
{
    /// <summary>Splits patients into train, validation and test parts.</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="validationFraction">Share of patients for validation, in [0, 1).</param>
    /// <param name="testFraction">Share of patients for testing, in [0, 1); with the validation share below 1.</param>
    /// <param name="seed">The seed.</param>
    /// <param name="stratify">Whether to keep each coarse label's share equal across parts.</param>
    /// <returns>The split.</returns>
    public static PatientSplit TrainValidationTest(LongitudinalDataset dataset, double validationFraction, double testFraction, int seed, bool stratify = true)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!(validationFraction >= 0 && testFraction >= 0 && validationFraction + testFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), $"Fractions must be ≥ 0 and sum below 1 (validation {validationFraction}, test {testFraction}).");
        var rng = new Rng(seed);
        var strata = Strata(dataset, stratify, rng);
        var part = new int[dataset.PatientCount]; // 0 train, 1 validation, 2 test
        // Walk the strata in order, assigning by cumulative quota so each part's share holds overall and within strata.
        int position = 0;
        double offsetV = rng.NextDouble(), offsetT = rng.NextDouble();
        int assignedV = 0, assignedT = 0;
        foreach (var group in strata)
            foreach (int p in group)
            {
                position++;
                int wantT = (int)Math.Floor(position * testFraction + offsetT);
                int wantV = (int)Math.Floor(position * validationFraction + offsetV);
                if (wantT > assignedT) { part[p] = 2; assignedT++; }
                else if (wantV > assignedV) { part[p] = 1; assignedV++; }
            }
        var ids = dataset.Patients.Select(p => p.Id).ToArray();
        return new PatientSplit(
            dataset.SubsetByPatients(ids.Where((_, i) => part[i] == 0)),
            dataset.SubsetByPatients(ids.Where((_, i) => part[i] == 1)),
            dataset.SubsetByPatients(ids.Where((_, i) => part[i] == 2)));
    }

    /// <summary>Patient-grouped k-fold cross-validation, stratified by coarse label: fold sizes differ by at most one patient.</summary>
    /// <param name="dataset">The dataset.</param>
    /// <param name="folds">k, at least 2 and at most the number of patients.</param>
    /// <param name="seed">The seed.</param>
    /// <param name="stratify">Whether to keep each coarse label's share equal across folds.</param>
    /// <returns>The k folds.</returns>
    public static IReadOnlyList<PatientFold> KFold(LongitudinalDataset dataset, int folds, int seed, bool stratify = true)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (folds < 2 || folds > dataset.PatientCount)
            throw new ArgumentOutOfRangeException(nameof(folds), folds, $"k-fold needs 2 ≤ k ≤ number of patients ({dataset.PatientCount}).");
        var rng = new Rng(seed);
        var strata = Strata(dataset, stratify, rng);
        var fold = new int[dataset.PatientCount];
        int next = rng.NextInt(folds);
        foreach (var group in strata)
            foreach (int p in group) { fold[p] = next; next = (next + 1) % folds; }
        var ids = dataset.Patients.Select(p => p.Id).ToArray();
        var result = new PatientFold[folds];
        for (int f = 0; f < folds; f++)
        {
            int ff = f;
            result[f] = new PatientFold(f,
                dataset.SubsetByPatients(ids.Where((_, i) => fold[i] != ff)),
                dataset.SubsetByPatients(ids.Where((_, i) => fold[i] == ff)));
        }
        return result;
    }

    /// <summary>Throws if any patient appears in two of the parts.</summary>
    /// <param name="parts">Named parts.</param>
    /// <exception cref="PatientLeakageException">A patient is in two parts; the message names it and both parts.</exception>
    public static void EnsureDisjoint(params (string Name, LongitudinalDataset Part)[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var owner = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, part) in parts)
        {
            ArgumentNullException.ThrowIfNull(part, name);
            foreach (var p in part.Patients)
            {
                if (owner.TryGetValue(p.Id, out var other)) throw new PatientLeakageException(p.Id, other, name);
                owner[p.Id] = name;
            }
        }
    }

    /// <summary>Patient indices grouped by stratum (label order; unlabelled last), each group shuffled.</summary>
    private static List<int[]> Strata(LongitudinalDataset dataset, bool stratify, Rng rng)
    {
        var groups = new SortedDictionary<int, List<int>>();
        foreach (var p in dataset.Patients)
        {
            int key = stratify ? Stratum(p) : 0;
            if (!groups.TryGetValue(key, out var list)) groups[key] = list = new List<int>();
            list.Add(p.Index);
        }
        var result = new List<int[]>();
        foreach (var (key, list) in groups.OrderBy(kv => kv.Key < 0 ? int.MaxValue : kv.Key))
        {
            var arr = list.ToArray();
            rng.Shuffle(arr.AsSpan());
            result.Add(arr);
        }
        return result;
    }

    private static int Stratum(Patient p)
    {
        var counts = new SortedDictionary<int, int>();
        foreach (var s in p.Scans)
            if (s.CoarseLabel is { } l) counts[l] = counts.GetValueOrDefault(l) + 1;
        if (counts.Count == 0) return -1;
        int best = -1, bestCount = -1;
        foreach (var (l, c) in counts) if (c > bestCount) { best = l; bestCount = c; }
        return best;
    }
}
