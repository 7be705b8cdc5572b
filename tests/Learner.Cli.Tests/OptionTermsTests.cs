using System.Text.Json;
using Learner.Cli;

namespace Learner.Cli.Tests;

/// <summary>Messages in the command line's terms, and options that would be ignored refused rather than dropped.</summary>
public sealed class OptionTermsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"learner-terms-{Guid.NewGuid():N}");

    public OptionTermsTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private string P(string name) => Path.Combine(_dir, name);

    [Theory]
    [InlineData("--test-fraction", "1.5", "--test-fraction (Protocol:TestFraction) must lie in (0, 1), got 1.5")]
    [InlineData("--folds", "1", "--folds (Protocol:OuterFolds) must be ≥ 2, got 1")]
    [InlineData("--patients-per-batch", "0", "--patients-per-batch (BatchSource:PatientsPerBatch) must be ≥ 1, got 0")]
    [InlineData("--negative-gap", "-1", "--negative-gap (BatchSource:NegativeGap) must be finite and > 0")]
    public async Task Experiment_settings_errors_name_the_option_and_the_settings_key(string option, string value, string expected)
    {
        var (code, _, err) = await CliRunner.Run("experiment", "--cohort", "lus", "--patients", "8", "--steps", "2", option, value, "--out", P("x"));
        code.Should().Be(ExitCodes.Usage, err);
        err.Should().Contain(expected);
        Directory.Exists(P("x")).Should().BeFalse();
    }

    [Fact]
    public async Task Options_the_run_would_not_use_are_refused_and_synth_writes_the_delimiter_given()
    {
        var (code, _, err) = await CliRunner.Run("--delimiter", ";", "synth", "--cohort", "lus", "--patients", "4", "--out", P("d"));
        code.Should().Be(ExitCodes.Ok, err);
        File.ReadLines(P("d/manifest.csv")).First().Should().Contain(";").And.NotContain(",");
        (code, _, err) = await CliRunner.Run("--delimiter", ";", "check", "--manifest", P("d/manifest.csv"));
        code.Should().Be(ExitCodes.Ok, err);

        (code, _, err) = await CliRunner.Run("synth", "--cohort", "lus", "--patients", "6", "--out", P("c"));
        code.Should().Be(ExitCodes.Ok, err);
        (code, _, err) = await CliRunner.Run("experiment", "--manifest", P("c/manifest.csv"), "--threshold", "20", "--patients", "10", "--out", P("x"));
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("--patients 10").And.Contain("--manifest");
        (code, _, err) = await CliRunner.Run("experiment", "--cohort", "lus", "--folds", "3", "--test-fraction", "0.3", "--out", P("x"));
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("--folds 3").And.Contain("--test-fraction 0.3").And.Contain("give one");
        Directory.Exists(P("x")).Should().BeFalse();

        // A warm-up longer than the run is clamped to it, as in experiment, and run.json records what ran.
        (code, _, err) = await CliRunner.Run("pretrain", "--manifest", P("c/manifest.csv"), "--objective", "mse", "--epochs", "1", "--steps", "2", "--dim", "8",
            "--width", "0.25", "--patients-per-batch", "4", "--scans-per-patient", "2", "--out", P("run"));
        code.Should().Be(ExitCodes.Ok, err);
        err.Should().NotContain("warning");
        // K above every patient's scan count trains (with repeats) but says so.
        (code, _, err) = await CliRunner.Run("pretrain", "--manifest", P("c/manifest.csv"), "--objective", "mse", "--epochs", "1", "--steps", "1", "--dim", "8",
            "--width", "0.25", "--patients-per-batch", "4", "--scans-per-patient", "20", "--out", P("many"));
        code.Should().Be(ExitCodes.Ok, err);
        err.Should().Contain("warning: --scans-per-patient 20 is more than any patient's scans (at most 12)");
        var run = JsonDocument.Parse(File.ReadAllText(P("run/run.json"))).RootElement;
        run.GetProperty("Warmup").GetInt32().Should().Be(2);
        run.GetProperty("Source").GetProperty("Kind").GetString().Should().Be("PatientBatches", "enums are written by name");
        // A run.json of an earlier version, with enums as numbers, still resumes.
        File.WriteAllText(P("run/run.json"), File.ReadAllText(P("run/run.json")).Replace("\"PatientBatches\"", "0", StringComparison.Ordinal));
        (code, var text, err) = await CliRunner.Run("pretrain", "--out", P("run"), "--resume");
        code.Should().Be(ExitCodes.Ok, err);
        text.Should().Contain("already complete");
    }

    [Fact]
    public async Task A_batch_no_fold_can_fill_is_refused_before_training_naming_the_option_and_the_fold()
    {
        var (code, _, err) = await CliRunner.Run("experiment", "--cohort", "lus", "--patients", "8", "--steps", "2", "--objectives", "mse", "--out", P("x"));
        code.Should().Be(ExitCodes.Usage, err);
        err.Should().Contain("--patients-per-batch (BatchSource:PatientsPerBatch) = 8").And.Contain("fold 1 of 5's pretraining group has 6 of the 8 patients").And.Contain("give at most 6");
        File.Exists(P("x/experiment-state.json")).Should().BeFalse("nothing is recorded before every fold is planned");
        // A generated cohort gets the manifest's warning when K is more than any patient's scans.
        (code, _, err) = await CliRunner.Run("experiment", "--cohort", "lus", "--patients", "8", "--steps", "2", "--objectives", "mse", "--scans-per-patient", "500", "--out", P("x"));
        code.Should().Be(ExitCodes.Usage, err);
        err.Should().Contain("warning: --scans-per-patient 500 is more than any patient's scans");
        (code, _, err) = await CliRunner.Run("experiment", "--cohort", "lus", "--patients", "8", "--steps", "2", "--objectives", "mse", "--patients-per-batch", "4",
            "--scans-per-patient", "2", "--dim", "8", "--bootstrap", "10", "--out", P("x"));
        code.Should().Be(ExitCodes.Ok, err);   // the refused start left nothing that needs --force
    }

    [Fact]
    public async Task Settings_file_errors_name_the_key_the_nearest_setting_and_the_json_position()
    {
        var (code, _, err) = await CliRunner.Run("synth", "--cohort", "lus", "--patients", "4", "--out", P("d"));
        code.Should().Be(ExitCodes.Ok, err);
        async Task<string> Pretrain(string json)
        {
            File.WriteAllText(P("c.json"), json);
            var (c, _, e) = await CliRunner.Run("pretrain", "--manifest", P("d/manifest.csv"), "--config", P("c.json"), "--out", P("run"));
            c.Should().NotBe(ExitCodes.Ok);
            return e;
        }
        (await Pretrain("""{ "Learner": { "Pretraining": { "Epoch": 2 } } }"""))
            .Should().Contain("unknown setting 'Learner:Pretraining:Epoch' (did you mean Epochs?)").And.Contain("PretrainingOptions has Epochs, StepsPerEpoch").And.NotContain("BinderOptions");
        (await Pretrain("""{ "Learner": { "Pretraining": { "Epochs": "two" } } }"""))
            .Should().Contain("'Learner:Pretraining:Epochs' = 'two' is not a whole number").And.NotContain("System.Int32");
        (await Pretrain("{ \"Learner\": {\n  \"Pretraining\": { \"Epochs\": 2 }\n"))
            .Should().Contain("is not valid JSON at line 3").And.NotContain("LineNumber");
        Directory.Exists(P("run")).Should().BeFalse();
    }
}
