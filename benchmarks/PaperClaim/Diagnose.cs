// `PaperClaim diagnose [key=value …]`: learning curves of one pretraining on the development cohort, measured on
// held-out patients only. The cohort (seed 7 unless cohortSeed= says otherwise) is split once into 70 % pretraining
// patients and 30 % diagnosis patients (stratified, split seed 1234); the encoder pretrains on the first group; at each
// evaluation point every clip is embedded and we print, for the diagnosis patients:
//   probe R² (clip / visit): a ridge regression of the health score on standardised frozen embeddings, fit on the
//            pretraining patients' clips (or visit means), scored on the diagnosis patients';
//   F1 clip / visit: three-way change macro-F1 of the class-weighted logistic regression on embedding differences, fit
//            on the pretraining patients' pairs, predicting the diagnosis patients' (clip pairs, or visit-mean pairs);
//   ρ clip / visit: Spearman of cosine distance with |Δscore| on the diagnosis patients' pairs.
// Nothing here touches the patients of the protocol's test folds of another cohort seed; the levers are chosen here.
using System.Diagnostics;
using System.Globalization;
using Learner.Data;
using Learner.Data.Synthetic;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Metrics;
using Learner.Objectives;
using Learner.Sampling;
using Learner.Training;
using MathNet.Numerics.LinearAlgebra;

