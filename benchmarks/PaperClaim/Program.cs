// Measures the paper's claim on the synthetic cohorts: for one cohort, objective and seed, pretrain the experiment's
// encoder on each outer fold's training patients, and evaluate three-way change on the held-out patients; write the row as JSON. `aggregate` folds the
// JSON rows of many runs into the markdown tables of docs/results.md.
//
//   dotnet run -c Release --project benchmarks/PaperClaim -- run lus weighted-contrastive 1 out/
//   dotnet run -c Release --project benchmarks/PaperClaim -- aggregate out/ > table.md
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Learner.Data;
using Learner.Data.Synthetic;
using Learner.Encoders;
using Learner.Experiments;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
if (args.Length >= 5 && args[0] == "run") return Run(args[1], args[2], int.Parse(args[3], CultureInfo.InvariantCulture), args[4], args.Length > 5 ? int.Parse(args[5], CultureInfo.InvariantCulture) : 0);
if (args.Length >= 1 && args[0] == "diagnose") return Diagnose.Run(args[1..]);
if (args.Length >= 5 && args[0] == "experiment") return Claim.Experiment(args[1..]);
if (args.Length >= 2 && args[0] == "summarize") return Claim.Summarize(args[1..]);
if (args.Length >= 2 && args[0] == "oracle") { Oracle(args[1]); return 0; }
if (args.Length >= 2 && args[0] == "aggregate") { Console.Write(Aggregate(args[1])); return 0; }
Console.Error.WriteLine("usage: PaperClaim run <lus|mri> <objective> <seed> <outdir> [stepsPerEpoch] | aggregate <outdir> | oracle <lus|mri> | diagnose [key=value …] | experiment <lus|mri> <cohortSeed> <seeds> <outdir> [trials=N] [objectives=a;b] | summarize <dir>…");
Console.Error.WriteLine("objectives: any objective spec, e.g. " + string.Join(", ", Learner.Objectives.ObjectiveRecipes.Default.Names) + ", or mse+0.5*weighted-contrastive(marginByGap=true)");
return 2;

static (LongitudinalDataset Data, ExperimentOptions Options) Setup(string cohort)
{
    // The cohorts at their default sizes, generated with a fixed cohort seed; the run seed varies initialisation,
    // batch order and the CV folds.
    return cohort switch
    {
        "lus" => (SyntheticLusCohort.Generate(new SyntheticLusOptions { Seed = 7 }), new ExperimentOptions
        {
            Encoder = new EncoderOptions { Architecture = "tsm-resnet", EmbeddingDimension = 64, ClipLength = 8 },
            ChangeThresholds = ChangeThresholds.Absolute(new SyntheticLusOptions().ChangeThreshold),
        }),
        "mri" => (SyntheticMriCohort.Generate(new SyntheticMriOptions { Seed = 7 }), new ExperimentOptions
        {
            Encoder = new EncoderOptions { Architecture = "volume", EmbeddingDimension = 64 },
            ChangeThresholds = ChangeThresholds.Absolute(new SyntheticMriOptions().ChangeThreshold),
        }),
        _ => throw new ArgumentException($"cohort must be lus or mri, got '{cohort}'"),
    };
}

static int Run(string cohort, string objective, int seed, string outDir, int stepsPerEpoch)
{
    var clock = Stopwatch.StartNew();
    var (data, options) = Setup(cohort);
    if (stepsPerEpoch > 0) options.Pretraining = options.Pretraining with { StepsPerEpoch = stepsPerEpoch };
    string tag = stepsPerEpoch > 0 ? $"-s{stepsPerEpoch}" : "";
    options.Objectives = new[] { objective };
    options.Seeds = new[] { seed };
    double generate = clock.Elapsed.TotalSeconds;
    var results = new LearnerExperiment(options).Run(data, new Progress<string>(Console.WriteLine));
    double total = clock.Elapsed.TotalSeconds;
    Directory.CreateDirectory(outDir);
    var row = results.Rows[0];
    var json = JsonSerializer.Serialize(new
    {
        cohort, objective = objective + tag, seed, protocol = row.Protocol, steps = options.Pretraining.TotalSteps, patients = data.PatientCount, scans = data.ScanCount,
        accuracy = row.Accuracy, macroF1 = row.MacroF1, kappa = row.QuadraticKappa, spearman = row.Spearman,
        pretrainingSeconds = row.PretrainingSeconds, totalSeconds = total, generateSeconds = generate, finalLoss = row.FinalLoss,
        environment = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}",
    }, new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals });
    File.WriteAllText(Path.Combine(outDir, $"{cohort}-{objective}{tag}-{seed}.json"), json);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{cohort} {objective} seed {seed}: macro-F1 {row.MacroF1.Estimate:F3}, Spearman {row.Spearman.Estimate:F3}, total {total:F1} s"));
    return 0;
}

