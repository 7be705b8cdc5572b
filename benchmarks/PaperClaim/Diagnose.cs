// `PaperClaim diagnose [key=value …]`: learning curves of one pretraining on the development cohort, measured on
// held-out patients only. The cohort (seed 7 unless cohortSeed= says otherwise) is split once, three ways (stratified,
// split seed 1234): 60 % pretraining patients, 20 % validation patients (every choice of a lever is made on these) and
// 20 % test patients, whose figures are printed only with `test=true` (once, for the configuration finally chosen).
// The encoder pretrains on the first group; at each evaluation point every clip is embedded and we print, for the
// validation patients (and, with test=true, one more line for the test patients):
//   probe R² (clip / visit): a ridge regression of the health score on standardised frozen embeddings, fit on the
//            pretraining patients' clips (or visit means), scored on the target (validation or test) patients';
//   F1 clip / visit: three-way change macro-F1 of the class-weighted logistic regression on embedding differences, fit
//            on the pretraining patients' pairs, predicting the target patients' (clip pairs, or visit-mean pairs);
//   ρ clip / visit: Spearman of cosine distance with |Δscore| on the target patients' pairs.
// norm=<IntensityNormalization> sets the per-clip normalisation (default ZScore); norm=patient z-scores every clip with
// the statistics of all its patient's clips, norm=patient-baseline with those of the patient's first visit (a diagnostic
// of the issue's "per patient" lever: image statistics only, no labels; the library does not offer it, see docs/results.md).
// bn=precise re-estimates every batch norm's running statistics with the weights of the evaluation point before
// embedding: the mean of bnBatches= (default 50) training-mode batches of P × K pretraining clips (no gradient, no
// augmentation, a sampler of its own), as "precise BN" does; bn=train embeds with each embedding batch's statistics.
// aug=default|flip|shift|default+shift augments the pretraining views (shift: random translation by up to shift= pixels,
// default 3, edges repeated); sharedAug=true gives a patient's clips in a batch one draw (SharedWithinPatient).
// patients=N generates a cohort of N patients (default 200); pretrainPatients=N pretrains (and fits every probe and
// classifier) on a stratified subset of about N of its pretraining patients, the validation patients unchanged.
// arch=<architecture> swaps the backbone (default tsm-resnet); arch=cnn2d-frames is the 2-D CNN reading a clip's frames
// as input channels, a tenth of the TSM-ResNet's cost per step (docs/results.md, "Compute or patients").
// ceiling=true prints, without pretraining, the visit-level change macro-F1 that a score probe of a given R² allows.
// save=<prefix> writes the embeddings of every evaluation point to <prefix>.<step>.f32 (float32, scan order), so that
// downstream variants can be re-run from them with load=<file> (same cohort arguments) without pretraining again.
// ema=<decay> embeds with a moving average of the weights (emaStart= its first step); tta=flip averages each clip's
// embedding with its mirror image's.
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
        string normArg = Get("norm", "ZScore");
        var norm = normArg.StartsWith("patient", StringComparison.Ordinal) ? IntensityNormalization.None : Enum.Parse<IntensityNormalization>(normArg, ignoreCase: true);
        string bnMode = Get("bn", "eval");
        bool bnTrain = bnMode == "train", bnPrecise = bnMode == "precise";
        int bnBatches = I("bnBatches", 50);
        bool showTest = Get("test", "false") == "true";
        string? save = kv.GetValueOrDefault("save"), load = kv.GetValueOrDefault("load");
        var classifier = new ChangeClassifierOptions { L2 = D("l2", new ChangeClassifierOptions().L2) };
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
        if (normArg.StartsWith("patient", StringComparison.Ordinal)) data = PatientNorm(data, normArg == "patient-baseline");
        data = Preprocess.NormalizeIntensities(data, norm);
        var split = PatientSplits.TrainValidationTest(data, 0.2, 0.2, I("splitSeed", 1234));
        var train = split.Train;
        // pretrainPatients=N keeps a stratified subset of about N of the pretraining patients (the validation and test
        // patients unchanged), for curves in the number of patients on one fixed validation group.
        if (I("pretrainPatients", 0) is > 0 and var keep && keep < train.PatientCount)
            train = PatientSplits.TrainValidationTest(train, 1.0 - (double)keep / train.PatientCount, 0, 4321).Train;
        static HashSet<string> Ids(LongitudinalDataset d) => d.Patients.Select(p => p.Id).ToHashSet(StringComparer.Ordinal);
        var (trainIds, valIds, testIds) = (Ids(train), Ids(split.Validation), Ids(split.Test));

        var encoderOptions = new EncoderOptions
        {
            Architecture = Get("arch", arch), EmbeddingDimension = I("dim", 64), ClipLength = 8, WidthMultiplier = D("width", 1), Seed = (ulong)seed,
        };
        // arch=cnn2d-frames: the 2-D CNN with a clip's frames as its input channels (no temporal modelling; a diagnosis
        // of what the TSM backbone's cost buys at a fixed wall time).
        // The library's EncoderOptions.InputChannels (what `learner pretrain --encoder cnn2d` sets on clips).
        IEncoder encoder = EncoderFactory.Create(encoderOptions.Architecture == "cnn2d-frames"
            ? encoderOptions with { Architecture = "cnn2d", InputChannels = 8 }
            : encoderOptions);
        var stats = CohortStatistics.FromDataset(train);
        var objective = ObjectiveRecipes.Default.Build(ObjectiveSpec.Parse(spec), new ObjectiveContext(encoder.EmbeddingDimension, (ulong)seed, stats), ObjectiveRegistry.CreateDefault());
        var batch = new BatchSourceOptions { PatientsPerBatch = I("P", 8), ScansPerPatient = I("K", 4) };
        var source = batch.Create(train, stats.ScoreScale, 1);
        AugmentationOptions? aug = Get("aug", "none") switch
        {
            "none" => null,
            "flip" => new AugmentationOptions { FlipProbability = 0.5, MaxBrightness = 0, MaxContrast = 0, NoiseStd = 0 },
            "shift" => new AugmentationOptions { MaxShift = I("shift", 3), FlipProbability = 0, MaxBrightness = 0, MaxContrast = 0, NoiseStd = 0 },
            "default+shift" => new AugmentationOptions { MaxShift = I("shift", 3) },
            _ => new AugmentationOptions(),
        };
        // sharedAug=true: a patient's clips in a batch share the augmentation draw (AugmentationOptions.SharedWithinPatient).
        if (aug is not null && Get("sharedAug", "false") == "true") aug = aug with { SharedWithinPatient = true };
        var options = new PretrainingOptions
        {
            Epochs = 1, StepsPerEpoch = steps, WarmupSteps = I("warmup", 5), Seed = (ulong)seed,
            MinLearningRateFactor = D("minLr", 0.01), MaxGradNorm = D("clip", 5), Augmentation = aug,
            Optimizer = new EncoderOptimizerOptions { LearningRate = D("lr", new EncoderOptimizerOptions().LearningRate), WeightDecay = D("wd", 1e-4) },
        };
        var evalAt = new SortedSet<long> { steps };
        if (evalEvery > 0) for (long s = evalEvery; s < steps; s += evalEvery) evalAt.Add(s);
        var visits = new VisitPairs(data, thresholds);
        var clipPairs = new IntraPatientPairSampler(data, thresholds).Pairs;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"# diagnose {string.Join(' ', args)} | {data.PatientCount} patients ({train.PatientCount} pretrain / {valIds.Count} validation / {testIds.Count} test), classifier L2 {classifier.L2:G3}, encoder {encoder.Name} ({encoder.ParameterCount} parameters)"));
        Console.WriteLine("step\tloss\tR2clip\tR2visit\tF1clip\tF1visit\trhoClip\trhoVisit\tseconds\tpatients");
        void Report(string step, double loss, float[] emb, double seconds)
        {
            var m = Measure(data, emb, encoder.EmbeddingDimension, trainIds, valIds, thresholds, visits, clipPairs, classifier);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{step}\t{loss:F4}\t{m.R2Clip:F3}\t{m.R2Visit:F3}\t{m.F1Clip:F3}\t{m.F1Visit:F3}\t{m.RhoClip:F3}\t{m.RhoVisit:F3}\t{seconds:F0}\tvalidation"));
        }
        void Final(float[] emb)
        {
            DiagnoseVariants.Print(data, emb, encoder.EmbeddingDimension, trainIds, valIds, visits, "validation");
            // The test patients are measured once, for the configuration run, at its last step only: no curve and no
            // downstream variants on them, so nothing printed for test can inform a choice.
            if (!showTest) return;
            var t = Measure(data, emb, encoder.EmbeddingDimension, trainIds, testIds, thresholds, visits, clipPairs, classifier);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"final\tNaN\t{t.R2Clip:F3}\t{t.R2Visit:F3}\t{t.F1Clip:F3}\t{t.F1Visit:F3}\t{t.RhoClip:F3}\t{t.RhoVisit:F3}\t0\ttest"));
        }
        if (Get("ceiling", "false") == "true")
        {
            // No pretraining: what visit-level change F1 a score probe of a given R² allows on these patients.
            DiagnoseVariants.PrintCeiling(visits, valIds, thresholds, data.HigherIsHealthier);
            if (showTest) DiagnoseVariants.PrintCeiling(visits, testIds, thresholds, data.HigherIsHealthier);
            return 0;
        }
        if (load is not null)
        {
            var loaded = DiagnoseVariants.LoadEmbeddings(load, data.ScanCount * encoder.EmbeddingDimension);
            Report("loaded", double.NaN, loaded, 0);
            Final(loaded);
            return 0;
        }
        var losses = new List<double>();
        var trainClock = new Stopwatch();
        // ema=<decay>: embeds with an exponential moving average of the weights and buffers (from step emaStart=, default
        // the warm-up's end) instead of the last step's; tta=flip: each clip's embedding is the mean of its own and its
        // left-right mirror image's (the flip of the default augmentation).
        double emaDecay = D("ema", 0);
        var ema = emaDecay > 0 ? new WeightAverage(((ModuleEncoder)encoder).Module, emaDecay, I("emaStart", options.WarmupSteps)) : null;
        bool ttaFlip = Get("tta", "none") == "flip";
        float[]? plain = null;   // with tta=flip, the same weights' embedding without it (a paired comparison)
        float[] EmbedNow()
        {
            float[] Once(LongitudinalDataset d) => bnPrecise
                ? PreciseBatchNorm.Embed(encoder, d, train, I("P", 8), I("K", 4), bnBatches, (ulong)seed)
                : Embed(encoder, d, bnTrain);
            using var swap = ema?.SwapIn();
            var e = Once(data);
            if (!ttaFlip) return e;
            plain = (float[])e.Clone();
            var m = Once(Mirrored(data));
            for (int i = 0; i < e.Length; i++) e[i] = 0.5f * (e[i] + m[i]);
            return e;
        }
        var progress = new SyncProgress(p =>
        {
            losses.Add(p.Loss);
            ema?.Update(p.Step);
            if (!evalAt.Contains(p.Step)) return;
            trainClock.Stop();
            var emb = EmbedNow();
            Report(p.Step.ToString(CultureInfo.InvariantCulture), losses.Skip(Math.Max(0, losses.Count - 10)).Average(), emb, trainClock.Elapsed.TotalSeconds);
            if (plain is not null) Report(p.Step.ToString(CultureInfo.InvariantCulture) + "/no-tta", double.NaN, plain, 0);
            if (save is not null) DiagnoseVariants.SaveEmbeddings(string.Create(CultureInfo.InvariantCulture, $"{save}.{p.Step}.f32"), emb);
            if (p.Step == steps) Final(emb);
            trainClock.Start();
        });
        trainClock.Start();
        new Pretrainer(encoder, train, source, objective, options).Run(progress);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# total {clock.Elapsed.TotalSeconds:F0} s (pretraining {trainClock.Elapsed.TotalSeconds:F0} s)"));
        return 0;
    }

    /// <summary>The dataset with every clip z-scored by its patient's pixel mean and standard deviation, over all the
    /// patient's clips or (<paramref name="baseline"/>) over those of its first visit; computed once per patient.</summary>
    private static LongitudinalDataset PatientNorm(LongitudinalDataset d, bool baseline)
    {
        var stats = new Dictionary<string, Lazy<(float Mean, float Inv)>>(StringComparer.Ordinal);
        foreach (var p in d.Patients)
        {
            var scans = baseline ? p.Scans.Where(s => s.VisitIndex == 0).ToList() : p.Scans.ToList();
            stats[p.Id] = new Lazy<(float, float)>(() =>
            {
                double sum = 0, ss = 0; long n = 0;
                foreach (var s in scans) { var x = s.Payload!.Load().Data; foreach (float v in x) { sum += v; ss += (double)v * v; } n += x.Length; }
                double mean = sum / n, sd = Math.Sqrt(Math.Max(ss / n - mean * mean, 1e-24));
                return ((float)mean, (float)(1 / sd));
            });
        }
        return new LongitudinalDataset(d.Scans.Select(s => s.WithPayload(new DelegatePayload(() =>
        {
            var t = s.Payload!.Load();
            var (m, inv) = stats[s.PatientId].Value;
            var a = t.ToArray();
            System.Numerics.Tensors.TensorPrimitives.Subtract(a, m, a);
            System.Numerics.Tensors.TensorPrimitives.Multiply(a, inv, a);
            return new Learner.Nn.Tensor(a, t.ShapeArray);
        }, s.Payload!.Description + " (patient z-score)"))), d.HigherIsHealthier, d.Patients.Select(p => p.Id));
    }

    /// <summary>The dataset with every payload mirrored left-right (its last axis reversed).</summary>
    private static LongitudinalDataset Mirrored(LongitudinalDataset d) =>
        new(d.Scans.Select(s => s.WithPayload(new DelegatePayload(() => Augment.Flip(s.Payload!.Load()), s.Payload!.Description + " (mirrored)"))),
            d.HigherIsHealthier, d.Patients.Select(p => p.Id));

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
        ChangeThresholds thresholds, VisitPairs visits, IReadOnlyList<ConsecutivePair> clipPairs, ChangeClassifierOptions classifier)
    {
        // Probe R²: clip level and visit level.
        var clipScores = data.Scans.Select(s => s.ChangeScore!.Value).ToArray();
        var clipPatient = data.Scans.Select(s => s.PatientId).ToArray();
        double r2Clip = DiagnoseVariants.ProbeR2(emb, d, clipScores, clipPatient, trainIds, testIds);
        var vEmb = visits.MeanEmbeddings(emb, d);
        double r2Visit = DiagnoseVariants.ProbeR2(vEmb, d, visits.Visits.Select(v => v.ChangeScore).ToArray(), visits.Visits.Select(v => v.PatientId).ToArray(), trainIds, testIds);
        var (clipEval, clipRows) = ChangeEvaluation.FitAndPredict(data, emb, d, thresholds, trainIds, testIds, classifier);
        var (visitEval, visitRows) = visits.FitAndPredict(emb, d, trainIds, testIds, classifier);
        double rhoClip = Alignment.Compute(emb, d, clipRows.Select(r => (clipPairs[r].Before, clipPairs[r].After)).ToArray(), clipRows.Select(r => Math.Abs((double)clipPairs[r].HealthChange)).ToArray()).Spearman;
        double rhoVisit = Alignment.Compute(vEmb, d, visitRows.Select(r => (visits.Pairs[r].Before, visits.Pairs[r].After)).ToArray(), visitRows.Select(r => Math.Abs((double)visits.Pairs[r].HealthChange)).ToArray()).Spearman;
        return new Metrics(r2Clip, r2Visit, clipEval.MacroF1, visitEval.MacroF1, rhoClip, rhoVisit);
    }
}
