using System.Text.Json;
using Learner.Cli;

namespace Learner.Cli.Tests;

/// <summary><c>pretrain --augment</c> and a settings file's <c>Pretraining:Augmentation</c>: recorded in run.json, applied,
/// checked on resume, and bad values refused naming the setting.</summary>
public sealed class PretrainAugmentationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"learner-aug-{Guid.NewGuid():N}");

    public PretrainAugmentationTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private string P(string name) => Path.Combine(_dir, name);

    private static readonly string[] Tiny = ["--objective", "mse", "--epochs", "1", "--steps", "2", "--dim", "8", "--width", "0.25", "--patients-per-batch", "4", "--scans-per-patient", "2", "--warmup", "1"];

    private async Task<string> Synth()
    {
        var (code, _, err) = await CliRunner.Run("synth", "--cohort", "lus", "--patients", "8", "--out", P("data"));
        code.Should().Be(ExitCodes.Ok, err);
        return P("data/manifest.csv");
    }

    private JsonElement RunJson(string run) => JsonDocument.Parse(File.ReadAllText(P(run + "/run.json"))).RootElement;

    [Fact]
    public async Task Augment_default_is_recorded_applied_and_checked_on_resume()
    {
        string manifest = await Synth();
        var (code, _, err) = await CliRunner.Run(["pretrain", "--manifest", manifest, "--out", P("plain"), .. Tiny]);
        code.Should().Be(ExitCodes.Ok, err);
        RunJson("plain").GetProperty("Augmentation").ValueKind.Should().Be(JsonValueKind.Null, "no augmentation unless asked");
        (code, _, err) = await CliRunner.Run(["pretrain", "--manifest", manifest, "--out", P("aug"), "--augment", "default", .. Tiny]);
        code.Should().Be(ExitCodes.Ok, err);
        var aug = RunJson("aug").GetProperty("Augmentation");
        aug.GetProperty("FlipProbability").GetDouble().Should().Be(0.5);
        aug.TryGetProperty("IsSpatial", out _).Should().BeFalse("a derived property is not written");
        File.ReadAllBytes(P("aug/last.safetensors")).Should().NotEqual(File.ReadAllBytes(P("plain/last.safetensors")), "the scans were augmented");

        (code, _, err) = await CliRunner.Run("pretrain", "--out", P("aug"), "--resume", "--augment", "none");
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("--augment none").And.Contain("Augmentation = default");
        (code, _, err) = await CliRunner.Run("pretrain", "--out", P("aug"), "--resume", "--augment", "default");
        code.Should().Be(ExitCodes.Ok, err);
    }

    [Fact]
    public async Task A_settings_files_augmentation_section_is_used_and_a_bad_value_is_refused_naming_it()
    {
        string manifest = await Synth();
        File.WriteAllText(P("aug.json"), """{ "Learner": { "Pretraining": { "Augmentation": { "MaxShift": 2, "FlipProbability": 0, "SharedWithinPatient": true } } } }""");
        var (code, _, err) = await CliRunner.Run(["pretrain", "--manifest", manifest, "--config", P("aug.json"), "--out", P("cfg"), .. Tiny]);
        code.Should().Be(ExitCodes.Ok, err);
        err.Should().NotContain("ignores", "pretrain uses the augmentation section");
        var aug = RunJson("cfg").GetProperty("Augmentation");
        aug.GetProperty("MaxShift").GetInt32().Should().Be(2);
        aug.GetProperty("SharedWithinPatient").GetBoolean().Should().BeTrue();
        aug.GetProperty("NoiseStd").GetDouble().Should().BeApproximately(0.02, 1e-7, "unset keys keep their defaults");

        File.WriteAllText(P("bad.json"), """{ "Learner": { "Pretraining": { "Augmentation": { "FlipProbability": 1.5 } } } }""");
        (code, _, err) = await CliRunner.Run(["pretrain", "--manifest", manifest, "--config", P("bad.json"), "--out", P("bad"), .. Tiny]);
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("FlipProbability").And.Contain("1.5");
        Directory.Exists(P("bad")).Should().BeFalse("nothing is written before every setting is valid");

        File.WriteAllText(P("crop.json"), """{ "Learner": { "Pretraining": { "Augmentation": { "CropHeight": 64, "CropWidth": 64 } } } }""");
        (code, _, err) = await CliRunner.Run(["pretrain", "--manifest", manifest, "--config", P("crop.json"), "--out", P("crop"), .. Tiny]);
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("crop 64×64").And.Contain("[8, 32, 32]");
    }

    [Fact]
    public async Task Experiment_augment_and_a_settings_files_section_are_listed_in_the_results_settings()
    {
        string manifest = await Synth();
        string? Augmentation(string dir) => JsonDocument.Parse(File.ReadAllText(P(dir + "/results.json"))).RootElement.GetProperty("settings").EnumerateArray()
            .Where(e => e.GetProperty("name").GetString() == "augmentation").Select(e => e.GetProperty("value").GetString()).SingleOrDefault();
        string[] common = ["experiment", "--manifest", manifest, "--threshold", "20", "--objectives", "mse", "--epochs", "1", "--steps", "2", "--dim", "8", "--test-fraction", "0.25", "--patients-per-batch", "4", "--scans-per-patient", "2"];
        var (code, _, err) = await CliRunner.Run([.. common, "--augment", "default", "--out", P("def")]);
        code.Should().Be(ExitCodes.Ok, err);
        Augmentation("def").Should().Be("flip 0.5, brightness ±0.1, contrast ±0.1, noise σ 0.02");
        File.WriteAllText(P("shift.json"), """{ "Learner": { "Pretraining": { "Augmentation": { "MaxShift": 1, "NoiseStd": 0 } } } }""");
        (code, _, err) = await CliRunner.Run([.. common, "--config", P("shift.json"), "--out", P("cfg")]);
        code.Should().Be(ExitCodes.Ok, err);
        Augmentation("cfg").Should().Be("shift ±1, flip 0.5, brightness ±0.1, contrast ±0.1");
        (code, _, err) = await CliRunner.Run([.. common, "--config", P("shift.json"), "--augment", "none", "--out", P("none")]);
        code.Should().Be(ExitCodes.Ok, err);
        Augmentation("none").Should().BeNull("--augment none overrides the file");
    }

    [Fact]
    public async Task Test_time_flip_in_embed_and_experiment()
    {
        string manifest = await Synth();
        var (code, _, err) = await CliRunner.Run(["pretrain", "--manifest", manifest, "--out", P("run"), .. Tiny]);
        code.Should().Be(ExitCodes.Ok, err);
        (code, _, err) = await CliRunner.Run("embed", "--run", P("run"), "--manifest", manifest, "--out", P("plain.npy"));
        code.Should().Be(ExitCodes.Ok, err);
        (code, _, err) = await CliRunner.Run("embed", "--run", P("run"), "--manifest", manifest, "--tta", "flip", "--out", P("flip.npy"));
        code.Should().Be(ExitCodes.Ok, err);
        var plain = Learner.Data.Formats.Npy.Read(P("plain.npy")).ToArray();
        var flip = Learner.Data.Formats.Npy.Read(P("flip.npy")).ToArray();
        flip.Should().HaveCount(plain.Length).And.NotEqual(plain, "the mirror images' embeddings are averaged in");
        (code, _, err) = await CliRunner.Run("embed", "--run", P("run"), "--manifest", manifest, "--tta", "rotate", "--out", P("x.npy"));
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("rotate");

        string? Tta(string dir) => JsonDocument.Parse(File.ReadAllText(P(dir + "/results.json"))).RootElement.GetProperty("settings").EnumerateArray()
            .Where(e => e.GetProperty("name").GetString() == "test-time augmentation").Select(e => e.GetProperty("value").GetString()).SingleOrDefault();
        string[] common = ["experiment", "--manifest", manifest, "--threshold", "20", "--objectives", "mse", "--epochs", "1", "--steps", "2", "--dim", "8", "--test-fraction", "0.25", "--patients-per-batch", "4", "--scans-per-patient", "2", "--bootstrap", "10"];
        (code, _, err) = await CliRunner.Run([.. common, "--tta", "flip", "--out", P("flip")]);
        code.Should().Be(ExitCodes.Ok, err);
        Tta("flip").Should().Be("flip: each scan's embedding averaged with its mirror image's");
        (code, _, err) = await CliRunner.Run([.. common, "--out", P("none")]);
        code.Should().Be(ExitCodes.Ok, err);
        Tta("none").Should().BeNull("listed only when set, so folders written before it resume");
        JsonDocument.Parse(File.ReadAllText(P("flip/results.json"))).RootElement.GetProperty("rows")[0].GetRawText()
            .Should().NotBe(JsonDocument.Parse(File.ReadAllText(P("none/results.json"))).RootElement.GetProperty("rows")[0].GetRawText(), "the held-out metrics read the flipped embeddings");
    }
}
