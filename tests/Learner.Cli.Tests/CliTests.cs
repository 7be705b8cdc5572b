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

    private static async Task<(int Code, string Out, string Err)> Run(CancellationToken ct, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await LearnerCli.RunAsync(args, output, error, interactive: false, ct);
        return (code, output.ToString(), error.ToString());
    }

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

        (code, _, err) = await Run("pretrain", "--out", P("cut"), "--resume");
        code.Should().Be(ExitCodes.Ok, err);
        File.ReadAllBytes(P("cut/last.safetensors")).Should().Equal(File.ReadAllBytes(P("full/last.safetensors")), "a resumed run ends bit-identical");
    }

    [Fact]
    public async Task Experiment_writes_tables_and_a_report_that_report_can_redraw()
    {
        string manifest = await Synth(12);
        var (code, output, err) = await Run("experiment", "--manifest", manifest, "--threshold", "20", "--objectives", "mse,weighted-contrastive",
            "--epochs", "1", "--steps", "2", "--dim", "8", "--folds", "3", "--out", P("exp"));
        code.Should().Be(ExitCodes.Ok, err);
        output.Should().Contain("| weighted-contrastive | 1 |");
        foreach (var f in new[] { "results.md", "results.csv", "results.json", "experiment.json", "report.html" }) File.Exists(P("exp/" + f)).Should().BeTrue(f);

        (code, _, err) = await Run("report", "--experiment", P("exp/experiment.json"), "--out", P("exp/again.html"), "--title", "Again <&>");
        code.Should().Be(ExitCodes.Ok, err);
        string html = File.ReadAllText(P("exp/again.html"));
        html.Should().Contain("<title>Again &lt;&amp;&gt;</title>").And.Contain("Confusion matrices");
        System.Text.RegularExpressions.Regex.Matches(html, "<svg ").Count.Should().Be(2 + 3 * 2);
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

        (code, _, err) = await Run("pretrain", "--out", P("nothing"), "--resume");
        code.Should().Be(ExitCodes.Failed);
        err.Should().Contain("run.json");

        (code, _, err) = await Run("frobnicate");
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("frobnicate");
    }

    [Fact]
    public async Task Help_lists_every_command_with_examples()
    {
        var (code, output, _) = await Run("--help");
        code.Should().Be(ExitCodes.Ok);
        foreach (var c in new[] { "synth", "pretrain", "embed", "evaluate", "experiment", "report" }) output.Should().Contain(c);
        (code, output, _) = await Run("pretrain", "--help");
        code.Should().Be(ExitCodes.Ok);
        output.Should().Contain("Examples:").And.Contain("--resume");
    }
}
