// QuickStart: the method end to end on a synthetic lung-ultrasound cohort.
// 1. generate 200 patients × 3 daily visits × 4 clips (8 frames of 32×32) with S/F-ratio-like health scores;
// 2. pretrain the small ResNet-TSM with the MSE baseline and with the paper's recipe, MSE + λ·weighted contrastive
//    (margin growing with the score gap), λ, the margin and each objective's learning rate as selected by the validation
//    search on the development cohort (docs/results.md, "Every objective after its own search"); same encoder, budget
//    and batches for both;
// 3. held-out protocol: 30 % of the patients are set aside before pretraining; the encoders pretrain on the others, a
//    three-way change classifier is fit on their same-patient embedding differences (clip pairs, and visit pairs: the
//    mean of a visit's clip embeddings), and the held-out patients' changes are predicted once; we also measure how
//    embedding distance tracks |Δscore| on them;
// 4. print the comparison and the paired difference to MSE (patient bootstrap on the same held-out pairs), and write
//    quickstart-report.html (self-contained, open it in a browser).
// Usage: dotnet run -c Release --project samples/QuickStart [-- <report.html> [patients]]
using System.Diagnostics;
using System.Globalization;
using Learner.Data;
using Learner.Data.Synthetic;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Objectives;
using Learner.Reporting;
using Learner.Training;
using Spectre.Console;

string reportPath = args.Length > 0 ? args[0] : "quickstart-report.html";
int patients = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200;
// Folds side by side (ExperimentRunOptions.ConcurrentRuns): the two runs at once, each on its share of the cores, give
// the same figures as one after another, sooner; a third argument of 1 runs them one after another.
int concurrentRuns = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : Math.Min(2, Environment.ProcessorCount);
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
var clock = Stopwatch.StartNew();

var cohortOptions = new SyntheticLusOptions { Patients = patients, Seed = 7 };
var cohort = new SyntheticLusCohort(cohortOptions);
var data = cohort.Dataset;
AnsiConsole.MarkupLine($"[bold]Cohort[/]: {data.PatientCount} patients, {data.ScanCount} clips; change threshold ±{cohortOptions.ChangeThreshold} score points.");

// The paper's recipe with the settings the validation search selected on the development cohort (docs/results.md):
// λ = 3, m₀ = 0.25, α = 0.5 at peak learning rate 3·10⁻³; MSE at its own selection, the library default 6·10⁻³
// (UseSelectedLearningRates: each objective at the rate ObjectiveRecipes.SelectedLearningRates holds for it).
var options = new ExperimentOptions
{
    Objectives = new[] { "mse", ObjectiveRecipes.PaperRecipe },
    UseSelectedLearningRates = true,
    Seeds = new[] { 1 },
    Encoder = new EncoderOptions { Architecture = "tsm-resnet", EmbeddingDimension = 64, ClipLength = cohortOptions.Frames },
    ChangeThresholds = cohort.ChangeThresholds,
    // One held-out split keeps the sample at about two minutes; the default is 5 outer folds (5× the pretraining).
    Protocol = new ExperimentProtocolOptions { TestFraction = 0.3 },
};

// Prints each finished run and, every few seconds, the step, loss, position in the experiment and ETA.
var reporter = new ConsoleProgressReporter();
ExperimentResults results;
try
{
    var run = new ExperimentRunOptions { ConcurrentRuns = concurrentRuns };
    results = new LearnerExperiment(options).Run(data, run, reporter, reporter, cts.Token);
}
catch (ExperimentCancelledException cancelled)
{
    AnsiConsole.MarkupLine($"[yellow]Cancelled[/] after {cancelled.Partial.Rows.Count} finished run(s).");
    return 130;
}

var table = new Table().AddColumns("objective", "accuracy", "macro-F1 [[95 % CI]]", "quadratic κ", "Spearman(distance, |Δscore|)", "pretraining s");
foreach (var r in results.Rows)
    table.AddRow(new[] { r.Objective, F(r.Accuracy.Estimate), $"{F(r.MacroF1.Estimate)} [{F(r.MacroF1.Lower)}, {F(r.MacroF1.Upper)}]", F(r.QuadraticKappa.Estimate),
        $"{F(r.Spearman.Estimate)} [{F(r.Spearman.Lower)}, {F(r.Spearman.Upper)}]", r.PretrainingSeconds.ToString("F1", CultureInfo.InvariantCulture) }.Select(c => new Text(c)));
AnsiConsole.Write(table);

// Visit level, and how much of the health score a linear probe reads from the held-out patients' frozen embeddings.
var visits = new Table().AddColumns("objective", "visit pairs", "visit macro-F1 [[95 % CI]]", "visit Spearman [[95 % CI]]", "score-probe R² clip / visit");
foreach (var r in results.Rows.Where(r => r.Visit is not null))
    visits.AddRow(new[] { r.Objective, r.Visit!.Pairs.ToString(CultureInfo.InvariantCulture), $"{F(r.Visit.MacroF1.Estimate)} [{F(r.Visit.MacroF1.Lower)}, {F(r.Visit.MacroF1.Upper)}]",
        $"{F(r.Visit.Spearman.Estimate)} [{F(r.Visit.Spearman.Lower)}, {F(r.Visit.Spearman.Upper)}]",
        r.Probe is { } p ? $"{F(p.ClipR2.Estimate)} / {F(p.VisitR2.Estimate)}" : "—" }.Select(c => new Text(c)));
AnsiConsole.Write(visits);

// The paired difference (recipe − MSE) on the same held-out pairs: one patient resample per bootstrap replicate for both.
string recipe = results.Rows[1].Objective, baseline = results.Rows[0].Objective;
foreach (var (metric, level) in new[] { (PairedMetric.MacroF1, ChangeLevel.Clip), (PairedMetric.Spearman, ChangeLevel.Clip), (PairedMetric.MacroF1, ChangeLevel.Visit), (PairedMetric.Spearman, ChangeLevel.Visit) })
{
    var d = results.PairedDifference(recipe, baseline, 1, metric, level);
    string verdict = d.Lower > 0 ? "[green]the recipe is better[/]" : d.Upper < 0 ? "[red]MSE is better[/]" : "no difference shown (the interval holds 0)";
    AnsiConsole.MarkupLine($"Paired {level.ToString().ToLowerInvariant()} {metric}: recipe − MSE = {F(d.Estimate)} [[{F(d.Lower)}, {F(d.Upper)}]] — {verdict}");
}

HtmlReport.Write(reportPath, results, new ReportOptions
{
    Title = "Learner QuickStart: MSE vs the paper's recipe (MSE + λ·weighted contrastive)",
    Description = $"Synthetic lung-ultrasound cohort ({data.PatientCount} patients, {data.ScanCount} clips, seed 7); three-way change (worsened / stable / improved) from same-patient embedding differences, predicted for held-out patients that neither pretraining nor the classifier saw.",
    Settings = results.Metadata.Settings.ToArray(),
});
AnsiConsole.MarkupLine($"Report: [link]{Markup.Escape(Path.GetFullPath(reportPath))}[/]  (total {clock.Elapsed.TotalSeconds:F0} s)");
return 0;

static string F(double v) => double.IsFinite(v) ? v.ToString("F3", CultureInfo.InvariantCulture) : "—";
