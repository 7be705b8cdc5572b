using Learner.Data;
using Learner.Sampling;

namespace Learner.Experiments;

/// <summary>The patient groups of one outer fold: who pretrains, who validates (selection, early stopping), who is
/// held out. Built before anything is trained; the three groups are disjoint by construction and checked.</summary>
internal sealed class FoldPlan
{
    private FoldPlan(int index, LongitudinalDataset pretrain, LongitudinalDataset? validation, LongitudinalDataset? test)
    {
        if (validation is not null && test is not null) PatientSplits.EnsureDisjoint(("pretraining", pretrain), ("validation", validation), ("test", test));
        else if (test is not null) PatientSplits.EnsureDisjoint(("pretraining", pretrain), ("test", test));
        else if (validation is not null) PatientSplits.EnsureDisjoint(("pretraining", pretrain), ("validation", validation));
        Index = index;
        Pretrain = pretrain;
        Validation = validation;
        Test = test;
    }

    public int Index { get; }

    /// <summary>The patients whose scans pretrain the encoder.</summary>
    public LongitudinalDataset Pretrain { get; }

    /// <summary>The validation patients, or null.</summary>
    public LongitudinalDataset? Validation { get; }

    /// <summary>The held-out patients; null in the transductive mode (there every patient pretrains).</summary>
    public LongitudinalDataset? Test { get; }

    /// <summary>Patients whose pairs fit the change classifier: pretraining and validation patients.</summary>
    public IReadOnlyCollection<string> ClassifierPatients =>
        Pretrain.Patients.Select(p => p.Id).Concat(Validation?.Patients.Select(p => p.Id) ?? Array.Empty<string>()).ToHashSet(StringComparer.Ordinal);

    public ExperimentFold Record(IReadOnlyList<string>? transductiveTest = null) => new(Index,
        Pretrain.Patients.Select(p => p.Id).ToArray(),
        Validation?.Patients.Select(p => p.Id).ToArray() ?? Array.Empty<string>(),
        transductiveTest ?? Test?.Patients.Select(p => p.Id).ToArray() ?? Array.Empty<string>());

    /// <summary>The folds of one seed under <paramref name="protocol"/>.</summary>
    public static IReadOnlyList<FoldPlan> Create(LongitudinalDataset dataset, ExperimentProtocolOptions protocol, double validationFraction, int seed)
    {
        if (protocol.Transductive) return new[] { new FoldPlan(0, dataset, null, null) };
        var outer = new List<(LongitudinalDataset Train, LongitudinalDataset Test)>();
        if (protocol.TestPatients is { } ids)
        {
            var test = new HashSet<string>(ids, StringComparer.Ordinal);
            foreach (var id in test)
                if (!dataset.ContainsPatient(id)) throw new UnknownPatientException(id);
            if (test.Count >= dataset.PatientCount) throw new ArgumentException($"Protocol.TestPatients holds all {dataset.PatientCount} patients; none would be left to pretrain on.", nameof(protocol));
            outer.Add((dataset.SubsetByPatients(dataset.Patients.Select(p => p.Id).Where(p => !test.Contains(p))), dataset.SubsetByPatients(test)));
        }
        else if (protocol.TestFraction is { } fraction)
        {
            var split = PatientSplits.TrainValidationTest(dataset, 0, fraction, seed);
            outer.Add((split.Train, split.Test));
        }
        else
        {
            if (dataset.PatientCount < protocol.OuterFolds)
                throw new ArgumentException($"The dataset has {dataset.PatientCount} patients, fewer than Protocol.OuterFolds = {protocol.OuterFolds}.", nameof(dataset));
            foreach (var fold in PatientSplits.KFold(dataset, protocol.OuterFolds, seed)) outer.Add((fold.Train, fold.Test));
        }
        var plans = new List<FoldPlan>();
        for (int k = 0; k < outer.Count; k++)
        {
            var (train, test) = outer[k];
            if (validationFraction > 0)
            {
                var inner = PatientSplits.TrainValidationTest(train, validationFraction, 0, seed + 7919 * (k + 1));
                if (inner.Validation.PatientCount == 0 || inner.Train.PatientCount == 0)
                    throw new ArgumentException(FormattableString.Invariant($"Fold {k}: a validation share of {validationFraction} of its {train.PatientCount} training patients leaves an empty part; use more patients or another ValidationFraction."), nameof(validationFraction));
                plans.Add(new FoldPlan(k, inner.Train, inner.Validation, test));
            }
            else plans.Add(new FoldPlan(k, train, null, test));
        }
        return plans;
    }
}
