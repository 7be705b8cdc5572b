using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Learner.Data;
using Learner.Data.Formats;
using Learner.Data.Synthetic;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Metrics;
using Learner.Nn;
using Learner.Reporting;
using Learner.Sampling;
using Learner.Training;
using Spectre.Console;

namespace Learner.Cli;

/// <summary>The subcommands.</summary>
internal static partial class Commands
{
    internal static readonly string[] Architectures = ["auto", .. EncoderOptions.Architectures];

    private static Option<T> Opt<T>(string name, string description, T defaultValue) => CliOption.Create(name, description, defaultValue);

    private static Option<string> Req(string name, string description) => new(name) { Description = description, Required = true };

    // ---------------------------------------------------------------- synth
    public static Command Synth(CliContext cx, Option<bool> json)
    {
        var cohort = Opt("--cohort", "Which cohort: lus (clips, written as NPY) or mri (volumes, written as NIfTI).", "lus").AcceptOnlyFromAmong("lus", "mri");
        var patients = Opt("--patients", "Number of patients.", 200);
        var visits = Opt("--visits", "Visits per patient.", 3);
        var seed = Opt("--seed", "Cohort seed.", 7);
        var output = Req("--out", "Folder to write manifest.csv and the payload files into (created).");
        var cmd = new Command("synth", """
            Write a synthetic cohort to disk: manifest.csv plus one payload file per scan.

            Examples:
              learner synth --cohort lus --patients 60 --out data/lus
              learner synth --cohort mri --patients 100 --seed 3 --out data/mri
            """) { cohort, patients, visits, seed, output };
        cmd.SetAction(p =>
        {
            string dir = p.GetValue(output)!;
            int n = p.GetValue(patients), v = p.GetValue(visits), s = p.GetValue(seed);
            CliContext.Positive(n, "--patients");
            CliContext.Positive(v, "--visits");
            Directory.CreateDirectory(Path.Combine(dir, "scans"));
            bool lus = p.GetValue(cohort) == "lus";
            var data = lus
                ? SyntheticLusCohort.Generate(new SyntheticLusOptions { Patients = n, VisitsPerPatient = v, Seed = (ulong)s })
                : SyntheticMriCohort.Generate(new SyntheticMriOptions { Patients = n, VisitsPerPatient = v, Seed = (ulong)s });
            var paths = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var scan in data.Scans)
            {
                using var scope = TensorScope.Begin();
                var payload = scan.LoadPayload();
                string safe = string.Concat(scan.Id.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' ? c : '_'));
                string file = Path.Combine(dir, "scans", safe + (lus ? ".npy" : ".nii.gz"));
                if (lus) Npy.Write(file, payload);
                else Nifti.Write(file, payload);
                paths[scan.Id] = Path.GetFullPath(file);
            }
            string manifest = Path.Combine(dir, "manifest.csv");
            // The manifest in the --delimiter given (default ','), as the commands that read it expect with the same option.
            Manifest.Write(manifest, data, sc => paths[sc.Id], new ManifestOptions { Delimiter = cx.Delimiter });
            double threshold = lus ? new SyntheticLusOptions().ChangeThreshold : new SyntheticMriOptions().ChangeThreshold;
            if (p.GetValue(json))
                cx.WriteJson(new { manifest = Path.GetFullPath(manifest), patients = data.PatientCount, scans = data.ScanCount, changeThreshold = threshold });
            else
                cx.Out.WriteLine($"Wrote {CliMessages.Count(data.ScanCount, "scan")} of {CliMessages.Count(data.PatientCount, "patient")} and {manifest} (change threshold for evaluate: {threshold.ToString(CultureInfo.InvariantCulture)}).");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    // ---------------------------------------------------------------- report
    public static Command Report(CliContext cx, Option<bool> json)
    {
        var experiment = Req("--experiment", "results.json written by the experiment command.");
        var output = Req("--out", "The HTML file to write.");
        var title = new Option<string>("--title") { Description = "Page title (default: the experiment's)." };
        var cmd = new Command("report", """
            Write the self-contained HTML report (inline SVG: results with CIs, training curves, distance-vs-|Δscore|
            scatter per objective, confusion matrices) of a saved experiment.

            Example:
              learner report --experiment runs/exp/results.json --out runs/exp/report.html
            """) { experiment, output, title };
        cmd.SetAction(p =>
        {
            string file = p.GetValue(experiment)!;
            CliContext.RequireFile(file, "--experiment");
            var results = ExperimentResultsFile.Read(file);
            var options = ExperimentCommand.ReportFor(results);
            if (p.GetValue(title) is { } t) options = options with { Title = t };
            string outFile = p.GetValue(output)!;
            HtmlReport.Write(outFile, results, options);
            if (p.GetValue(json)) cx.WriteJson(new { report = Path.GetFullPath(outFile), runs = results.Rows.Count });
            else cx.Out.WriteLine($"Wrote {outFile} ({CliMessages.Count(results.Rows.Count, "run")}).");
            return ExitCodes.Ok;
        });
        return cmd;
    }
}

/// <summary>A synchronous <see cref="IProgress{T}"/>.</summary>
internal sealed class Relay<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
