using System.CommandLine;
using Learner.Data;

namespace Learner.Cli;

/// <summary><c>learner check</c>: reads a manifest and every payload header and lists every bad file with its manifest
/// line; also the pre-flight that <c>pretrain</c> and <c>experiment</c> run before training.</summary>
internal static class CheckCommand
{
    public static Command Create(CliContext cx, Option<bool> json)
    {
        var manifest = new Option<string>("--manifest") { Description = "The manifest CSV to check.", Required = true };
        var objective = new Option<string?>("--objective") { Description = "Also check what these objective specs need (scores, labels); several separated by ';', e.g. \"mse; supcon\"." };
        var source = new Option<string>("--batch-source") { Description = "The batch source the objectives will train on: pk (P×K patient batches), pairs, triplets; what a pair or triplet objective needs depends on whether the source draws pairs or triplets.", DefaultValueFactory = _ => "pk" }.AcceptOnlyFromAmong("pk", "pairs", "triplets");
        var values = new Option<bool>("--values") { Description = "Read every payload's values and check they are finite (slower; by default NPY payloads are checked from their header)." };
        var cmd = new Command("check", """
            Check a manifest before training: every payload file exists and reads, all payload shapes agree, and the scores
            and labels the objective needs are present. Lists every bad payload with its file and manifest line (scans without
            a score or label: the first 5 and a count; --json lists all); exit 1 if any.

            Examples:
              learner check --manifest data/lus/manifest.csv
              learner check --manifest data/lus/manifest.csv --objective mse+weighted-contrastive --values --json
              learner check --manifest data/lus/manifest.csv --objective contrastive --batch-source pairs
            """) { manifest, objective, source, values };
        cmd.SetAction((p, ct) =>
        {
            string path = p.GetValue(manifest)!;
            // Missing payload files are listed with the other problems, not raised at the first one.
            var data = cx.ReadManifest(path, requirePayloadFiles: false);
            var batches = new Training.BatchSourceOptions { Kind = ExperimentSettings.ParseBatchSource(p.GetValue(source)!) };
            var options = Options(p.GetValue(objective) is { } spec ? ExperimentSettings.SplitObjectives(spec, "--objective") : [], batches) with { ReadValues = p.GetValue(values) };
            var report = DatasetCheck.Run(data, options);
            if (p.GetValue(json))
                cx.WriteJson(new
                {
                    manifest = Path.GetFullPath(path), ok = report.IsValid, scans = report.ScanCount, patients = report.PatientCount,
                    scored = report.ScoredScanCount, labelled = report.LabelledScanCount, payloadShape = report.PayloadShape, payloadsChecked = report.PayloadsChecked,
                    problems = report.Problems.Select(x => new { kind = x.Kind.ToString(), scan = x.ScanId, file = x.File, manifest = x.ManifestPath, line = x.ManifestLine, message = x.Message }),
                    exitCode = report.IsValid ? ExitCodes.Ok : ExitCodes.Failed,
                });
            else
            {
                foreach (var line in CliMessages.CheckProblemLines(report)) cx.Err.WriteLine(line);
                cx.Out.WriteLine($"{Path.GetFullPath(path)}: {report}");
            }
            return Task.FromResult(report.IsValid ? ExitCodes.Ok : ExitCodes.Failed);
        });
        return cmd;
    }

    /// <summary>The pre-flight of <c>pretrain</c> and <c>experiment</c>: fails before training with every problem listed.</summary>
    /// <param name="data">The dataset.</param>
    /// <param name="objectives">The objective specs.</param>
    /// <param name="batches">The batch source the run trains on (what it provides the objectives, and the scores it needs itself).</param>
    /// <exception cref="DatasetCheckException">The dataset has problems (exit 1).</exception>
    public static void Preflight(LongitudinalDataset data, IEnumerable<string> objectives, Training.BatchSourceOptions batches)
        => DatasetCheck.Run(data, Options(objectives, batches)).ThrowIfInvalid();

    private static DatasetCheckOptions Options(IEnumerable<string> objectives, Training.BatchSourceOptions batches)
    {
        try { return DatasetCheckOptions.ForPretraining(objectives, batches); }
        catch (Objectives.ObjectiveSpecException e) { throw new CliException("--objective: " + e.Message); }
    }
}
