using System.Globalization;
using System.Text.Json;

namespace Learner.Cli.Tests;

/// <summary>The friction points a new user met (issue 17): each has a test here.</summary>
public sealed class FirstHourTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"learner-first-{Guid.NewGuid():N}");

    public FirstHourTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private string P(string name) => Path.Combine(_dir, name);

    private static Task<(int Code, string Out, string Err)> Run(params string[] args) => CliRunner.Run(args);

    private static readonly string[] TinyTraining = ["--epochs", "1", "--steps", "3", "--dim", "8", "--width", "0.25", "--patients-per-batch", "4", "--scans-per-patient", "2", "--warmup", "1"];

    private async Task<string> SynthAndEmbed()
    {
        var (code, _, err) = await Run("synth", "--cohort", "lus", "--patients", "10", "--out", P("data"));
        code.Should().Be(ExitCodes.Ok, err);
        string manifest = P("data/manifest.csv");
        (code, _, err) = await Run(["pretrain", "--manifest", manifest, "--out", P("run"), .. TinyTraining]);
        code.Should().Be(ExitCodes.Ok, err);
        (code, _, err) = await Run("embed", "--run", P("run"), "--manifest", manifest, "--out", P("run/emb.npy"));
        code.Should().Be(ExitCodes.Ok, err);
        return manifest;
    }

    [Fact]
    public async Task Evaluate_refuses_a_threshold_that_leaves_a_change_class_empty()
    {
        string manifest = await SynthAndEmbed();
        var (code, output, err) = await Run("evaluate", "--embeddings", P("run/emb.npy"), "--manifest", manifest, "--threshold", "5000", "--bootstrap", "20");
        code.Should().Be(ExitCodes.Failed, "every pair would be 'stable' and accuracy 1.000 would mislead");
        err.Should().Contain("'worsened' or 'improved'").And.Contain("5000");
        output.Should().NotContain("macro-F1");

        (code, output, _) = await Run("evaluate", "--embeddings", P("run/emb.npy"), "--manifest", manifest, "--threshold", "5000", "--json");
        code.Should().Be(ExitCodes.Failed);
        JsonDocument.Parse(output).RootElement.GetProperty("exitCode").GetInt32().Should().Be(ExitCodes.Failed);
    }
}
