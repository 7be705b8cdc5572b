#!/usr/bin/env bash
# The first hour of a new user, as a check (issue 17): a fresh clone of this repository, the packages packed into a
# local feed with scripts/pack.sh (the getting-started recipe), a new console app that references Learner from that
# feed through a nuget.config, its own small dataset written to disk (NPY feature vectors, a manifest with dates as
# visit times), then the study twice — through the library (the getting-started code: a held-out experiment ending in
# report.html) and through the installed `learner` tool (check, pretrain, resume, embed, evaluate, experiment, report).
# With LEARNER_FEED it skips the clone and pack and uses that feed instead (.ci/run packs it once, from a fresh clone of
# HEAD, for this script and pack-smoke.sh); its closing line says which.
# Tiny budgets: it checks that the path works, not what it measures. Run by .ci/run; needs the .NET SDK and git.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
work="$(mktemp -d)"
suffix="firsthour.$(date -u +%Y%m%d%H%M%S)"
started=$SECONDS
cleanup() {
  [ -n "${FIRST_HOUR_KEEP:-}" ] && echo "first-hour: kept $work" || rm -rf "$work"
  local cache="${NUGET_PACKAGES:-$HOME/.nuget/packages}" id
  for id in learner.nn learner learner.cli; do rm -rf "$cache/$id/"*"-$suffix"; done
}
trap cleanup EXIT
say() { echo "first-hour [$((SECONDS - started)) s]: $*"; }
fail() { echo "first-hour: FAILED: $*" >&2; exit 1; }

# 1. A fresh clone (the committed tree), packed into its feed/ folder — or, with LEARNER_FEED, the feed .ci/run already
# packed from this tree with scripts/pack.sh (packing once for pack-smoke.sh and this script).
if [ -n "${LEARNER_FEED:-}" ]; then
  feed="$LEARNER_FEED"
  origin="packages from LEARNER_FEED ($feed)"
  say "using the packages in $feed (LEARNER_FEED)"
else
  say "git clone $repo"
  git clone --quiet "$repo" "$work/learner"
  say "scripts/pack.sh (version suffix $suffix)"
  (cd "$work/learner" && LEARNER_VERSION_SUFFIX="$suffix" LEARNER_PACKAGES="Learner.Nn Learner Learner.Cli" scripts/pack.sh >"$work/pack.log" 2>&1) || { cat "$work/pack.log"; fail "scripts/pack.sh"; }
  feed="$work/learner/feed"
  origin="clone, pack"
fi
version="$(awk '$1 == "Learner" { print $2 }' "$feed/packages.txt")"
[ -n "$version" ] || fail "$feed/packages.txt names no Learner package"

# 2. A new console app with the guide's nuget.config (the local feed plus the repository's package source).
say "dotnet new console; nuget.config with the local feed; dotnet add package Learner --prerelease"
app="$work/MyStudy"
dotnet new console -o "$app" -n MyStudy --no-restore >/dev/null
cat >"$app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="learner-local" value="$feed" />
$(sed -n 's:^\s*\(<add key=.*/>\)\s*$:    \1:p' "$repo/nuget.config")
  </packageSources>
</configuration>
XML
(cd "$app" && dotnet add package Learner --prerelease >"$work/add.log" 2>&1) || { cat "$work/add.log"; fail "dotnet add package Learner --prerelease"; }
grep -q "Include=\"Learner\" Version=\"$version\"" "$app/MyStudy.csproj" || fail "the app does not reference Learner $version (--prerelease picked another build)"

# 3. The app: writes its own dataset (24 patients × 4 visits × 2 scans of 6 features), then the guide's held-out
#    experiment on it, ending in the report.
cat >"$app/Program.cs" <<'CS'
using System.Globalization;
using Learner.Data;
using Learner.Data.Formats;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Nn;
using Learner.Reporting;

string root = args.Length > 0 ? args[0] : "study";
Directory.CreateDirectory(Path.Combine(root, "scans"));
var rows = new List<string> { "scan_id,patient_id,time,score,label,path" };
var random = new Random(5);
for (int p = 0; p < 24; p++)
{
    double health = random.NextDouble(), nuisance = random.NextDouble() * 2 - 1;
    var day = new DateTime(2024, 3, 1).AddDays(p);
    for (int v = 0; v < 4; v++)
    {
        double score = Math.Round(100 + 400 * health, 1);
        for (int c = 0; c < 2; c++)
        {
            var features = new float[6];
            for (int f = 0; f < 6; f++) features[f] = (float)((f % 2 == 0 ? health : nuisance) * (1 + 0.3 * f) + 0.05 * (random.NextDouble() - 0.5));
            string id = $"p{p:D2}-v{v}-c{c}", file = Path.Combine("scans", id + ".npy");
            Npy.Write(Path.Combine(root, file), Tensor.FromSpan(features, 6));
            rows.Add(string.Join(',', id, $"p{p:D2}", day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), score.ToString(CultureInfo.InvariantCulture), "", file));
        }
        health = Math.Clamp(health + (random.Next(3) - 1) * 0.12 + 0.02 * (random.NextDouble() - 0.5), 0, 1);
        day = day.AddDays(7);
    }
}
File.WriteAllLines(Path.Combine(root, "manifest.csv"), rows);