internal static class Diagnose
{
    public static int Run(string[] args)
    {
        var kv = args.Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "true", StringComparer.OrdinalIgnoreCase);
        string Get(string k, string d) => kv.TryGetValue(k, out var v) ? v : d;
        double D(string k, double d) => double.Parse(Get(k, d.ToString("R", CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        int I(string k, int d) => int.Parse(Get(k, d.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

        string cohort = Get("cohort", "lus");
        ulong cohortSeed = (ulong)I("cohortSeed", 7);
        int steps = I("steps", 120), evalEvery = I("evalEvery", 0), seed = I("seed", 1);
        string spec = Get("objective", "mse");
        var norm = Enum.Parse<IntensityNormalization>(Get("norm", "None"), ignoreCase: true);
        bool bnTrain = Get("bn", "eval") == "train";
        var clock = Stopwatch.StartNew();

        LongitudinalDataset data;
        ChangeThresholds thresholds;
        string arch;
        if (cohort == "mri")
        {
            var c = new SyntheticMriCohort(new SyntheticMriOptions { Seed = cohortSeed, Patients = I("patients", 200) });
            (data, thresholds, arch) = (c.Dataset, c.ChangeThresholds, "volume");
        }
        else
        {
            var c = new SyntheticLusCohort(new SyntheticLusOptions { Seed = cohortSeed, Patients = I("patients", 200) });
            (data, thresholds, arch) = (c.Dataset, c.ChangeThresholds, "tsm-resnet");
        }
        data = Preprocess.NormalizeIntensities(data, norm);
        var split = PatientSplits.TrainValidationTest(data, 0, 0.3, 1234);
        var train = split.Train;
        var trainIds = train.Patients.Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
        var testIds = split.Test.Patients.Select(p => p.Id).ToHashSet(StringComparer.Ordinal);

        var encoderOptions = new EncoderOptions
        {
            Architecture = Get("arch", arch), EmbeddingDimension = I("dim", 64), ClipLength = 8, WidthMultiplier = D("width", 1), Seed = (ulong)seed,
        };
        var encoder = EncoderFactory.Create(encoderOptions);
        var stats = CohortStatistics.FromDataset(train);
        var objective = ObjectiveRecipes.Default.Build(ObjectiveSpec.Parse(spec), new ObjectiveContext(encoder.EmbeddingDimension, (ulong)seed, stats), ObjectiveRegistry.CreateDefault());
        var batch = new BatchSourceOptions { PatientsPerBatch = I("P", 8), ScansPerPatient = I("K", 4) };
        var source = batch.Create(train, stats.ScoreScale, 1);
        AugmentationOptions? aug = Get("aug", "none") switch
        {
            "none" => null,
            "flip" => new AugmentationOptions { FlipProbability = 0.5, MaxBrightness = 0, MaxContrast = 0, NoiseStd = 0 },
            _ => new AugmentationOptions(),
        };
        var options = new PretrainingOptions
        {
            Epochs = 1, StepsPerEpoch = steps, WarmupSteps = I("warmup", 5), Seed = (ulong)seed,
            MinLearningRateFactor = D("minLr", 0.01), MaxGradNorm = D("clip", 5), Augmentation = aug,
            Optimizer = new EncoderOptimizerOptions { LearningRate = D("lr", 1e-3), WeightDecay = D("wd", 1e-4) },
        };
        var evalAt = new SortedSet<long> { steps };
        if (evalEvery > 0) for (long s = evalEvery; s < steps; s += evalEvery) evalAt.Add(s);
        var visits = new VisitPairs(data, thresholds);
        var clipPairs = new IntraPatientPairSampler(data, thresholds).Pairs;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"# diagnose {string.Join(' ', args)} | {data.PatientCount} patients ({train.PatientCount} pretrain / {split.Test.PatientCount} held out), encoder {encoder.Name} ({encoder.ParameterCount} parameters)"));
        Console.WriteLine("step\tloss\tR2clip\tR2visit\tF1clip\tF1visit\trhoClip\trhoVisit\tseconds");
        var losses = new List<double>();
        var trainClock = new Stopwatch();
        var progress = new SyncProgress(p =>
        {
            losses.Add(p.Loss);
            if (!evalAt.Contains(p.Step)) return;
            trainClock.Stop();
            var emb = Embed(encoder, data, bnTrain);
            var m = Measure(data, emb, encoder.EmbeddingDimension, trainIds, testIds, thresholds, visits, clipPairs);
            double loss = losses.Skip(Math.Max(0, losses.Count - 10)).Average();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{p.Step}\t{loss:F4}\t{m.R2Clip:F3}\t{m.R2Visit:F3}\t{m.F1Clip:F3}\t{m.F1Visit:F3}\t{m.RhoClip:F3}\t{m.RhoVisit:F3}\t{trainClock.Elapsed.TotalSeconds:F0}"));
            if (p.Step == steps)
            {
                Variants(data, emb, encoder.EmbeddingDimension, trainIds, testIds, visits);
                if (!bnTrain)
                {
                    // Batch-norm statistics at embedding time: the same final weights, embedded in training mode.
                    var bn = Measure(data, Embed(encoder, data, true), encoder.EmbeddingDimension, trainIds, testIds, thresholds, visits, clipPairs);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# bn=train at embedding: R2clip {bn.R2Clip:F3} R2visit {bn.R2Visit:F3} F1clip {bn.F1Clip:F3} F1visit {bn.F1Visit:F3} rhoVisit {bn.RhoVisit:F3}"));
                }
            }
            trainClock.Start();
        });
        trainClock.Start();
        new Pretrainer(encoder, train, source, objective, options).Run(progress);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# total {clock.Elapsed.TotalSeconds:F0} s (pretraining {trainClock.Elapsed.TotalSeconds:F0} s)"));
        return 0;
    }

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    /// <summary>Embeds every scan; with <paramref name="bnTrain"/> batch-norm uses each batch's statistics (training mode,
    /// no gradient; the running statistics are updated as a side effect).</summary>
    private static float[] Embed(IEncoder encoder, LongitudinalDataset data, bool bnTrain)
    {
        if (!bnTrain) return Embedder.EmbedAll(encoder, data, 64);
        int n = data.ScanCount, d = encoder.EmbeddingDimension;
        var result = new float[n * d];
        encoder.SetTraining(true);
        var idx = new int[64];
        for (int start = 0; start < n; start += 64)
        {
            int count = Math.Min(64, n - start);
            for (int i = 0; i < count; i++) idx[i] = start + i;
            using var scope = Learner.Nn.TensorScope.Begin();
            encoder.Forward(data.LoadBatch(idx.AsSpan(0, count)), result.AsSpan(start * d, count * d), requiresGrad: false);
        }
        return result;
    }

    internal sealed record Metrics(double R2Clip, double R2Visit, double F1Clip, double F1Visit, double RhoClip, double RhoVisit);

    internal static Metrics Measure(LongitudinalDataset data, float[] emb, int d, HashSet<string> trainIds, HashSet<string> testIds,
        ChangeThresholds thresholds, VisitPairs visits, IReadOnlyList<ConsecutivePair> clipPairs)
    {
        // Probe R²: clip level and visit level.
        var clipScores = data.Scans.Select(s => s.ChangeScore!.Value).ToArray();
        var clipPatient = data.Scans.Select(s => s.PatientId).ToArray();
        double r2Clip = ProbeR2(emb, d, clipScores, clipPatient, trainIds, testIds);
        var vEmb = visits.MeanEmbeddings(emb, d);
        double r2Visit = ProbeR2(vEmb, d, visits.Visits.Select(v => v.ChangeScore).ToArray(), visits.Visits.Select(v => v.PatientId).ToArray(), trainIds, testIds);
        // The main columns keep the classifier of the first runs (L2 = 1e-3) so that rows stay comparable; the variants
        // line shows other penalties.
        var classifier = new ChangeClassifierOptions { L2 = 1e-3 };
        var (clipEval, clipRows) = ChangeEvaluation.FitAndPredict(data, emb, d, thresholds, trainIds, testIds, classifier);
        var (visitEval, visitRows) = visits.FitAndPredict(emb, d, trainIds, testIds, classifier);
        double rhoClip = Alignment.Compute(emb, d, clipRows.Select(r => (clipPairs[r].Before, clipPairs[r].After)).ToArray(), clipRows.Select(r => Math.Abs((double)clipPairs[r].HealthChange)).ToArray()).Spearman;
        double rhoVisit = Alignment.Compute(vEmb, d, visitRows.Select(r => (visits.Pairs[r].Before, visits.Pairs[r].After)).ToArray(), visitRows.Select(r => Math.Abs((double)visits.Pairs[r].HealthChange)).ToArray()).Spearman;
        return new Metrics(r2Clip, r2Visit, clipEval.MacroF1, visitEval.MacroF1, rhoClip, rhoVisit);
    }

    /// <summary>Downstream variants on the final embeddings: the visit-level classifier's L2 penalty, an MLP head, and the
    /// 1-D feature of the probe (the ridge-predicted score difference of the two visits).</summary>
    private static void Variants(LongitudinalDataset data, float[] emb, int d, HashSet<string> trainIds, HashSet<string> testIds, VisitPairs visits)
    {
        var parts = new List<string>();
        foreach (double l2 in new[] { 1e-2, 1e-1, 1.0 })
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"F1visit(L2={l2:G2}) {visits.FitAndPredict(emb, d, trainIds, testIds, new ChangeClassifierOptions { L2 = l2 }).Result.MacroF1:F3}"));
        parts.Add(string.Create(CultureInfo.InvariantCulture, $"F1visit(mlp) {visits.FitAndPredict(emb, d, trainIds, testIds, new ChangeClassifierOptions { Head = ChangeHead.Mlp, L2 = 1e-2 }).Result.MacroF1:F3}"));
        // The probe's 1-D projection: each visit's predicted score, as a one-feature "embedding".
        var vEmb = visits.MeanEmbeddings(emb, d);
        var pred = ProbePredict(vEmb, d, visits.Visits.Select(v => v.ChangeScore).ToArray(), visits.Visits.Select(v => v.PatientId).ToArray(), trainIds);
        var scanPred = new float[data.ScanCount];
        for (int v = 0; v < visits.Visits.Count; v++) foreach (int sIdx in visits.Visits[v].ScanIndices) scanPred[sIdx] = (float)pred[v];
        parts.Add(string.Create(CultureInfo.InvariantCulture, $"F1visit(probe 1-D) {visits.FitAndPredict(scanPred, 1, trainIds, testIds, new ChangeClassifierOptions { L2 = 1e-3 }).Result.MacroF1:F3}"));
        parts.Add(string.Create(CultureInfo.InvariantCulture, $"F1clip(L2=0.1) {ChangeEvaluation.FitAndPredict(data, emb, d, visits.Thresholds, trainIds, testIds, new ChangeClassifierOptions { L2 = 0.1 }).Result.MacroF1:F3}"));
        Console.WriteLine("# variants: " + string.Join("; ", parts));
    }

