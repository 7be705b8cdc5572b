using System.Text.Json;
using Learner.Cli;

namespace Learner.Cli.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"learner-cli-{Guid.NewGuid():N}");

    public CliTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private string P(string name) => Path.Combine(_dir, name);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args) => await Run(default, args);

    private static Task<(int Code, string Out, string Err)> Run(CancellationToken ct, params string[] args) => CliRunner.Run(ct, args);

    private static readonly string[] TinyTraining = ["--epochs", "1", "--steps", "3", "--dim", "8", "--width", "0.25", "--patients-per-batch", "4", "--scans-per-patient", "2", "--warmup", "1"];

    private async Task<string> Synth(int patients = 10)
    {
        var (code, _, err) = await Run("synth", "--cohort", "lus", "--patients", patients.ToString(System.Globalization.CultureInfo.InvariantCulture), "--out", P("data"));
        code.Should().Be(ExitCodes.Ok, err);
        return P("data/manifest.csv");
    }

    [Fact]
    public async Task Synth_pretrain_embed_evaluate_round_trip_with_json_output()
    {
        string manifest = await Synth();
        File.ReadAllLines(manifest).Should().HaveCount(1 + 10 * 3 * 4);
        Directory.GetFiles(P("data/scans"), "*.npy").Should().HaveCount(120);

        var (code, output, err) = await Run(["pretrain", "--manifest", manifest, "--out", P("run"), "--json", .. TinyTraining]);
        code.Should().Be(ExitCodes.Ok, err);
        var pretrain = JsonDocument.Parse(output).RootElement;
        pretrain.GetProperty("steps").GetInt64().Should().Be(3);
        File.Exists(P("run/last.safetensors")).Should().BeTrue();
        File.ReadAllLines(P("run/log.jsonl")).Should().HaveCount(3);

        double SavedRate(string dir) => JsonDocument.Parse(File.ReadAllText(P(dir + "/run.json"))).RootElement.GetProperty("LearningRate").GetDouble();
        SavedRate("run").Should().Be(Learner.Objectives.ObjectiveRecipes.PaperRecipeLearningRate, "the default objective, the paper's recipe, at its selected rate");
        (code, _, err) = await Run(["pretrain", "--manifest", manifest, "--objective", "mse", "--out", P("run-mse"), "--json", .. TinyTraining]);
        code.Should().Be(ExitCodes.Ok, err);
        SavedRate("run-mse").Should().Be(6e-3);

        (code, output, err) = await Run("embed", "--run", P("run"), "--manifest", manifest, "--out", P("run/emb.npy"), "--json");
        code.Should().Be(ExitCodes.Ok, err);
        JsonDocument.Parse(output).RootElement.GetProperty("dimension").GetInt32().Should().Be(8);

        (code, output, err) = await Run("evaluate", "--embeddings", P("run/emb.npy"), "--manifest", manifest, "--threshold", "20", "--folds", "3", "--bootstrap", "20", "--json", "--out", P("run/metrics.json"));
        code.Should().Be(ExitCodes.Ok, err);
        var metrics = JsonDocument.Parse(output).RootElement;
        metrics.GetProperty("macroF1").GetProperty("estimate").GetDouble().Should().BeInRange(0, 1);
        metrics.GetProperty("confusion").GetArrayLength().Should().Be(3);
        File.Exists(P("run/metrics.json")).Should().BeTrue();

        (code, output, _) = await Run("evaluate", "--embeddings", P("run/emb.npy"), "--manifest", manifest, "--threshold", "20", "--folds", "3", "--bootstrap", "20");
        code.Should().Be(ExitCodes.Ok);
        output.Should().Contain("macro-F1").And.Contain("patient-grouped 3-fold CV");
    }

    [Fact]
    public async Task A_cancelled_pretrain_exits_130_and_resumes_to_the_same_weights_as_an_uninterrupted_run()
    {
        string manifest = await Synth();
        (await Run(["pretrain", "--manifest", manifest, "--out", P("full"), "--objective", "mse", .. TinyTraining])).Code.Should().Be(ExitCodes.Ok);

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var (code, _, err) = await Run(cancelled.Token, ["pretrain", "--manifest", manifest, "--out", P("cut"), "--objective", "mse", .. TinyTraining]);
        code.Should().Be(ExitCodes.Cancelled);
        err.Should().Contain("--resume");
        File.Exists(P("cut/last.safetensors")).Should().BeTrue("cancellation leaves a resumable checkpoint");

        LoggedSteps(P("cut/log.jsonl")).Should().BeEmpty("cancelled before the first step, the run checkpointed step 0");

        (code, _, err) = await Run("pretrain", "--out", P("cut"), "--resume");
        code.Should().Be(ExitCodes.Ok, err);
        File.ReadAllBytes(P("cut/last.safetensors")).Should().Equal(File.ReadAllBytes(P("full/last.safetensors")), "a resumed run ends bit-identical");
    }

    [Fact]
    public async Task A_pretrain_cancelled_mid_run_stops_after_the_current_step_and_resume_continues_from_there()
    {
        string manifest = await Synth();
        (await Run(["pretrain", "--manifest", manifest, "--out", P("full"), "--objective", "mse", .. TinyTraining])).Code.Should().Be(ExitCodes.Ok);

        // Ctrl-C while step 1 is being reported (the redirected progress prints every step of a 3-step run).
        using var ctrlC = new CancellationTokenSource();
        var output = new CancelOnWriter("step 1/3", ctrlC);
        var error = new StringWriter();
        int code = await LearnerCli.RunAsync(["pretrain", "--manifest", manifest, "--out", P("cut"), "--objective", "mse", .. TinyTraining], output, error, false, ctrlC.Token);
        code.Should().Be(ExitCodes.Cancelled, error.ToString());
        LoggedSteps(P("cut/log.jsonl")).Should().Equal([1], "the run stops after the step in flight");

        string err;
        (code, _, err) = await Run("pretrain", "--out", P("cut"), "--resume");
        code.Should().Be(ExitCodes.Ok, err);
        LoggedSteps(P("cut/log.jsonl")).Should().Equal([1, 2, 3], "the resumed run continues after the checkpointed step instead of starting over");
        // Weights, optimizer state and the run's history (the interrupted epoch's mean loss included) end bit-identical.
        File.ReadAllBytes(P("cut/last.safetensors")).Should().Equal(File.ReadAllBytes(P("full/last.safetensors")), "the whole checkpoint matches");
        var (cutTensors, cutMeta) = ReadSafetensors(P("cut/last.safetensors"));
        var (fullTensors, fullMeta) = ReadSafetensors(P("full/last.safetensors"));
        cutTensors.Should().Equal(fullTensors, "a resumed run ends with the same weights and optimizer moments, bit for bit");
        cutMeta.GetProperty("pretrain.step").GetString().Should().Be("3");
        cutMeta.GetProperty("learner.optimizer").GetString().Should().Be(fullMeta.GetProperty("learner.optimizer").GetString());
    }

    /// <summary>The tensor bytes and the metadata of a safetensors file.</summary>
    private static (byte[] Tensors, JsonElement Metadata) ReadSafetensors(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int headerLength = checked((int)BitConverter.ToUInt64(bytes, 0));
        var header = JsonDocument.Parse(bytes.AsMemory(8, headerLength)).RootElement;
        return (bytes[(8 + headerLength)..], header.GetProperty("__metadata__"));
    }

    /// <summary>Cancels (as Ctrl-C does) when a line containing <paramref name="trigger"/> is written.</summary>
    private sealed class CancelOnWriter(string trigger, CancellationTokenSource source) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains(trigger, StringComparison.Ordinal) == true) source.Cancel();
        }
    }

    private static long[] LoggedSteps(string log) =>
        File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64()).ToArray();

    [Fact]
    public async Task Experiment_runs_each_objective_at_its_selected_rate_unless_a_rate_is_given()
    {
        string manifest = await Synth(12);
        string Budget(string dir) => System.Text.Json.JsonDocument.Parse(File.ReadAllText(P(dir + "/results.json"))).RootElement
            .GetProperty("settings").EnumerateArray().Single(e => e.GetProperty("name").GetString() == "budget").GetProperty("value").GetString()!;
        string[] common = ["experiment", "--manifest", manifest, "--threshold", "20", "--objectives", "mse; mse+3*weighted-contrastive", "--epochs", "1", "--steps", "2", "--dim", "8", "--test-fraction", "0.25"];
        var (code, _, err) = await Run([.. common, "--out", P("sel")]);
        code.Should().Be(ExitCodes.Ok, err);
        Budget("sel").Should().Contain("peak lr 0.006 (mse: 0.006, mse + 3*weighted-contrastive: 0.003; the searches' selected rates)");
        (code, _, err) = await Run([.. common, "--lr", "0.001", "--out", P("one")]);
        code.Should().Be(ExitCodes.Ok, err);
        Budget("one").Should().Contain("peak lr 0.001,").And.NotContain("selected");

        // A settings file with per-objective rates: those, and the optimizer's rate for the others (no selected rates).
        File.WriteAllText(P("rates.json"), """{ "Learner": { "ObjectiveLearningRates": { "mse+3*weighted-contrastive": 0.002 } } }""");
        (code, _, err) = await Run([.. common, "--config", P("rates.json"), "--out", P("cfg")]);
        code.Should().Be(ExitCodes.Ok, err);
        Budget("cfg").Should().Contain("peak lr 0.006 (mse + 3*weighted-contrastive: 0.002)").And.NotContain("selected");
        // A settings file that turns them on, overridden by --lr for every objective.
        File.WriteAllText(P("on.json"), """{ "Learner": { "UseSelectedLearningRates": true } }""");
        (code, _, err) = await Run([.. common, "--config", P("on.json"), "--lr", "0.001", "--out", P("on")]);
        code.Should().Be(ExitCodes.Ok, err);
        Budget("on").Should().Contain("peak lr 0.001,").And.NotContain("selected");
    }

    [Fact]
    public async Task Experiment_writes_tables_and_a_report_that_report_can_redraw()
    {
        string manifest = await Synth(12);
        var (code, output, err) = await Run("experiment", "--manifest", manifest, "--threshold", "20", "--objectives", "mse; weighted-contrastive(marginByGap=true, marginSlope=1)",
            "--epochs", "1", "--steps", "2", "--dim", "8", "--folds", "3", "--out", P("exp"));
        code.Should().Be(ExitCodes.Ok, err);
        output.Should().Contain("| weighted-contrastive(marginByGap=true, marginSlope=1) | 1 | held-out k-fold |");
        output.Should().Contain("score → pretraining targets").And.Contain("score → change labels").And.Contain("Protocol: held-out k-fold");
        foreach (var f in new[] { "results.md", "results.csv", "results.json", "report.html", "command.json" }) File.Exists(P("exp/" + f)).Should().BeTrue(f);
        var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(P("exp/results.json"))).RootElement;
        json.GetProperty("schema").GetString().Should().Be("learner-results/2");
        json.GetProperty("commandLine").GetString().Should().Contain("--folds 3");
        json.GetProperty("rows")[1].GetProperty("folds").GetArrayLength().Should().Be(3);
        Directory.GetFiles(P("exp/runs"), "last.safetensors", SearchOption.AllDirectories).Should().HaveCount(6, "every fold's encoder is saved");

        // Resuming a finished experiment reuses every fold and reproduces the table.
        string before = File.ReadAllText(P("exp/results.csv"));
        (code, _, err) = await Run("experiment", "--out", P("exp"), "--resume");
        code.Should().Be(ExitCodes.Ok, err);
        string Numbers(string csv) => string.Join('\n', csv.Split('\n').Select(l => string.Join(',', l.Split(',').Take(15))));
        Numbers(File.ReadAllText(P("exp/results.csv"))).Should().Be(Numbers(before));

        (code, _, err) = await Run("report", "--experiment", P("exp/results.json"), "--out", P("exp/again.html"), "--title", "Again <&>");
        code.Should().Be(ExitCodes.Ok, err);
        string html = File.ReadAllText(P("exp/again.html"));
        html.Should().Contain("<title>Again &lt;&amp;&gt;</title>").And.Contain("Confusion matrices");
        System.Text.RegularExpressions.Regex.Matches(html, "<svg ").Count.Should().Be(2 + 4 * 2, "two summary charts, then a curve, an alignment scatter, a health-score probe scatter and a confusion matrix per objective");
    }

    /// <summary>Writes a manifest of 10 patients × 3 visits whose payloads are 4-feature NPY files (<paramref name="prefix"/>
    /// names them): feature payloads (an MLP encoder) keep an experiment fast.</summary>
    private void FeatureManifest(string manifest, string prefix, ulong seed)
    {
        var rows = new List<string> { "scan_id,patient_id,time,score,path" };
        var rng = new Learner.Nn.Rng(seed);
        for (int p = 0; p < 10; p++)
        {
            double score = 200 + 30 * p;
            for (int v = 0; v < 3; v++)
            {
                string file = $"{prefix}{p}{v}.npy";
                Learner.Data.Formats.Npy.Write(P(file), Learner.Nn.Tensor.FromSpan(new float[] { (float)(score / 100), (float)rng.NextGaussian(), p, 1 }, 4));
                rows.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"s{p}{v},p{p},{v},{score},{file}"));
                score += (rng.NextInt(3) - 1) * 25;
            }
        }
        File.WriteAllLines(P(manifest), rows);
    }

    [Fact]
    public async Task Concurrent_runs_give_the_same_results_and_fewer_than_one_is_refused()
    {
        FeatureManifest("concurrent.csv", "c", 4);
        string[] Args(string dir, string concurrent) => ["experiment", "--manifest", P("concurrent.csv"), "--threshold", "20", "--objectives", "mse,contrastive", "--folds", "2",
            "--epochs", "1", "--steps", "4", "--dim", "4", "--patients-per-batch", "4", "--scans-per-patient", "2", "--bootstrap", "20", "--concurrent-runs", concurrent, "--out", P(dir)];
        var (serial, _, err1) = await Run(Args("serial", "1"));
        serial.Should().Be(ExitCodes.Ok, err1);
        var (side, _, err2) = await Run(Args("side", "3"));
        side.Should().Be(ExitCodes.Ok, err2);
        static string Rows(string file)
        {
            var rows = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("rows");
            return string.Join("\n", rows.EnumerateArray().Select(r => $"{r.GetProperty("objective")} {r.GetProperty("macroF1")} {r.GetProperty("spearman")} {r.GetProperty("details")}"));
        }
        Rows(P("side/results.json")).Should().Be(Rows(P("serial/results.json")));
        var (refused, _, err3) = await Run(Args("none", "0"));
        refused.Should().Be(ExitCodes.Usage);
        err3.Should().Contain("--concurrent-runs");
    }

    [Fact]
    public async Task A_cancelled_experiment_exits_130_with_partial_results_and_resume_finishes_it()
    {
        FeatureManifest("features.csv", "f", 3);
        string[] args = ["experiment", "--manifest", P("features.csv"), "--threshold", "20", "--objectives", "mse,contrastive", "--folds", "2",
            "--epochs", "1", "--steps", "4", "--dim", "4", "--patients-per-batch", "4", "--scans-per-patient", "2", "--bootstrap", "20", "--concurrent-runs", "1", "--out", P("cx")];
        using var cts = new CancellationTokenSource();
        // Cancel as soon as the first run's second fold reports progress (the output writer sees the line).
        var output = new CancelOnText("fold 2/2", cts);
        var error = new StringWriter();
        int code = await LearnerCli.RunAsync(args, output, error, interactive: false, cts.Token);
        code.Should().Be(ExitCodes.Cancelled, error.ToString());
        error.ToString().Should().Contain("--resume");
        var partial = System.Text.Json.JsonDocument.Parse(File.ReadAllText(P("cx/results.json"))).RootElement;
        partial.GetProperty("complete").GetBoolean().Should().BeFalse();
        partial.GetProperty("rows").GetArrayLength().Should().Be(0, "no run had finished");
        File.Exists(P("cx/results.md")).Should().BeTrue();
        Directory.GetFiles(P("cx/runs"), "fold.json", SearchOption.AllDirectories).Should().HaveCount(1, "the first fold finished and was kept");

        // How many folds run at a time may change on resume: a new value replaces the saved one (a bad one is refused).
        var (bad, _, badErr) = await Run("experiment", "--out", P("cx"), "--resume", "--concurrent-runs", "0");
        bad.Should().Be(ExitCodes.Usage);
        badErr.Should().Contain("--concurrent-runs");
        var (again, text, err) = await Run("experiment", "--out", P("cx"), "--resume", "--concurrent-runs", "2");
        again.Should().Be(ExitCodes.Ok, err);
        text.Should().Contain("| contrastive | 1 | held-out k-fold |");
        var done = System.Text.Json.JsonDocument.Parse(File.ReadAllText(P("cx/results.json"))).RootElement;
        done.GetProperty("complete").GetBoolean().Should().BeTrue();
        done.GetProperty("rows").GetArrayLength().Should().Be(2);
    }

    /// <summary>A writer that cancels a token when a line containing <paramref name="text"/> is written.</summary>
    private sealed class CancelOnText(string text, CancellationTokenSource cts) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.Contains(text, StringComparison.Ordinal)) cts.Cancel();
        }
    }

    [Fact]
    public async Task Label_only_manifests_pretrain_label_objectives_and_data_errors_exit_1()
    {
        // Coarse labels for pretraining, exact scores only for change labels: no 'score' column at all.
        File.WriteAllText(P("f.npy"), "");
        var rows = new List<string> { "scan_id,patient_id,time,label,exact_score,path" };
        for (int p = 0; p < 6; p++)
            for (int v = 0; v < 2; v++)
            {
                string file = $"s{p}{v}.npy";
                Learner.Data.Formats.Npy.Write(P(file), Learner.Nn.Tensor.FromSpan(new float[] { p, v, p * v, 1 }, 4));
                rows.Add($"s{p}{v},p{p},{v},{p % 3},{100 + 10 * p + 15 * v},{file}");
            }
        File.WriteAllLines(P("labels.csv"), rows);
        var (code, output, err) = await Run(["pretrain", "--manifest", P("labels.csv"), "--objective", "supcon(temperature=0.2)", "--out", P("sup"), .. TinyTraining]);
        code.Should().Be(ExitCodes.Ok, err);
        (code, _, err) = await Run(["pretrain", "--manifest", P("labels.csv"), "--objective", "mse", "--out", P("mse"), .. TinyTraining]);
        code.Should().Be(ExitCodes.Failed, "a missing score is a data error, not a usage error");
        err.Should().Contain("s00").And.Contain("score");

        // A config file sets the objective and the batch source; the command line overrides the budget.
        File.WriteAllText(P("exp.json"), """{ "Learner": { "Objectives": ["contrastive(margin=0.7)"], "Pretraining": { "Epochs": 3 }, "Search": { "Trials": 2 }, "BatchSource": { "PatientsPerBatch": 3, "ScansPerPatient": 2, "NegativeGap": 0.4 } } }""");
        (code, _, err) = await Run("pretrain", "--manifest", P("labels.csv"), "--config", P("exp.json"), "--out", P("cfg"), "--steps", "2", "--dim", "8", "--width", "0.25", "--warmup", "0");
        code.Should().Be(ExitCodes.Ok, err);
        err.Should().Contain("pretrain ignores Search:Trials", "keys pretrain does not use are reported, not dropped silently");
        var run = System.Text.Json.JsonDocument.Parse(File.ReadAllText(P("cfg/run.json"))).RootElement;
        run.GetProperty("Objective").GetString().Should().Be("contrastive(margin=0.7)");
        run.GetProperty("Epochs").GetInt32().Should().Be(3);
        run.GetProperty("StepsPerEpoch").GetInt32().Should().Be(2);
        run.GetProperty("Source").GetProperty("PatientsPerBatch").GetInt32().Should().Be(3);
        run.GetProperty("Source").GetProperty("NegativeGap").GetDouble().Should().Be(0.4, "the whole BatchSource section is kept");
        run.TryGetProperty("PatientsPerBatch", out _).Should().BeFalse("run.json holds the batch source once, in Source");
        run.TryGetProperty("BatchSource", out _).Should().BeFalse();
        run.GetProperty("Normalize").GetString().Should().Be("zscore");
        // Encoder:Preset reaches the encoder (no flag, from the file only): the paper's ResNet-18 preset is refused for
        // these feature vectors (an mlp), naming it, instead of being dropped.
        File.WriteAllText(P("preset.json"), """{ "Learner": { "Encoder": { "Preset": "resnet18" } } }""");
        (code, _, err) = await Run("pretrain", "--manifest", P("labels.csv"), "--objective", "supcon", "--config", P("preset.json"), "--out", P("preset"), "--steps", "2");
        code.Should().NotBe(ExitCodes.Ok);
        err.Should().Contain("resnet18").And.Contain("tsm-resnet").And.NotContain("ignores Encoder:Preset");
        // --preset gives the same, and overrides the file's.
        (code, _, err) = await Run("pretrain", "--manifest", P("labels.csv"), "--objective", "supcon", "--preset", "resnet18", "--out", P("preset-flag"), "--steps", "2");
        code.Should().NotBe(ExitCodes.Ok);
        err.Should().Contain("resnet18").And.Contain("tsm-resnet");
        (code, _, err) = await Run(["pretrain", "--manifest", P("labels.csv"), "--objective", "supcon", "--config", P("preset.json"), "--preset", "small", "--out", P("preset-small"), .. TinyTraining]);
        code.Should().Be(ExitCodes.Ok, err);
        System.Text.Json.JsonDocument.Parse(File.ReadAllText(P("preset-small/run.json"))).RootElement.GetProperty("Preset").GetString().Should().Be("small");
        (code, _, err) = await Run("pretrain", "--resume", "--out", P("preset-small"), "--preset", "resnet18");
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("--preset resnet18").And.Contain("Preset = small");
        (code, _, err) = await Run("pretrain", "--manifest", P("labels.csv"), "--preset", "resnet34", "--out", P("preset-bad"));
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("resnet34");
        File.WriteAllText(P("typo.json"), """{ "Learner": { "Pretraning": { "Epochs": 3 } } }""");
        (code, _, err) = await Run("pretrain", "--manifest", P("labels.csv"), "--config", P("typo.json"), "--out", P("typo"));
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("Pretraning");
    }

    [Fact]
    public async Task Errors_name_the_file_line_or_option_and_map_to_exit_codes()
    {
        var (code, _, err) = await Run("pretrain", "--manifest", P("missing.csv"), "--out", P("x"));
        code.Should().Be(ExitCodes.Failed);
        err.Should().Contain("missing.csv").And.NotContain(" at Learner");

        File.WriteAllText(P("a.npy"), "");
        File.WriteAllText(P("b.npy"), "");
        File.WriteAllText(P("bad.csv"), "scan_id,patient_id,time,score,label,path\ns1,p1,0,1,0,a.npy\ns2,p1,zero,2,0,b.npy\n");
        (code, _, err) = await Run("pretrain", "--manifest", P("bad.csv"), "--out", P("x"));
        code.Should().Be(ExitCodes.Failed);
        err.Should().Contain("bad.csv").And.Contain("line 3");

        (code, _, err) = await Run("pretrain", "--manifest", P("bad.csv"), "--objective", "magic", "--out", P("x"));
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("--objective").And.Contain("magic").And.Contain("weighted-contrastive");

        (code, _, err) = await Run("experiment", "--cohort", "lus", "--objectives", "mse,frob", "--out", P("x"));
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("--objectives").And.Contain("frob");

        (code, _, err) = await Run("experiment", "--cohort", "lus", "--objectives", "weighted-contrastive(margn=1)", "--out", P("x"));
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("--objectives").And.Contain("margn").And.Contain("marginByGap");

        (code, _, err) = await Run("pretrain", "--out", P("nothing"), "--resume");
        code.Should().Be(ExitCodes.Failed);
        err.Should().Contain("run.json");

        // Numbers are read with '.' as the decimal point, in any culture: a comma is refused, naming the option.
        (code, _, err) = await Run("pretrain", "--manifest", P("bad.csv"), "--lr", "0,5", "--out", P("x"));
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("--lr").And.Contain("'0,5' is not a number");

        (code, _, err) = await Run("frobnicate");
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("frobnicate");
    }

    [Fact]
    public async Task Help_lists_every_command_and_the_exit_codes_and_each_command_shows_examples()
    {
        var (code, output, _) = await Run("--help");
        code.Should().Be(ExitCodes.Ok);
        string[] commands = ["synth", "pretrain", "embed", "evaluate", "experiment", "report"];
        foreach (var c in commands) output.Should().Contain(c);
        output.Should().Contain("Exit codes: 0 success, 1 failure").And.Contain("130 cancelled").And.Contain("'.' as the decimal point");
        foreach (var c in commands)
        {
            (code, output, _) = await Run(c, "--help");
            code.Should().Be(ExitCodes.Ok, c);
            output.Should().Contain("Example", c).And.Contain($"learner {c} ", c).And.Contain("--json", c);
        }
        (_, output, _) = await Run("pretrain", "--help");
        output.Should().Contain("--resume").And.Contain("weighted-contrastive");
    }

    [Fact]
    public async Task Synth_mri_writes_nifti_volumes_and_a_manifest_that_reads_back()
    {
        var (code, output, err) = await Run("synth", "--cohort", "mri", "--patients", "3", "--visits", "2", "--seed", "5", "--out", P("mri"), "--json");
        code.Should().Be(ExitCodes.Ok, err);
        JsonDocument.Parse(output).RootElement.GetProperty("scans").GetInt32().Should().Be(6);
        Directory.GetFiles(P("mri/scans"), "*.nii.gz").Should().HaveCount(6);
        var data = Learner.Data.Manifest.Read(P("mri/manifest.csv"));
        data.ScanCount.Should().Be(6);
        data.PatientCount.Should().Be(3);
        using var scope = Learner.Nn.TensorScope.Begin();
        data.Scans[0].LoadPayload().Rank.Should().Be(3, "an MRI payload is a volume");
    }

    [Fact]
    public async Task Npz_embeddings_give_the_same_metrics_as_npy_and_a_reordered_ids_file_is_refused_naming_the_line()
    {
        string manifest = await Synth();
        (await Run(["pretrain", "--manifest", manifest, "--out", P("run"), "--objective", "mse", .. TinyTraining])).Code.Should().Be(ExitCodes.Ok);
        foreach (var f in new[] { "e.npy", "e.npz" })
        {
            var (c, _, e) = await Run("embed", "--run", P("run"), "--manifest", manifest, "--out", P(f));
            c.Should().Be(ExitCodes.Ok, e);
        }
        string[] evaluate = ["evaluate", "--manifest", manifest, "--threshold", "20", "--folds", "3", "--bootstrap", "10", "--json"];
        var npy = await Run([.. evaluate, "--embeddings", P("e.npy")]);
        var npz = await Run([.. evaluate, "--embeddings", P("e.npz")]);
        npy.Code.Should().Be(ExitCodes.Ok, npy.Err);
        npz.Code.Should().Be(ExitCodes.Ok, npz.Err);
        npz.Out.Should().Be(npy.Out, "the same embeddings in another container evaluate identically");
        npy.Err.Should().NotContain("warning");

        File.Copy(P("e.npy"), P("bare.npy"));
        var bare = await Run([.. evaluate, "--embeddings", P("bare.npy")]);
        bare.Code.Should().Be(ExitCodes.Ok, bare.Err);
        bare.Err.Should().Contain("warning").And.Contain("bare.npy.ids.csv").And.Contain("manifest's order");
        bare.Out.Should().Be(npy.Out, "unchecked rows in the right order evaluate the same");

        var (code, _, err) = await Run("embed", "--run", P("run"), "--manifest", manifest, "--out", P("e.csv"));
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("--out").And.Contain(".npy or .npz");

        var ids = File.ReadAllLines(P("e.npy.ids.csv"));
        (ids[1], ids[2]) = (ids[2], ids[1]);
        File.WriteAllLines(P("e.npy.ids.csv"), ids);
        (code, _, err) = await Run([.. evaluate, "--embeddings", P("e.npy")]);
        code.Should().Be(ExitCodes.Failed);
        err.Should().Contain("e.npy.ids.csv, line 2").And.Contain("embed this manifest again");
    }

    [Fact]
    public async Task Json_mode_reports_errors_as_json_on_standard_output()
    {
        var (code, output, err) = await Run("--json", "evaluate", "--embeddings", P("none.npy"), "--manifest", P("none.csv"), "--threshold", "20");
        code.Should().Be(ExitCodes.Failed);
        var doc = JsonDocument.Parse(output).RootElement;
        doc.GetProperty("exitCode").GetInt32().Should().Be(ExitCodes.Failed);
        doc.GetProperty("error").GetString().Should().Contain("none.npy");
        err.Should().Contain("none.npy").And.NotContain(" at ", "no stack trace without --verbose");

        (code, _, err) = await Run("--verbose", "embed", "--run", P("none"), "--manifest", P("none.csv"), "--out", P("e.npy"));
        code.Should().Be(ExitCodes.Failed);
        err.Should().StartWith("learner: --run: the file").And.Contain(" at Learner.Cli.", "--verbose adds the stack trace");

        (code, output, _) = await Run("synth", "--cohort", "ct", "--out", P("x"), "--json");
        code.Should().Be(ExitCodes.Usage);
        doc = JsonDocument.Parse(output).RootElement;
        doc.GetProperty("exitCode").GetInt32().Should().Be(ExitCodes.Usage);
        doc.GetProperty("error").GetString().Should().Contain("--cohort").And.Contain("'lus'").And.Contain("'mri'");
    }

    [Fact]
    public async Task Interactive_progress_reports_epoch_step_and_loss_to_the_given_writer()
    {
        string manifest = await Synth();
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await LearnerCli.RunAsync(["pretrain", "--manifest", manifest, "--out", P("run"), "--objective", "mse", .. TinyTraining], output, error, interactive: true);
        code.Should().Be(ExitCodes.Ok, error.ToString());
        output.ToString().Should().Contain("mse epoch 1, step 3/3, loss").And.Contain("Pretrained");
    }
}
