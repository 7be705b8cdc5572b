// Downstream variants of `PaperClaim diagnose` on one set of final embeddings, and the ridge probe of the health score.
// Every variant is fit on the pretraining patients only and scored on the patients it is given (validation, or test
// with test=true).
using System.Globalization;
using Learner.Data;
using Learner.Downstream;
using Learner.Sampling;
using Learner.Metrics;

internal static class DiagnoseVariants
{
    /// <summary>The classifier penalties the inner cross-validation chooses from.</summary>
    private static readonly double[] L2Grid = [1e-3, 1e-2, 1e-1, 1, 10];

    /// <summary>Prints one line of visit-level variants: the classifier's L2, the L2 chosen by inner cross-validation on
    /// the pretraining patients' visit pairs, an MLP head, the probe's 1-D score and the clip level at the default L2.</summary>
    public static void Print(LongitudinalDataset data, float[] emb, int d, HashSet<string> trainIds, HashSet<string> targetIds, VisitPairs visits, string label)
    {
        var parts = new List<string>();
        double F1(float[] e, int dim, ChangeClassifierOptions o) => visits.FitAndPredict(e, dim, trainIds, targetIds, o).Result.MacroF1;
        foreach (double l2 in L2Grid)
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"F1visit(L2={l2:G2}) {F1(emb, d, new ChangeClassifierOptions { L2 = l2 }):F3}"));
        double cv = InnerCrossValidatedL2(emb, d, trainIds, visits);
        parts.Add(string.Create(CultureInfo.InvariantCulture, $"F1visit(L2 by inner CV = {cv:G2}) {F1(emb, d, new ChangeClassifierOptions { L2 = cv }):F3}"));
        parts.Add(string.Create(CultureInfo.InvariantCulture, $"F1visit(mlp) {F1(emb, d, new ChangeClassifierOptions { Head = ChangeHead.Mlp, L2 = 1e-2 }):F3}"));
        // The probe's 1-D projection: each visit's predicted score, as a one-feature "embedding" of its scans.
        var vEmb = visits.MeanEmbeddings(emb, d);
        var pred = ProbePredict(vEmb, d, visits.Visits.Select(v => v.ChangeScore).ToArray(), visits.Visits.Select(v => v.PatientId).ToArray(), trainIds);
        var scanPred = new float[data.ScanCount];
        for (int v = 0; v < visits.Visits.Count; v++) foreach (int sIdx in visits.Visits[v].ScanIndices) scanPred[sIdx] = (float)pred[v];
        parts.Add(string.Create(CultureInfo.InvariantCulture, $"F1visit(probe 1-D) {F1(scanPred, 1, new ChangeClassifierOptions()):F3}"));
        // The change probe: a ridge regression of the visit pair's score change on its embedding difference (fit on the
        // pretraining patients' pairs); its residual sd on the target pairs is what the ±threshold has to be read through.
        var diffs = ChangeEvaluation.Differences(vEmb, d, visits.Pairs);
        var dy = visits.Pairs.Select(pr => (double)pr.HealthChange).ToArray();
        var pairPatient = visits.Pairs.Select(pr => visits.Visits[pr.Before].PatientId).ToArray();
        var dPred = ProbePredict(diffs, d, dy, pairPatient, trainIds);
        var targetPairs = Enumerable.Range(0, dy.Length).Where(i => targetIds.Contains(pairPatient[i])).ToArray();
        double residualSd = Math.Sqrt(targetPairs.Average(i => (dy[i] - dPred[i]) * (dy[i] - dPred[i])));
        var fitPairs = Enumerable.Range(0, dy.Length).Where(i => trainIds.Contains(pairPatient[i])).ToArray();
        double fitResidualSd = Math.Sqrt(fitPairs.Average(i => (dy[i] - dPred[i]) * (dy[i] - dPred[i])));
        parts.Add(string.Create(CultureInfo.InvariantCulture, $"change probe R2 {ProbeR2(diffs, d, dy, pairPatient, trainIds, targetIds):F3} (residual sd {residualSd:F1} score points; {fitResidualSd:F1} on the pretraining patients' pairs it was fit on)"));
        // Learned (attention) pooling of each visit's clips, fit on the pretraining patients' visits.
        var pooled = AttentionVisitPooling.Fit(visits, emb, d, trainIds).Pool(emb);
        var (attEval, attRows) = visits.FitAndPredictOnVisits(pooled, d, trainIds, targetIds, new ChangeClassifierOptions());
        double attR2 = ProbeR2(pooled, d, visits.Visits.Select(v => v.ChangeScore).ToArray(), visits.Visits.Select(v => v.PatientId).ToArray(), trainIds, targetIds);
        double attRho = Alignment.Compute(pooled, d, attRows.Select(r => (visits.Pairs[r].Before, visits.Pairs[r].After)).ToArray(),
            attRows.Select(r => Math.Abs((double)visits.Pairs[r].HealthChange)).ToArray()).Spearman;
        parts.Add(string.Create(CultureInfo.InvariantCulture, $"attention pooling: F1visit {attEval.MacroF1:F3} R2visit {attR2:F3} rhoVisit {attRho:F3}"));
        // Calibration: the classifier fit on pairs whose embeddings the encoder never trained on (5 folds of the target
        // patients, each predicted by a fit on the other four, alone or together with the pretraining patients' pairs),
        // against the default fit on the pretraining patients only, pooled over the same pairs.
        parts.Add(string.Create(CultureInfo.InvariantCulture, $"F1visit(fit on held-out folds) {HeldOutFoldF1(emb, d, trainIds, targetIds, visits, false):F3}; F1visit(fit on pretraining + held-out folds) {HeldOutFoldF1(emb, d, trainIds, targetIds, visits, true):F3}"));
        Console.WriteLine($"# variants ({label}): " + string.Join("; ", parts));
    }

    /// <summary>Visit macro-F1 on the target patients' pairs, each of 5 folds of target patients predicted by a classifier
    /// fit on the other four folds' pairs (and, with <paramref name="withPretraining"/>, the pretraining patients' pairs).</summary>
    public static double HeldOutFoldF1(float[] emb, int d, HashSet<string> trainIds, HashSet<string> targetIds, VisitPairs visits, bool withPretraining)
    {
        var ordered = targetIds.Order(StringComparer.Ordinal).ToArray();
        var truth = new List<int>();
        var predicted = new List<int>();
        for (int k = 0; k < 5; k++)
        {
            var held = ordered.Where((_, i) => i % 5 == k).ToHashSet(StringComparer.Ordinal);
            var fit = ordered.Where((_, i) => i % 5 != k).ToHashSet(StringComparer.Ordinal);
            if (withPretraining) fit.UnionWith(trainIds);
            var r = visits.FitAndPredict(emb, d, fit, held, new ChangeClassifierOptions()).Result;
            truth.AddRange(r.Truth);
            predicted.AddRange(r.Predicted);
        }
        return Classification.MacroF1(truth.ToArray(), predicted.ToArray(), 3);
    }

    /// <summary>The L2 penalty of <see cref="L2Grid"/> with the best mean visit macro-F1 over 3 patient folds of the
    /// pretraining patients (each fold predicted by a classifier fit on the other two); ties go to the stronger penalty.</summary>
    public static double InnerCrossValidatedL2(float[] emb, int d, HashSet<string> trainIds, VisitPairs visits)
    {
        var ordered = trainIds.Order(StringComparer.Ordinal).ToArray();
        var folds = Enumerable.Range(0, 3).Select(k => ordered.Where((_, i) => i % 3 == k).ToHashSet(StringComparer.Ordinal)).ToArray();
        double best = L2Grid[0], bestF1 = double.NegativeInfinity;
        foreach (double l2 in L2Grid)
        {
            double mean = folds.Average(held => visits.FitAndPredict(emb, d, trainIds.Except(held).ToHashSet(StringComparer.Ordinal), held,
                new ChangeClassifierOptions { L2 = l2 }).Result.MacroF1);
            if (mean >= bestF1) (best, bestF1) = (l2, mean);
        }
        return best;
    }

    /// <summary>
    /// What a probe R² allows: each target visit's true score plus independent Gaussian error of variance (1 − R²)·Var(score)
    /// (the variance over the target visits), change read off the noisy scores at the cohort's thresholds, macro-F1
    /// against the true labels, averaged over 50 draws — the visit-level change macro-F1 of a score predictor with that
    /// R² whose errors are independent between visits (errors shared by a patient's visits would cancel in the change).
    /// </summary>
    public static void PrintCeiling(VisitPairs visits, HashSet<string> targetIds, ChangeThresholds thresholds, bool higherIsHealthier)
    {
        var pairs = Enumerable.Range(0, visits.Pairs.Count).Where(r => targetIds.Contains(visits.Visits[visits.Pairs[r].Before].PatientId)).ToArray();
        var scores = visits.Visits.Where(v => targetIds.Contains(v.PatientId) && double.IsFinite(v.ChangeScore)).Select(v => v.ChangeScore).ToArray();
        double mean = scores.Average(), variance = scores.Average(x => (x - mean) * (x - mean));
        var truth = pairs.Select(r => (int)visits.Pairs[r].Change).ToArray();
        var parts = new List<string>();
        foreach (double r2 in new[] { 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999 })
        {
            double sigma = Math.Sqrt((1 - r2) * variance), f1 = 0;
            var rng = new Learner.Nn.Rng(17);
            for (int draw = 0; draw < 50; draw++)
            {
                var noisy = visits.Visits.Select(v => v.ChangeScore + sigma * rng.NextGaussian()).ToArray();
                var predicted = pairs.Select(r => (int)thresholds.Classify(noisy[visits.Pairs[r].Before], noisy[visits.Pairs[r].After], higherIsHealthier)).ToArray();
                f1 += Classification.MacroF1(truth, predicted, 3) / 50;
            }
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"R² {r2:G3} (error sd {sigma:F1}) → F1visit {f1:F3}"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"# ceiling ({pairs.Length} visit pairs, score sd {Math.Sqrt(variance):F1}): ") + string.Join("; ", parts));
    }

    /// <summary>Writes embeddings as little-endian float32.</summary>
    public static void SaveEmbeddings(string path, float[] emb)
    {
        using var w = new BinaryWriter(File.Create(path));
        foreach (float v in emb) w.Write(v);
    }

    /// <summary>Reads embeddings written by <see cref="SaveEmbeddings"/>.</summary>
    /// <exception cref="InvalidDataException">The file does not hold <paramref name="count"/> values.</exception>
    public static float[] LoadEmbeddings(string path, int count)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != count * sizeof(float))
            throw new InvalidDataException($"{path} holds {bytes.Length} bytes; {count} float32 embedding values were expected.");
        var result = new float[count];
        Buffer.BlockCopy(bytes, 0, result, 0, bytes.Length);
        return result;
    }

    /// <summary>The health-score probe (ridge, α = 1 on standardised features, statistics of the training rows) of y on
    /// the rows of the training patients; R² on the target patients' rows.</summary>
    public static double ProbeR2(float[] x, int d, double[] y, string[] patient, HashSet<string> trainIds, HashSet<string> targetIds)
    {
        var pred = ProbePredict(x, d, y, patient, trainIds);
        var te = Enumerable.Range(0, y.Length).Where(i => targetIds.Contains(patient[i])).ToArray();
        return Regression.RSquared(te.Select(i => y[i]).ToArray(), te.Select(i => pred[i]).ToArray());
    }

    /// <summary>The library's <see cref="HealthScoreProbe"/> (α = 1) fit on the training patients' rows, predicting every row.</summary>
    public static double[] ProbePredict(float[] x, int d, double[] y, string[] patient, HashSet<string> trainIds)
    {
        var tr = Enumerable.Range(0, y.Length).Where(i => trainIds.Contains(patient[i])).ToArray();
        return HealthScoreProbe.Fit(x, d, y, tr).Predict(x, Enumerable.Range(0, y.Length).ToArray());
    }
}