    /// <summary>Ridge regression (λ = 1 on standardised features, statistics of the training rows) of y on the rows of
    /// the training patients; R² on the test patients' rows.</summary>
    internal static double ProbeR2(float[] x, int d, double[] y, string[] patient, HashSet<string> trainIds, HashSet<string> testIds)
    {
        var pred = ProbePredict(x, d, y, patient, trainIds);
        var te = Enumerable.Range(0, y.Length).Where(i => testIds.Contains(patient[i])).ToArray();
        double yMean = te.Average(i => y[i]);
        double ssRes = te.Sum(i => Math.Pow(y[i] - pred[i], 2)), ssTot = te.Sum(i => Math.Pow(y[i] - yMean, 2));
        return 1 - ssRes / ssTot;
    }

    /// <summary>The ridge probe fit on the training patients' rows, predicting every row.</summary>
    internal static double[] ProbePredict(float[] x, int d, double[] y, string[] patient, HashSet<string> trainIds)
    {
        var tr = Enumerable.Range(0, y.Length).Where(i => trainIds.Contains(patient[i])).ToArray();
        var all = Enumerable.Range(0, y.Length).ToArray();
        var mean = new double[d]; var sd = new double[d];
        for (int j = 0; j < d; j++)
        {
            double s = 0, q = 0;
            foreach (int i in tr) { double v = x[i * d + j]; s += v; q += v * v; }
            mean[j] = s / tr.Length;
            sd[j] = Math.Sqrt(Math.Max(q / tr.Length - mean[j] * mean[j], 0)) is var v2 && v2 > 1e-12 ? v2 : 1;
        }
        Matrix<double> Design(int[] rows) => Matrix<double>.Build.Dense(rows.Length, d + 1, (r, c) => c == d ? 1 : (x[rows[r] * d + c] - mean[c]) / sd[c]);
        var a = Design(tr);
        var yTr = Vector<double>.Build.Dense(tr.Select(i => y[i]).ToArray());
        var reg = Matrix<double>.Build.DenseIdentity(d + 1) * 1.0;
        reg[d, d] = 0;
        var w = (a.TransposeThisAndMultiply(a) + reg).Solve(a.TransposeThisAndMultiply(yTr));
        return (Design(all) * w).ToArray();
    }
}
