using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Learner.Data;
using Learner.Data.Formats;
using Learner.Downstream;
using Learner.Metrics;
using Learner.Nn;
using Learner.Sampling;
using Spectre.Console;

namespace Learner.Cli;

// The evaluate command; the other commands and the shared option helpers are in Commands.cs.
internal static partial class Commands
{
    // ---------------------------------------------------------------- evaluate
    public static Command Evaluate(CliContext cx, Option<bool> json)
    {
        var embeddings = Req("--embeddings", "Embeddings written by embed (.npy, or .npz with an 'embeddings' member; rows in manifest order).");
        var manifest = Req("--manifest", "The manifest the embeddings were computed from.");
        var threshold = CliOption.Invariant(new Option<double?>("--threshold") { Description = "Change threshold in score units: Δscore > t is improved, < −t worsened, else stable. Required unless the --config file sets ChangeThresholds; there is no default." });
        var config = new Option<string>("--config") { Description = "A JSON settings file (as for experiment): its ChangeThresholds, Classifier and BootstrapResamples are used; command-line options override them." };
        var folds = Opt("--folds", "Folds of the patient-grouped cross-validation.", 5);
        var seed = Opt("--seed", "Seed of the folds and the bootstrap.", 1);
        var head = Opt("--classifier", "Change classifier: logistic or mlp.", CliDefaults.Classifier).AcceptOnlyFromAmong("logistic", "mlp");
        var resamples = Opt("--bootstrap", "Patient-bootstrap resamples for the 95 % intervals.", 500);
        var output = new Option<string>("--out") { Description = "Also write the metrics JSON to this file." };
        var cmd = new Command("evaluate", """
            Three-way change classification (worsened / stable / improved) from same-patient embedding differences,
            patient-grouped k-fold cross-validation, plus the alignment of embedding distance with |Δscore|; intervals
            from the same patient bootstrap (same streams) as experiment. Embed patients the encoder did not pretrain
            on (pretrain on another manifest): otherwise the estimate is transductive, not held out.

            Example:
              learner evaluate --embeddings runs/wc/test.npy --manifest data/lus-test/manifest.csv --threshold 20 --out runs/wc/metrics.json
            """) { embeddings, manifest, threshold, config, folds, seed, head, resamples, output };
        cmd.SetAction(p =>
        {
            string file = p.GetValue(embeddings)!;
            bool npz = EmbeddingsFormat(file, "--embeddings");
            CliContext.RequireFile(file, "--embeddings");
            var data = cx.ReadManifest(p.GetValue(manifest)!);
            var fromConfig = p.GetValue(config) is { } configFile ? ExperimentSettings.LoadConfig(configFile) : null;
            ChangeThresholds thresholds;
            if (p.GetValue(threshold) is { } t)
            {
                if (!(t > 0) || double.IsInfinity(t)) throw new CliException($"--threshold must be positive and finite, got {t.ToString(CultureInfo.InvariantCulture)}.");
                thresholds = ChangeThresholds.Absolute(t);
            }
            else thresholds = fromConfig?.ChangeThresholds ?? throw new CliException("--threshold is required (the score change that counts as improved or worsened; there is no default), unless the --config file sets ChangeThresholds.");
            int k = p.GetValue(folds);
            if (k < 2) throw new CliException($"--folds must be ≥ 2, got {k}.");
            int n = ExperimentSettings.Given(p, resamples) || fromConfig is null ? p.GetValue(resamples) : fromConfig.BootstrapResamples;
            CliContext.Positive(n, "--bootstrap");
            var tensor = npz ? Npz.ReadArray(file, NpzMember) : Npy.Read(file);
            if (tensor.Rank != 2 || tensor.Dim(0) != data.ScanCount)
                throw new CliException($"--embeddings: '{file}' has shape {Tensor.FormatShape(tensor.Shape)}, but the manifest has {CliMessages.Count(data.ScanCount, "scan")}; expected [{data.ScanCount}, D].", ExitCodes.Failed);
            if (!CheckIds(file + ".ids.csv", data))
                cx.Err.WriteLine($"learner: warning: no '{file}.ids.csv' beside the embeddings (learner embed writes one), so nothing checks that row i is the manifest's scan i; rows are taken in the manifest's order.");
            int d = tensor.Dim(1);
            var emb = tensor.ToArray();
            int s = p.GetValue(seed);
            var classifier = fromConfig is null || ExperimentSettings.Given(p, head)
                ? (fromConfig?.Classifier ?? new ChangeClassifierOptions()) with { Head = p.GetValue(head) == "mlp" ? ChangeHead.Mlp : ChangeHead.LogisticRegression }
                : fromConfig.Classifier;
            // An empty change class makes accuracy and macro-F1 meaningless (every pair "stable" scores 1.000): refuse
            // before fitting anything (EmptyChangeClassException, exit 1); a nearly empty class is a warning below.
            var sampler = new IntraPatientPairSampler(data, thresholds);
            EmptyChangeClassException.ThrowIfAnyEmpty(sampler);
            var eval = ChangeEvaluation.CrossValidate(data, emb, d, thresholds, k, s, classifier);
            var pairs = sampler.Pairs;
            var gaps = pairs.Select(q => Math.Abs((double)q.HealthChange)).ToArray();
            var alignment = Alignment.Compute(emb, d, pairs.Select(q => (q.Before, q.After)).ToArray(), gaps);
            // The experiment's summary: same bootstrap streams, so the same predictions get the same intervals.
            var summary = ChangeReport.Summarize(eval, alignment.Distances.ToArray(), gaps, pairs.Select(q => data.Scans[q.Before].PatientIndex).ToArray(), n, (ulong)s);
            var (acc, f1, kappa) = (summary.Accuracy, summary.MacroF1, summary.QuadraticKappa);
            foreach (var warning in summary.Warnings) cx.Err.WriteLine($"learner: warning: {warning}");
            var confusion = Classification.ConfusionMatrix(eval.Truth, eval.Predicted, 3);
            var report = new
            {
                pairs = eval.Truth.Length, folds = k,
                accuracy = Interval(acc), macroF1 = Interval(f1), quadraticKappa = Interval(kappa),
                balancedAccuracy = Classification.BalancedAccuracy(eval.Truth, eval.Predicted, 3),
                spearman = Interval(summary.Spearman), pearson = alignment.Pearson, kendall = alignment.Kendall,
                warnings = summary.Warnings,
                classes = Classification.ChangeLabelNames,
                confusion = Enumerable.Range(0, 3).Select(i => Enumerable.Range(0, 3).Select(j => confusion[i, j]).ToArray()).ToArray(),
            };
            if (p.GetValue(output) is { } outFile)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outFile))!);
                File.WriteAllText(outFile, JsonSerializer.Serialize(report, CliContext.JsonOptions));
            }
            if (p.GetValue(json)) cx.WriteJson(report);
            else
            {
                cx.Out.WriteLine($"{eval.Truth.Length} same-patient pairs, patient-grouped {k}-fold CV, 95 % patient-bootstrap intervals ({n} resamples)");
                var metrics = new Table().AddColumn("metric").AddColumn(new TableColumn("estimate").RightAligned()).AddColumn(new TableColumn("95 % interval").RightAligned());
                void Row(string name, MetricInterval m) => metrics.AddRow(name, CliContext.F(m.Estimate), Markup.Escape($"[{CliContext.F(m.Lower)}, {CliContext.F(m.Upper)}]"));
                Row("accuracy", acc);
                Row("macro-F1", f1);
                Row("quadratic kappa", kappa);
                metrics.AddRow("balanced accuracy", CliContext.F(report.balancedAccuracy), "");
                Row("Spearman(distance, |Δscore|)", summary.Spearman);
                cx.Console.Write(metrics);
                var table = new Table().Title("confusion (rows true, columns predicted)").AddColumn("true \\ predicted");
                foreach (var name in Classification.ChangeLabelNames) table.AddColumn(new TableColumn(name).RightAligned());
                for (int i = 0; i < 3; i++)
                    table.AddRow(Classification.ChangeLabelNames[i], confusion[i, 0].ToString(CultureInfo.InvariantCulture), confusion[i, 1].ToString(CultureInfo.InvariantCulture), confusion[i, 2].ToString(CultureInfo.InvariantCulture));
                cx.Console.Write(table);
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static object Interval(MetricInterval m) => new { estimate = m.Estimate, lower = m.Lower, upper = m.Upper };

    /// <summary>Checks that the ids file beside the embeddings names the manifest's scans in order; false when there is none.</summary>
    private static bool CheckIds(string idsFile, LongitudinalDataset data)
    {
        if (!File.Exists(idsFile)) return false;
        var lines = File.ReadAllLines(idsFile);
        int rows = lines.Skip(1).Count(l => l.Length > 0);
        if (rows != data.ScanCount)
            throw new CliException($"{idsFile}: {CliMessages.Count(rows, "scan id")}, but the manifest has {CliMessages.Count(data.ScanCount, "scan")}; embed this manifest again.", ExitCodes.Failed);
        for (int i = 1; i < lines.Length && i - 1 < data.ScanCount; i++)
        {
            var cols = SplitCsv(lines[i]);
            if (cols.Count < 2 || cols[1] != data.Scans[i - 1].Id)
                throw new CliException($"{idsFile}, line {i + 1}: row {i - 1} is scan '{(cols.Count >= 2 ? cols[1] : lines[i])}', but the manifest's scan {i - 1} is '{data.Scans[i - 1].Id}'; embed this manifest again.", ExitCodes.Failed);
        }
        return true;
    }

    /// <summary>Splits one CSV line written by <see cref="Csv"/> (fields optionally quoted, "" inside quotes).</summary>
    internal static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(c);
        }
        fields.Add(field.ToString());
        return fields;
    }
}
