using System.Text.Json;
using Learner.Cli;
using Learner.Data.Formats;
using Learner.Nn;

namespace Learner.Cli.Tests;

public sealed class CheckCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"learner-check-{Guid.NewGuid():N}");

    public CheckCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private string P(string name) => Path.Combine(_dir, name);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await LearnerCli.RunAsync(args, output, error, interactive: false);
        return (code, output.ToString(), error.ToString());
    }

    private static readonly string[] TinyTraining = ["--epochs", "1", "--steps", "3", "--dim", "8", "--width", "0.25", "--patients-per-batch", "4", "--scans-per-patient", "2", "--warmup", "1"];

    private async Task<string> Synth()
    {
        var (code, _, err) = await Run("synth", "--cohort", "lus", "--patients", "6", "--out", P("data"));
        code.Should().Be(ExitCodes.Ok, err);
        return P("data/manifest.csv");
    }

    /// <summary>The payload file of manifest line <paramref name="line"/> (1-based; line 1 is the header).</summary>
    private static string FileOf(string manifest, int line) =>
        Path.Combine(Path.GetDirectoryName(manifest)!, File.ReadAllLines(manifest)[line - 1].Split(',')[^1]);

    private static void SetScore(string manifest, int line, string score)
    {
        var lines = File.ReadAllLines(manifest);
        var f = lines[line - 1].Split(',');
        f[3] = score;
        lines[line - 1] = string.Join(',', f);
        File.WriteAllLines(manifest, lines);
    }

    [Fact]
    public async Task A_good_manifest_passes_with_a_summary()
    {
        string manifest = await Synth();
        var (code, output, err) = await Run("check", "--manifest", manifest, "--objective", "mse+weighted-contrastive");
        code.Should().Be(ExitCodes.Ok, err);
        output.Should().Contain("72 scans of 6 patients").And.Contain("[8, 32, 32]").And.Contain("no problems");
        (code, output, _) = await Run("check", "--manifest", manifest, "--values", "--json");
        code.Should().Be(ExitCodes.Ok);
        var json = JsonDocument.Parse(output).RootElement;
        json.GetProperty("ok").GetBoolean().Should().BeTrue();
        json.GetProperty("problems").GetArrayLength().Should().Be(0);
    }

    [Fact]
    public async Task Every_bad_file_and_missing_score_is_listed_with_its_manifest_line()
    {
        string manifest = await Synth();
        File.Delete(FileOf(manifest, 3));
        Npy.Write(FileOf(manifest, 5), Tensor.Zeros(8, 16, 32));
        File.WriteAllBytes(FileOf(manifest, 7), File.ReadAllBytes(FileOf(manifest, 7))[..100]);
        var nan = Tensor.Zeros(8, 32, 32);
        nan.Data[40] = float.NaN;
        Npy.Write(FileOf(manifest, 9), nan);
        SetScore(manifest, 11, "NaN");

        var (code, output, err) = await Run("check", "--manifest", manifest, "--objective", "mse", "--json");
        code.Should().Be(ExitCodes.Failed, err);
        var json = JsonDocument.Parse(output).RootElement;
        json.GetProperty("ok").GetBoolean().Should().BeFalse();
        json.GetProperty("exitCode").GetInt32().Should().Be(ExitCodes.Failed);
        var problems = json.GetProperty("problems").EnumerateArray().Select(x => (Kind: x.GetProperty("kind").GetString(), Line: x.GetProperty("line").GetInt32())).ToList();
        // The header check does not read the NaN inside a well-formed NPY file; --values does.
        problems.Should().BeEquivalentTo(new[] { ("PayloadNotFound", 3), ("ShapeMismatch", 5), ("UnreadablePayload", 7), ("MissingScore", 11) });

        (code, output, err) = await Run("check", "--manifest", manifest, "--objective", "mse", "--values");
        code.Should().Be(ExitCodes.Failed);
        foreach (int line in new[] { 3, 5, 7, 9, 11 }) err.Should().Contain($"{manifest} line {line},");
        err.Should().Contain("holds NaN at element 40");
        output.Should().Contain("5 problem(s)");
        // A label-only objective does not need the score.
        (code, output, _) = await Run("check", "--manifest", manifest, "--objective", "supcon");
        output.Should().Contain("3 problem(s)");
    }

    [Fact]
    public async Task Check_asks_the_objective_what_it_needs_of_the_chosen_batch_source_as_pretrain_does()
    {
        string manifest = await Synth();
        // Line 6 has neither a label nor a score, so its label cannot be derived from the scores either.
        var lines = File.ReadAllLines(manifest);
        int label = Array.IndexOf(lines[0].Split(','), "label");
        label.Should().BeGreaterThanOrEqualTo(0, lines[0]);
        var f = lines[5].Split(',');
        f[label] = "";
        lines[5] = string.Join(',', f);
        File.WriteAllLines(manifest, lines);
        SetScore(manifest, 6, "NaN");

        // The contrastive loss uses the sampler's pairs when the batches have them, else every labelled pair: P×K batches
        // carry no pairs, so it needs labels there (as pretrain refuses), and not with the pair source — which draws its
        // pairs by score gap, so it needs every score itself.
        var (code, output, err) = await Run("check", "--manifest", manifest, "--objective", "contrastive", "--json");
        code.Should().Be(ExitCodes.Failed, err);
        var problems = JsonDocument.Parse(output).RootElement.GetProperty("problems").EnumerateArray()
            .Select(x => (Kind: x.GetProperty("kind").GetString(), Line: x.GetProperty("line").GetInt32())).ToList();
        problems.Should().Equal(("MissingLabel", 6));
        (code, output, err) = await Run("check", "--manifest", manifest, "--objective", "contrastive", "--batch-source", "pairs", "--json");
        code.Should().Be(ExitCodes.Failed, err);
        JsonDocument.Parse(output).RootElement.GetProperty("problems").EnumerateArray()
            .Select(x => (Kind: x.GetProperty("kind").GetString(), Line: x.GetProperty("line").GetInt32())).Should().Equal(("MissingScore", 6));
        (code, _, err) = await Run(["pretrain", "--manifest", manifest, "--out", P("run"), "--objective", "contrastive", "--batch-source", "pairs", .. TinyTraining]);
        code.Should().Be(ExitCodes.Failed, err);
        err.Should().Contain($"{manifest} line 6,").And.Contain("score NaN is not finite, but the batch source");

        (code, _, err) = await Run(["pretrain", "--manifest", manifest, "--out", P("run"), "--objective", "contrastive", .. TinyTraining]);
        code.Should().Be(ExitCodes.Failed, err);
        err.Should().Contain($"{manifest} line 6,");
        File.Exists(P("run/log.jsonl")).Should().BeFalse("nothing was trained");
    }

    [Fact]
    public async Task Pretrain_fails_before_training_with_the_whole_list()
    {
        string manifest = await Synth();
        Npy.Write(FileOf(manifest, 4), Tensor.Zeros(8, 16, 32));
        SetScore(manifest, 6, "NaN");
        var (code, _, err) = await Run(["pretrain", "--manifest", manifest, "--out", P("run"), "--objective", "mse", .. TinyTraining]);
        code.Should().Be(ExitCodes.Failed, err);
        err.Should().Contain("2 problems").And.Contain($"{manifest} line 4,").And.Contain($"{manifest} line 6,");
        File.Exists(P("run/log.jsonl")).Should().BeFalse("nothing was trained");

        (code, _, err) = await Run("experiment", "--manifest", manifest, "--threshold", "20", "--objectives", "mse", "--out", P("exp"), "--epochs", "1", "--steps", "2");
        code.Should().Be(ExitCodes.Failed, err);
        err.Should().Contain($"{manifest} line 4,").And.Contain($"{manifest} line 6,");
    }

    [Fact]
    public async Task A_non_finite_payload_value_fails_pretraining_with_exit_1_naming_scan_file_and_line()
    {
        string manifest = await Synth();
        var bad = Tensor.Zeros(8, 32, 32);
        bad.Data[7] = float.PositiveInfinity;
        for (int line = 2; line <= 73; line++) Npy.Write(FileOf(manifest, line), line == 10 ? bad : Tensor.Ones(8, 32, 32));
        string scan = File.ReadAllLines(manifest)[9].Split(',')[0];
        var (code, output, err) = await Run(["pretrain", "--manifest", manifest, "--out", P("run"), "--objective", "supcon", "--json", "--epochs", "1", "--steps", "40", "--dim", "8", "--width", "0.25", "--patients-per-batch", "6", "--scans-per-patient", "12", "--warmup", "1"]);
        code.Should().Be(ExitCodes.Failed, err);
        err.Should().Contain($"scan '{scan}'").And.Contain(FileOf(manifest, 10)).And.Contain($"{manifest} line 10").And.Contain("holds Infinity at element 7").And.NotContain("unexpected").And.NotContain("NonFiniteEmbedding");
        JsonDocument.Parse(output).RootElement.GetProperty("exitCode").GetInt32().Should().Be(ExitCodes.Failed);
    }

    /// <summary>The manifest without its score column (labels only).</summary>
    private string WithoutScores(string manifest)
    {
        string path = P("data/labels.csv");
        File.WriteAllLines(path, File.ReadAllLines(manifest).Select(l => string.Join(',', l.Split(',').Where((_, i) => i != 3))));
        return path;
    }

    [Fact]
    public async Task Check_asks_the_batch_source_for_the_scores_it_needs_as_pretrain_does()
    {
        string labels = WithoutScores(await Synth());
        var (code, _, err) = await Run("check", "--manifest", labels, "--objective", "contrastive");
        code.Should().Be(ExitCodes.Ok, err);   // P×K batches: the contrastive loss needs labels only
        (code, _, err) = await Run("check", "--manifest", labels, "--objective", "contrastive", "--batch-source", "pairs");
        code.Should().Be(ExitCodes.Failed);
        err.Should().Contain($"{labels} line 2,").And.Contain("no score, but the batch source (inter-patient pairs, drawn by score gap) needs one");
        (code, _, err) = await Run(["pretrain", "--manifest", labels, "--out", P("run"), "--objective", "contrastive", "--batch-source", "pairs", .. TinyTraining]);
        code.Should().Be(ExitCodes.Failed);
        err.Should().Contain("the batch source (inter-patient pairs, drawn by score gap) needs one").And.Contain("72 problems");
        Directory.Exists(P("run")).Should().BeFalse();
    }

    [Fact]
    public async Task Check_lists_five_scans_without_a_score_and_counts_the_rest_but_every_payload_problem()
    {
        string manifest = await Synth();
        File.Delete(FileOf(manifest, 3));
        File.Delete(FileOf(manifest, 8));
        string labels = WithoutScores(manifest);
        var (code, _, err) = await Run("check", "--manifest", labels, "--objective", "mse");
        code.Should().Be(ExitCodes.Failed);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Count(l => l.Contains("no score, but")).Should().Be(5);
        err.Should().Contain("… and 67 more scans without a usable score (72 in all). No scan of the manifest has one: is its score column missing")
            ;
        // The two missing files are listed although lines 3 and 8 are past the five scans without a score shown.
        lines.Count(l => (l.Contains($"{labels} line 3,") || l.Contains($"{labels} line 8,")) && !l.Contains("no score")).Should().Be(2);
        lines.Length.Should().Be(8, "two missing files, five scans without a score, one count line");

        // Some scans without a score: counted, without the question about the column; --json lists every problem.
        for (int line = 2; line <= 9; line++) SetScore(manifest, line, "");
        (code, _, err) = await Run("check", "--manifest", manifest, "--objective", "mse");
        code.Should().Be(ExitCodes.Failed);
        err.Should().Contain("… and 3 more scans without a usable score (8 in all). Run it again with --json to list every one.").And.NotContain("No scan of");
        (code, var output, _) = await Run("check", "--manifest", manifest, "--objective", "mse", "--json");
        code.Should().Be(ExitCodes.Failed);
        JsonDocument.Parse(output).RootElement.GetProperty("problems").GetArrayLength().Should().Be(10);
    }

    [Fact]
    public async Task Pretrain_lists_every_missing_payload_file_and_caps_a_long_list()
    {
        string manifest = await Synth();
        File.Delete(FileOf(manifest, 3));
        File.Delete(FileOf(manifest, 8));
        var (code, _, err) = await Run(["pretrain", "--manifest", manifest, "--out", P("run"), "--objective", "mse", .. TinyTraining]);
        code.Should().Be(ExitCodes.Failed, err);
        err.Should().Contain("2 problems").And.Contain($"{manifest} line 3,").And.Contain($"{manifest} line 8,");

        string labels = WithoutScores(manifest);
        (code, _, err) = await Run(["pretrain", "--manifest", labels, "--out", P("run"), "--objective", "mse", .. TinyTraining]);
        code.Should().Be(ExitCodes.Failed);
        err.Should().Contain("74 problems").And.Contain("… and 69 more problems; learner check --manifest <file> --json lists them all.");
        err.Split('\n').Length.Should().BeLessThan(10, "the message lists five problems, not every one (and not all of them again on one line)");
        err.Split('\n').Max(l => l.Length).Should().BeLessThan(400);
    }
}
