using System.Text.Json;
using Learner.Cli;

namespace Learner.Cli.Tests;

/// <summary><c>pretrain --encoder</c> chosen by hand: cnn2d on clips reads their frames as input channels (recorded in
/// run.json and used by embed), and an encoder that cannot take the payloads is refused before anything is written.</summary>
public sealed class EncoderChoiceTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"learner-enc-{Guid.NewGuid():N}");

    public EncoderChoiceTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private string P(string name) => Path.Combine(_dir, name);

    private static readonly string[] Tiny = ["--objective", "mse", "--epochs", "1", "--steps", "2", "--dim", "8", "--width", "0.25", "--patients-per-batch", "4", "--scans-per-patient", "2", "--warmup", "1"];

    private async Task<string> Synth(string cohort)
    {
        var (code, _, err) = await CliRunner.Run("synth", "--cohort", cohort, "--patients", "6", "--out", P(cohort));
        code.Should().Be(ExitCodes.Ok, err);
        return P(cohort + "/manifest.csv");
    }

    [Fact]
    public async Task Cnn2d_on_clips_reads_the_frames_as_channels_and_embed_uses_the_recorded_encoder()
    {
        string lus = await Synth("lus");   // clips [8, 32, 32]
        var (code, _, err) = await CliRunner.Run(["pretrain", "--manifest", lus, "--out", P("run"), "--encoder", "cnn2d", .. Tiny]);
        code.Should().Be(ExitCodes.Ok, err);
        var run = JsonDocument.Parse(File.ReadAllText(P("run/run.json"))).RootElement;
        run.GetProperty("Encoder").GetString().Should().Be("cnn2d");
        run.GetProperty("EncoderSettings").GetProperty("InputChannels").GetInt32().Should().Be(8, "the clip's 8 frames are the channels");

        (code, _, err) = await CliRunner.Run("embed", "--run", P("run"), "--manifest", lus, "--out", P("e.npy"));
        code.Should().Be(ExitCodes.Ok, err);
        File.Exists(P("e.npy")).Should().BeTrue();

        string mri = await Synth("mri");   // volumes [D, H, W]: three axes, but not 8 leading channels
        (code, _, err) = await CliRunner.Run("embed", "--run", P("run"), "--manifest", mri, "--out", P("m.npy"));
        code.Should().Be(ExitCodes.Failed);
        err.Should().Contain("which the run's encoder (cnn2d, 8 input channels) does not take");
    }

    [Fact]
    public async Task An_encoder_that_cannot_take_the_payloads_is_refused_naming_the_shape()
    {
        string lus = await Synth("lus");
        var (code, _, err) = await CliRunner.Run(["pretrain", "--manifest", lus, "--out", P("vol"), "--encoder", "volume", .. Tiny]);
        code.Should().Be(ExitCodes.Ok, err);   // [8, 32, 32] is a volume [D, H, W]

        // Feature vectors [4]: rank 1, which only mlp takes.
        var rows = new List<string> { "scan_id,patient_id,time,score,path" };
        for (int p = 0; p < 4; p++)
            for (int v = 0; v < 2; v++)
            {
                Learner.Data.Formats.Npy.Write(P($"f{p}{v}.npy"), Learner.Nn.Tensor.FromSpan(new float[] { p, v, p * v, 1 }, 4));
                rows.Add($"s{p}{v},p{p},{v},{10 * p + v},f{p}{v}.npy");
            }
        File.WriteAllLines(P("features.csv"), rows);
        string features = P("features.csv");
        (code, _, err) = await CliRunner.Run(["pretrain", "--manifest", features, "--out", P("tsm"), "--encoder", "tsm-resnet", .. Tiny]);
        code.Should().NotBe(ExitCodes.Ok);
        err.Should().Contain("--encoder tsm-resnet").And.Contain("does not take").And.Contain("clips [T, H, W]");
        Directory.Exists(P("tsm")).Should().BeFalse("nothing is written when the encoder cannot take the scans");
    }
}
