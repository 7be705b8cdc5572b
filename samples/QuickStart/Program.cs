// QuickStart: the method end to end on a synthetic lung-ultrasound cohort.
// 1. generate 200 patients × 3 daily visits × 4 clips (8 frames of 32×32) with S/F-ratio-like health scores;
// 2. pretrain the small ResNet-TSM with the MSE baseline and with LEARNER's weighted contrastive objective (same budget);
// 3. embed every clip, train a three-way change classifier on same-patient embedding differences with patient-grouped
//    5-fold cross-validation, and measure how embedding distance tracks |Δscore|;
// 4. print the comparison and write quickstart-report.html (self-contained, open it in a browser).
// Usage: dotnet run -c Release --project samples/QuickStart [-- <report.html> [patients]]
using System.Diagnostics;
using System.Globalization;
using Learner.Data;
using Learner.Data.Synthetic;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Reporting;
using Learner.Training;
using Spectre.Console;

string reportPath = args.Length > 0 ? args[0] : "quickstart-report.html";
int patients = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
var clock = Stopwatch.StartNew();

var cohortOptions = new SyntheticLusOptions { Patients = patients, Seed = 7 };
var data = SyntheticLusCohort.Generate(cohortOptions);
AnsiConsole.MarkupLine($"[bold]Cohort[/]: {data.PatientCount} patients, {data.ScanCount} clips; change threshold ±{cohortOptions.ChangeThreshold} score points.");

var options = new ExperimentOptions
{
    Objectives = new[] { "mse", "weighted-contrastive" },
    Seeds = new[] { 1 },
    Encoder = new EncoderOptions { Architecture = "tsm-resnet", EmbeddingDimension = 64, ClipLength = cohortOptions.Frames },
    Pretraining = new PretrainingOptions { Epochs = 2, StepsPerEpoch = 60, WarmupSteps = 5 },
    ChangeThresholds = ChangeThresholds.Absolute(cohortOptions.ChangeThreshold),
};

ExperimentResults results = null!;
AnsiConsole.Progress()
    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
    .Start(ctx =>
    {
        var tasks = options.Objectives.ToDictionary(o => o, o => ctx.AddTask(o, autoStart: false, maxValue: options.Pretraining.TotalSteps));
        var steps = new SyncProgress<ExperimentStep>(s =>
        {
            var task = tasks[s.Objective];
            if (!task.IsStarted) task.StartTask();
            task.Value = s.Training.Step;
            task.Description = string.Create(CultureInfo.InvariantCulture, $"{s.Objective,-22} loss {s.Training.Loss,8:F4}");
        });
        // A synchronous IProgress (not Progress<T>, which posts to the thread pool) keeps the bars in step with training.
        results = new LearnerExperiment(options).Run(data, null, steps, cts.Token);
    });

var table = new Table().AddColumns("objective", "accuracy", "macro-F1 [[95 % CI]]", "quadratic κ", "Spearman(distance, |Δscore|)", "pretraining s");
foreach (var r in results.Rows)
    table.AddRow(new[] { r.Objective, F(r.Accuracy.Estimate), $"{F(r.MacroF1.Estimate)} [{F(r.MacroF1.Lower)}, {F(r.MacroF1.Upper)}]", F(r.QuadraticKappa.Estimate),
        $"{F(r.Spearman.Estimate)} [{F(r.Spearman.Lower)}, {F(r.Spearman.Upper)}]", r.PretrainingSeconds.ToString("F1", CultureInfo.InvariantCulture) }.Select(c => new Text(c)));
AnsiConsole.Write(table);

HtmlReport.Write(reportPath, results, new ReportOptions
{
    Title = "Learner QuickStart: MSE vs weighted contrastive",
    Description = "Synthetic lung-ultrasound cohort; three-way change (worsened / stable / improved) from same-patient embedding differences, patient-grouped 5-fold CV.",
    Settings = new[]
    {
        new KeyValuePair<string, string>("cohort", $"{data.PatientCount} patients, {data.ScanCount} clips (seed 7)"),
        new KeyValuePair<string, string>("encoder", $"{options.Encoder.Architecture}, D = {options.Encoder.EmbeddingDimension}"),
        new KeyValuePair<string, string>("budget", $"{options.Pretraining.TotalSteps} steps of {options.PatientsPerBatch} patients × {options.ScansPerPatient} clips"),
    },
});
AnsiConsole.MarkupLine($"Report: [link]{Markup.Escape(Path.GetFullPath(reportPath))}[/]  (total {clock.Elapsed.TotalSeconds:F0} s)");
return 0;

static string F(double v) => double.IsFinite(v) ? v.ToString("F3", CultureInfo.InvariantCulture) : "—";

sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
