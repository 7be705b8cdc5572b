using Learner.Data;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Metrics;
using Learner.Nn;
using Learner.Objectives;
using Learner.Sampling;

namespace Learner.Training;

/// <summary>
/// Measures the validation set after an epoch: the objective's value on fixed loss batches drawn once (seeded), then
/// alignment, retrieval and change classification from embeddings of every scan.
/// </summary>
/// <remarks>Loss batches come from the training source rebuilt over the validation set
/// (<see cref="IPretrainingBatchSource.ForDataset"/>, at its epoch-0 state, batch k drawn with the validation stream
/// forked by k), so a pair or triplet run is measured on pairs or triplets drawn the same way; a
/// <see cref="PatientBatchSource"/> run uses its fixed patient layout instead.</remarks>
internal sealed class PretrainingValidator
{
    private const ulong ValidationStream = 0x7A11_D000;

    private readonly IEncoder _encoder;
    private readonly IObjective _objective;
    private readonly PretrainingOptions _options;
    private readonly IPretrainingBatchSource _trainingSource;
    private readonly bool _twoViews;
    private readonly LongitudinalDataset _set;
    private readonly int[][] _scans;
    private readonly IndexPair[][] _pairs;
    private readonly IndexTriplet[][] _triplets;
    private readonly (int First, int Second)[] _consecutive;
    private readonly double[] _gaps;
    private readonly int[]? _labels;

    public PretrainingValidator(IEncoder encoder, IObjective objective, PretrainingOptions options, IPretrainingBatchSource trainingSource, bool twoViews, LongitudinalDataset set)
    {
        (_encoder, _objective, _options, _trainingSource, _twoViews, _set) = (encoder, objective, options, trainingSource, twoViews, set);
        var validation = options.Validation;
        var rng = new Rng(options.Seed).Fork(ValidationStream);
        int count = validation.LossBatches;
        _scans = new int[count][];
        _pairs = new IndexPair[count][];
        _triplets = new IndexTriplet[count][];
        if (trainingSource is PatientBatchSource patients)
        {
            _scans = patients.ValidationBatches(set, count, rng);
            for (int k = 0; k < count; k++) { _pairs[k] = Array.Empty<IndexPair>(); _triplets[k] = Array.Empty<IndexTriplet>(); }
        }
        else
        {
            var source = trainingSource.ForDataset(set);
            var scans = new int[source.MaxScans];
            var pairs = new IndexPair[source.MaxPairs];
            var triplets = new IndexTriplet[source.MaxTriplets];
            for (int k = 0; k < count; k++)
            {
                var draw = source.Draw(scans, pairs, triplets, rng.Fork((ulong)k));
                if (draw.Scans < 1 || draw.Scans > scans.Length || draw.Pairs > pairs.Length || draw.Triplets > triplets.Length)
                    throw new InvalidOperationException($"The batch source {source.GetType().Name} drew {draw} for the validation set, outside its maxima ({scans.Length} scans, {pairs.Length} pairs, {triplets.Length} triplets).");
                _scans[k] = scans.AsSpan(0, draw.Scans).ToArray();
                _pairs[k] = pairs.AsSpan(0, draw.Pairs).ToArray();
                _triplets[k] = triplets.AsSpan(0, draw.Triplets).ToArray();
            }
        }
        var consecutive = new IntraPatientPairSampler(set, validation.ChangeThresholds ?? ChangeThresholds.Absolute(1)).Pairs;
        bool scores = set.Scans.All(s => s.Score is { } v && double.IsFinite(v));
        _consecutive = scores ? consecutive.Select(p => (p.Before, p.After)).ToArray() : Array.Empty<(int, int)>();
        _gaps = scores ? consecutive.Select(p => Math.Abs((double)p.HealthChange)).ToArray() : Array.Empty<double>();
        _labels = set.Scans.All(s => s.CoarseLabel is not null) ? set.Scans.Select(s => s.CoarseLabel!.Value).ToArray() : null;
    }

    /// <summary>The fixed loss batches' scans (dataset indices of the validation set), for tests.</summary>
    internal IReadOnlyList<int[]> LossBatchScans => _scans;

    public ValidationReport Measure(int epoch, long step, CancellationToken ct)
    {
        var encoder = _encoder;
        int d = encoder.EmbeddingDimension;
        var options = _options.Validation;
        // The stored batches size the buffers: a source over the validation set may have other maxima than the training
        // source (a pair source caps its scans at the dataset's scan count).
        var buffers = new PretrainingBatchBuffers(_trainingSource.GetType().Name, _scans.Max(s => s.Length), _pairs.Max(p => p.Length), _triplets.Max(t => t.Length), d, _twoViews, _objective.Reads);
        double lossSum = 0;
        var termSums = new List<KeyValuePair<string, double>>();
        encoder.SetTraining(false);
        try
        {
            var augmentation = _options.Augmentation ?? (_twoViews ? new AugmentationOptions() : null);
            var augmentRng = new Rng(_options.Seed).Fork(ValidationStream + 1);
            for (int k = 0; k < _scans.Length; k++)
            {
                ct.ThrowIfCancellationRequested();
                buffers.Set(_set, _scans[k], _pairs[k], _triplets[k]);
                using var scope = TensorScope.Begin();
                var input = buffers.LoadInput(_set, augmentation, augmentRng.Fork((ulong)k));
                encoder.Forward(input, buffers.AllEmbeddings, requiresGrad: false);
                var r = _objective.Compute(buffers.Batch(), buffers.FirstGradient, buffers.SecondGradient);
                lossSum += r.Loss;
                var terms = r.Terms;
                for (int t = 0; t < terms.Count; t++)
                {
                    if (termSums.Count <= t) termSums.Add(new(terms[t].Name, 0));
                    termSums[t] = new(terms[t].Name, termSums[t].Value + terms[t].Value);
                }
            }
        }
        finally
        {
            encoder.SetTraining(true);
        }
        int n = _scans.Length;
        var all = Embedder.EmbedAll(encoder, _set, options.EmbeddingBatchSize, ct);
        encoder.SetTraining(true);
        double spearman = _consecutive.Length >= 2 ? Alignment.Compute(all, d, _consecutive, _gaps).Spearman : double.NaN;
        double p1 = double.NaN, mapr = double.NaN;
        if (_labels is not null)
        {
            var retrieval = Retrieval.Evaluate(all, d, _labels);
            p1 = retrieval.PrecisionAt1;
            mapr = retrieval.MapAtR;
        }
        double accuracy = double.NaN, macroF1 = double.NaN, kappa = double.NaN;
        if (options.ChangeThresholds is not null)
        {
            var eval = ChangeEvaluation.CrossValidate(_set, all, d, options.ChangeThresholds, options.ChangeFolds, (int)(_options.Seed % int.MaxValue), options.Classifier);
            accuracy = eval.Accuracy;
            macroF1 = eval.MacroF1;
            kappa = eval.QuadraticKappa;
        }
        return new ValidationReport(epoch, step, lossSum / n, termSums.Select(t => new KeyValuePair<string, double>(t.Key, t.Value / n)).ToArray(),
            spearman, p1, mapr, accuracy, macroF1, kappa);
    }
}