// The getting-started guide's own-data code, with a tiny budget.
var data = Manifest.Read(Path.Combine(root, "manifest.csv"));
var experiment = new LearnerExperiment(new ExperimentOptions
{
    Objectives = new[] { "mse", "mse+weighted-contrastive" },
    ChangeThresholds = ChangeThresholds.Absolute(20),
    Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 6, EmbeddingDimension = 8, WidthMultiplier = 0.25 },
    Pretraining = new Learner.Training.PretrainingOptions { Epochs = 1, StepsPerEpoch = 4 },
    BatchSource = new Learner.Training.BatchSourceOptions { PatientsPerBatch = 4, ScansPerPatient = 2 },
    Protocol = new ExperimentProtocolOptions { TestFraction = 0.3 },
    BootstrapResamples = 50,
});
using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
var results = await experiment.RunAsync(data, progress: new ConsoleProgressReporter(), cancellationToken: cts.Token);
Console.WriteLine(results.ToMarkdown());
HtmlReport.Write(Path.Combine(root, "report.html"), results);
Console.WriteLine($"my study: {data.PatientCount} patients, {data.ScanCount} scans, {results.Rows.Count} runs; report {Path.Combine(root, "report.html")}");
CS
say "dotnet run: the app writes its dataset and runs the held-out experiment through the library"
(cd "$app" && dotnet run -c Release -v quiet -- "$work/study") >"$work/app.log" 2>&1 || { cat "$work/app.log"; fail "the app"; }
grep -q "my study: 24 patients, 192 scans, 2 runs" "$work/app.log" || { cat "$work/app.log"; fail "the app's summary line"; }
grep -q "Learner experiment" "$work/study/report.html" || fail "the library's report.html"
tail -n 1 "$work/app.log"

# 4. The installed tool on the same dataset.
say "dotnet tool install Learner.Cli --prerelease from the local feed"
dotnet tool install Learner.Cli --prerelease --tool-path "$work/tools" --configfile "$app/nuget.config" >"$work/tool.log" 2>&1 || { cat "$work/tool.log"; fail "dotnet tool install Learner.Cli"; }
learner="$work/tools/learner"
"$learner" --help | grep -q "^  learner \[command\] \[options\]" || fail "learner --help does not say 'learner'"
m="$work/study/manifest.csv" tiny=(--dim 8 --width 0.25 --epochs 1 --steps 4 --patients-per-batch 4 --scans-per-patient 2 --warmup 1)
say "learner check / pretrain / resume / embed / evaluate / experiment / report"
"$learner" check --manifest "$m" >/dev/null || fail "learner check"
"$learner" pretrain --manifest "$m" --objective mse+weighted-contrastive --out "$work/run" --json "${tiny[@]}" >"$work/pretrain.json" || fail "learner pretrain"
grep -q '"encoder": "mlp' "$work/pretrain.json" || fail "pretrain did not pick the mlp encoder for feature vectors"
grep -q '"Encoder": "mlp"' "$work/run/run.json" || fail "run.json does not record the encoder it built"
"$learner" pretrain --out "$work/run" --resume | grep -q "already complete" || fail "resuming a finished run does not say it is complete"
grep -q '"time":' "$work/run/log.jsonl" || fail "log.jsonl lines carry no time"
"$learner" embed --run "$work/run" --manifest "$m" --out "$work/run/emb.npy" >/dev/null || fail "learner embed"
"$learner" evaluate --embeddings "$work/run/emb.npy" --manifest "$m" --threshold 20 --bootstrap 50 --folds 3 --json >"$work/eval.json" || fail "learner evaluate"
grep -q '"macroF1"' "$work/eval.json" && ! grep -q '"NaN"' "$work/eval.json" || fail "evaluate --json: no macroF1, or NaN written as a string"
set +e
"$learner" evaluate --embeddings "$work/run/emb.npy" --manifest "$m" --threshold 5000 2>"$work/empty.err" >/dev/null
code=$?
set -e
[ "$code" -eq 1 ] && grep -q "No same-patient pair is" "$work/empty.err" || fail "evaluate --threshold 5000 (every pair stable) exited $code instead of refusing"
"$learner" experiment --manifest "$m" --threshold 20 --objectives "mse; mse+weighted-contrastive" --test-fraction 0.3 --bootstrap 50 --out "$work/exp" "${tiny[@]}" >"$work/exp.log" || { cat "$work/exp.log"; fail "learner experiment"; }
"$learner" report --experiment "$work/exp/results.json" --out "$work/exp/again.html" >/dev/null || fail "learner report"
grep -q "Learner experiment" "$work/exp/again.html" || fail "the tool's report"
say "ok: $origin, app from the local feed, own dataset, library and tool — each ends in a report"