static string Aggregate(string dir)
{
    // Built-in objectives first, in the recipes' order, then composites and other specs.
    string[] Order = [.. Learner.Objectives.ObjectiveRecipes.Default.Names, "mse + weighted-contrastive"];
    var rows = Directory.GetFiles(dir, "*.json").Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement).ToList();
    var sb = new StringBuilder();
    foreach (var cohort in rows.Select(r => r.GetProperty("cohort").GetString()!).Distinct().Order())
    {
        var mine = rows.Where(r => r.GetProperty("cohort").GetString() == cohort).ToList();
        sb.Append(CultureInfo.InvariantCulture, $"### {cohort.ToUpperInvariant()} ({mine[0].GetProperty("patients").GetInt32()} patients, {mine[0].GetProperty("scans").GetInt32()} scans)\n\n");
        sb.Append("| objective | steps | seeds | macro-F1 mean ± sd | macro-F1 95 % CI (per seed) | Spearman mean ± sd | Spearman 95 % CI (per seed) | accuracy mean | κ mean |\n");
        sb.Append("|---|---:|---:|---|---|---|---|---:|---:|\n");
        foreach (var g in mine.GroupBy(r => r.GetProperty("objective").GetString()!).OrderBy(g => g.Key.Contains("-s", StringComparison.Ordinal) ? 1 : 0).ThenBy(g => Array.IndexOf(Order, g.Key.Split("-s")[0])))
        {
            var runs = g.OrderBy(r => r.GetProperty("seed").GetInt32()).ToList();
            double[] E(string m) => runs.Select(r => Num(r.GetProperty(m).GetProperty("Estimate"))).ToArray();
            string Cis(string m) => string.Join("; ", runs.Select(r => $"[{Num(r.GetProperty(m).GetProperty("Lower")):F3}, {Num(r.GetProperty(m).GetProperty("Upper")):F3}]"));
            string Ms(double[] v) => $"{v.Average():F3} ± {Sd(v):F3}";
            string steps = runs[0].TryGetProperty("steps", out var st) ? st.GetInt64().ToString(CultureInfo.InvariantCulture) : "120";
            sb.Append(CultureInfo.InvariantCulture, $"| {g.Key} | {steps} | {runs.Count} | {Ms(E("macroF1"))} | {Cis("macroF1")} | {Ms(E("spearman"))} | {Cis("spearman")} | {E("accuracy").Average():F3} | {E("kappa").Average():F3} |\n");
        }
        sb.Append('\n');
    }
    return sb.ToString();
}

// The ceiling the images allow: change classes predicted from the cohort's latent (noise-free) health difference,
// which is what the rendered scans encode, against the labels from the recorded (noisy) scores.
static void Oracle(string cohort)
{
    var (lus, mri) = cohort == "lus"
        ? (new SyntheticLusCohort(new SyntheticLusOptions { Seed = 7 }), (SyntheticMriCohort?)null)
        : ((SyntheticLusCohort?)null, new SyntheticMriCohort(new SyntheticMriOptions { Seed = 7 }));
    var data = lus?.Dataset ?? mri!.Dataset;
    double threshold = lus is not null ? new SyntheticLusOptions().ChangeThreshold : new SyntheticMriOptions().ChangeThreshold;
    var pairs = new Learner.Sampling.IntraPatientPairSampler(data, ChangeThresholds.Absolute(threshold)).Pairs;
    var truth = new List<int>(); var latent = new List<double>(); var observed = new List<double>();
    foreach (var p in pairs)
    {
        var a = data.Scans[p.Before]; var b = data.Scans[p.After];
        int patient = a.PatientIndex;
        double la = lus is not null ? lus.LatentHealth(patient, Visit(data, p.Before)) : mri!.LatentCognition(patient, Visit(data, p.Before));
        double lb = lus is not null ? lus.LatentHealth(patient, Visit(data, p.After)) : mri!.LatentCognition(patient, Visit(data, p.After));
        truth.Add(p.Change switch { ChangeLabel.Worsened => 0, ChangeLabel.Stable => 1, _ => 2 });
        latent.Add(lb - la);
        observed.Add(p.HealthChange);
    }
    // Best single threshold pair on the latent difference (fit on all pairs: an upper bound, not a fair score).
    var sorted = latent.OrderBy(v => v).ToArray();
    double best = 0, bestLo = 0, bestHi = 0;
    for (int i = 0; i < sorted.Length; i += Math.Max(1, sorted.Length / 200))
        for (int j = i; j < sorted.Length; j += Math.Max(1, sorted.Length / 200))
        {
            double lo = sorted[i], hi = sorted[j];
            var pred = latent.Select(v => v < lo ? 0 : v > hi ? 2 : 1).ToArray();
            double f1 = Learner.Metrics.Classification.MacroF1(truth.ToArray(), pred, 3);
            if (f1 > best) { best = f1; bestLo = lo; bestHi = hi; }
        }
    double rho = Learner.Metrics.Correlations.Spearman(latent.Select(Math.Abs).ToArray(), observed.Select(Math.Abs).ToArray());
    var counts = truth.GroupBy(t => t).OrderBy(g => g.Key).Select(g => $"{g.Key}:{g.Count()}");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{cohort}: {pairs.Count} pairs, classes {string.Join(" ", counts)}; oracle macro-F1 from the latent difference {best:F3} (thresholds {bestLo:G3}, {bestHi:G3}); Spearman(|latent Δ|, |score Δ|) {rho:F3}"));
}

static int Visit(LongitudinalDataset data, int scanIndex)
{
    var scan = data.Scans[scanIndex];
    var patient = data.Patients[scan.PatientIndex];
    var times = patient.Scans.Select(s => s.Time).Distinct().Order().ToList();
    return times.IndexOf(scan.Time);
}

static double Num(JsonElement e) => e.ValueKind == JsonValueKind.Number ? e.GetDouble() : double.NaN;

static double Sd(double[] v)
{
    if (v.Length < 2) return double.NaN;
    double m = v.Average();
    return Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Length - 1));
}
