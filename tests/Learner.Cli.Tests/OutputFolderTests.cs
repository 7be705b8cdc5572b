using System.Text.Json;
using Learner.Cli;

namespace Learner.Cli.Tests;

/// <summary>What the commands do with an occupied <c>--out</c> and a settings file that leaves something unset: an
/// experiment is never replaced without <c>--force</c>, and a file without objectives keeps pretrain's default one.</summary>
public sealed class OutputFolderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"learner-out-{Guid.NewGuid():N}");

    public OutputFolderTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private string P(string name) => Path.Combine(_dir, name);

    private async Task<string> Synth()
    {
        var (code, _, err) = await CliRunner.Run("synth", "--cohort", "lus", "--patients", "8", "--out", P("data"));
        code.Should().Be(ExitCodes.Ok, err);
        return P("data/manifest.csv");
    }

    [Fact]
    public async Task An_experiment_in_an_occupied_folder_is_refused_unless_resumed_or_forced()
    {
        string manifest = await Synth();
        string[] Exp(string objective, string steps, params string[] more) => ["experiment", "--manifest", manifest, "--threshold", "20", "--objectives", objective,
            "--epochs", "1", "--steps", steps, "--dim", "8", "--test-fraction", "0.25", "--patients-per-batch", "4", "--scans-per-patient", "2", "--bootstrap", "10",
            "--out", P("exp"), .. more];
        var (code, _, err) = await CliRunner.Run(Exp("mse", "2"));
        code.Should().Be(ExitCodes.Ok, err);
        File.WriteAllText(P("exp/notes.txt"), "mine");
        byte[] results = File.ReadAllBytes(P("exp/results.json"));

        (code, _, err) = await CliRunner.Run(Exp("mse", "3"));
        code.Should().Be(ExitCodes.Failed);
        err.Should().Contain($"'{P("exp")}' already holds an experiment").And.Contain("--resume").And.Contain("--force");
        File.ReadAllBytes(P("exp/results.json")).Should().Equal(results, "nothing was replaced");

        (code, _, err) = await CliRunner.Run(Exp("mse", "2", "--resume", "--force"));
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("contradict");

        (code, _, err) = await CliRunner.Run(Exp("mse-within-patient", "2", "--force"));
        code.Should().Be(ExitCodes.Ok, err);
        File.ReadAllText(P("exp/results.md")).Should().Contain("mse-within-patient");
        Directory.GetDirectories(P("exp/runs")).Select(Path.GetFileName).Should().NotContain("mse", "the old experiment's runs were deleted");
        File.ReadAllText(P("exp/notes.txt")).Should().Be("mine", "--force deletes the experiment's files only");
    }

    [Fact]
    public async Task A_settings_file_without_objectives_keeps_pretrains_default_objective()
    {
        string manifest = await Synth();
        File.WriteAllText(P("budget.json"), """{ "Learner": { "Pretraining": { "Epochs": 1, "StepsPerEpoch": 2, "WarmupSteps": 1 } } }""");
        var (code, _, err) = await CliRunner.Run("pretrain", "--manifest", manifest, "--config", P("budget.json"), "--dim", "8", "--width", "0.25",
            "--patients-per-batch", "4", "--scans-per-patient", "2", "--out", P("run"));
        code.Should().Be(ExitCodes.Ok, err);
        var run = JsonDocument.Parse(File.ReadAllText(P("run/run.json"))).RootElement;
        run.GetProperty("Objective").GetString()!.Replace(" ", "", StringComparison.Ordinal).Should().Be(Learner.Objectives.ObjectiveRecipes.PaperRecipe, "the file names no objective, so pretrain's default stands");
        run.GetProperty("StepsPerEpoch").GetInt32().Should().Be(2);

        File.WriteAllText(P("obj.json"), """{ "Learner": { "Objectives": [ "mse" ], "Pretraining": { "Epochs": 1, "StepsPerEpoch": 2, "WarmupSteps": 1 } } }""");
        (code, _, err) = await CliRunner.Run("pretrain", "--manifest", manifest, "--config", P("obj.json"), "--dim", "8", "--width", "0.25",
            "--patients-per-batch", "4", "--scans-per-patient", "2", "--out", P("run2"));
        code.Should().Be(ExitCodes.Ok, err);
        JsonDocument.Parse(File.ReadAllText(P("run2/run.json"))).RootElement.GetProperty("Objective").GetString().Should().Be("mse");
    }
}
