using System.Text.Json;
using Learner.Cli;
using Learner.Nn;
using Learner.Nn.Serialization;

namespace Learner.Cli.Tests;

/// <summary>pretrain and embed under divergence, kills and contradicting options.</summary>
public sealed class PretrainReliabilityTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"learner-cli-rel-{Guid.NewGuid():N}");

    public PretrainReliabilityTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private string P(string name) => Path.Combine(_dir, name);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args) => await Run(default, new StringWriter(), args);

    private static async Task<(int Code, string Out, string Err)> Run(CancellationToken ct, StringWriter output, params string[] args)
    {
        var error = new StringWriter();
        int code = await LearnerCli.RunAsync(args, output, error, interactive: false, ct);
        return (code, output.ToString(), error.ToString());
    }

    private static readonly string[] Tiny = ["--epochs", "1", "--steps", "3", "--dim", "8", "--width", "0.25", "--patients-per-batch", "4", "--scans-per-patient", "2", "--warmup", "1", "--objective", "mse"];

    private async Task<string> Synth()
    {
        var (code, _, err) = await Run("synth", "--cohort", "lus", "--patients", "10", "--out", P("data"));
        code.Should().Be(ExitCodes.Ok, err);
        return P("data/manifest.csv");
    }

    private static List<string> NonFinite(string dir) =>
        Directory.GetFiles(dir, "*.safetensors").SelectMany(f => Safetensors.Load(f).Tensors.Where(t => t.Value.IndexOfNonFinite() >= 0).Select(t => $"{Path.GetFileName(f)}:{t.Key}")).ToList();

    [Fact]
    public async Task A_diverging_pretrain_exits_1_naming_step_and_tensor_and_leaves_checkpoints_embed_can_use()
    {
        string manifest = await Synth();
        string[] setup = ["pretrain", "--manifest", manifest, "--encoder", "mlp", "--dim", "16", "--epochs", "1", "--warmup", "0", "--objective", "contrastive", "--patients-per-batch", "4", "--scans-per-patient", "4"];

        var (code, _, err) = await Run([.. setup, "--steps", "1", "--lr", "1e39", "--out", P("inf")]);
        code.Should().Be(ExitCodes.Usage, "1e39 is infinite in float32");
        err.Should().Contain("--lr").And.Contain("float32");

        (code, _, err) = await Run([.. setup, "--steps", "5", "--lr", "1e6", "--checkpoint-every", "1", "--out", P("big")]);
        code.Should().Be(ExitCodes.Failed, err);
        err.Should().Contain("Step ").And.Contain("diverged").And.Contain("tensor '").And.Contain("restored");
        NonFinite(P("big")).Should().BeEmpty("no checkpoint with a non-finite tensor is written");

        (code, _, err) = await Run("embed", "--run", P("big"), "--manifest", manifest, "--out", P("big/emb.npy"));
        code.Should().Be(ExitCodes.Ok, err);
        Learner.Data.Formats.Npy.Read(P("big/emb.npy")).ToArray().Should().OnlyContain(v => float.IsFinite(v));
    }

    [Fact]
    public async Task Embed_refuses_a_checkpoint_with_a_non_finite_tensor_naming_it()
    {
        string manifest = await Synth();
        (await Run(["pretrain", "--manifest", manifest, "--out", P("run"), .. Tiny])).Code.Should().Be(ExitCodes.Ok);
        string last = P("run/last.safetensors");
        var file = Safetensors.Load(last);
        var tensors = file.Entries.Select(e => new KeyValuePair<string, Tensor>(e.Name, file.Tensors[e.Name])).ToList();
        string poisoned = tensors.First(t => !t.Key.StartsWith("optim.", StringComparison.Ordinal)).Key;
        tensors.First(t => t.Key == poisoned).Value.Data[0] = float.NaN;
        Safetensors.Save(last, tensors, file.Metadata);

        var (code, _, err) = await Run("embed", "--run", P("run"), "--manifest", manifest, "--out", P("run/emb.npy"));
        code.Should().Be(ExitCodes.Failed);
        err.Should().Contain(poisoned).And.Contain("non-finite").And.Contain("last.safetensors");
        File.Exists(P("run/emb.npy")).Should().BeFalse();
    }

    [Fact]
    public async Task Pretrain_into_an_existing_run_is_refused_without_force_or_resume()
    {
        string manifest = await Synth();
        (await Run(["pretrain", "--manifest", manifest, "--out", P("run"), .. Tiny])).Code.Should().Be(ExitCodes.Ok);
        byte[] before = File.ReadAllBytes(P("run/last.safetensors"));

        var (code, _, err) = await Run(["pretrain", "--manifest", manifest, "--out", P("run"), .. Tiny, "--seed", "2"]);
        code.Should().Be(ExitCodes.Failed);
        err.Should().Contain(P("run")).And.Contain("--resume").And.Contain("--force");
        File.ReadAllBytes(P("run/last.safetensors")).Should().Equal(before, "the run is untouched");

        (code, _, err) = await Run(["pretrain", "--manifest", manifest, "--out", P("run"), .. Tiny, "--seed", "2", "--force", "--resume"]);
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("--force").And.Contain("--resume");

        File.WriteAllText(P("run/notes.txt"), "mine");
        (code, _, err) = await Run(["pretrain", "--manifest", manifest, "--out", P("run"), .. Tiny, "--seed", "2", "--force"]);
        code.Should().Be(ExitCodes.Ok, err);
        File.ReadAllBytes(P("run/last.safetensors")).Should().NotEqual(before);
        File.ReadAllLines(P("run/log.jsonl")).Should().HaveCount(3, "the old log was replaced, not appended to");
        Directory.GetFiles(P("run"), "head-*.safetensors").Should().ContainSingle("the old run's head files are gone");
        File.Exists(P("run/notes.txt")).Should().BeTrue("--force deletes only the run's own files");
        JsonDocument.Parse(File.ReadAllText(P("run/run.json"))).RootElement.GetProperty("Seed").GetInt32().Should().Be(2);
    }

    [Fact]
    public async Task Resume_refuses_options_that_contradict_run_json_and_applies_checkpoint_every()
    {
        string manifest = await Synth();
        using var ctrlC = new CancellationTokenSource();
        var (code, _, err) = await Run(ctrlC.Token, new CancelOnWriter("step 1/3", ctrlC), ["pretrain", "--manifest", manifest, "--out", P("run"), .. Tiny]);
        code.Should().Be(ExitCodes.Cancelled, err);

        (code, _, err) = await Run("pretrain", "--out", P("run"), "--resume", "--epochs", "3", "--lr", "0.5", "--dim", "8");
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("--epochs 3 (run.json: Epochs = 1)").And.Contain("--lr 0.5").And.Contain("--force").And.NotContain("--dim 8");

        (code, _, err) = await Run("pretrain", "--out", P("run"), "--resume", "--checkpoint-every", "1", "--dim", "8");
        code.Should().Be(ExitCodes.Ok, err);
        JsonDocument.Parse(File.ReadAllText(P("run/run.json"))).RootElement.GetProperty("CheckpointEvery").GetInt32().Should().Be(1);
    }

    [Fact]
    public async Task Resume_after_a_kill_repairs_the_log_and_removes_stale_temporary_files()
    {
        string manifest = await Synth();
        string[] six = ["--epochs", "1", "--steps", "6", "--dim", "8", "--width", "0.25", "--patients-per-batch", "4", "--scans-per-patient", "2", "--warmup", "1", "--objective", "mse", "--checkpoint-every", "2"];
        (await Run(["pretrain", "--manifest", manifest, "--out", P("full"), .. six])).Code.Should().Be(ExitCodes.Ok);
        string[] fullLog = File.ReadAllLines(P("full/log.jsonl"));
        fullLog.Should().HaveCount(6);

        // A killed run: checkpoint at step 4, the line of step 5 written, step 6's line torn, a checkpoint write cut short.
        using var ctrlC = new CancellationTokenSource();
        (await Run(ctrlC.Token, new CancelOnWriter("step 4/6", ctrlC), ["pretrain", "--manifest", manifest, "--out", P("cut"), .. six])).Code.Should().Be(ExitCodes.Cancelled);
        File.AppendAllText(P("cut/log.jsonl"), fullLog[4] + "\n" + fullLog[5][..25]);
        string stale = P($"cut/.last.safetensors.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(stale, new byte[4096]);

        var (code, _, err) = await Run("pretrain", "--out", P("cut"), "--resume");
        code.Should().Be(ExitCodes.Ok, err);
        err.Should().Contain("dropped 1 torn line(s) and 1 line(s) for steps after the checkpoint's step 4");
        static string Untimed(string line) => System.Text.RegularExpressions.Regex.Replace(line, "\"time\":\"[^\"]*\",", "");
        File.ReadAllLines(P("cut/log.jsonl")).Select(Untimed).Should().Equal(fullLog.Select(Untimed), "the resumed log is line for line the uninterrupted run's, but for the times");
        File.Exists(stale).Should().BeFalse();
        File.ReadAllBytes(P("cut/last.safetensors")).Should().Equal(File.ReadAllBytes(P("full/last.safetensors")));
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
}
