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

        // No default threshold: none given is a usage error; a --config file may give it (and the bootstrap).
        (code, _, err) = await Run("evaluate", "--embeddings", P("run/emb.npy"), "--manifest", manifest);
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("--threshold is required").And.Contain("no default");
        File.WriteAllText(P("eval.json"), """{ "Learner": { "ChangeThresholds": { "Improvement": 20 }, "BootstrapResamples": 20 } }""");
        (code, output, err) = await Run("evaluate", "--embeddings", P("run/emb.npy"), "--manifest", manifest, "--config", P("eval.json"), "--folds", "3", "--json");
        code.Should().Be(ExitCodes.Ok, err);
        JsonDocument.Parse(output).RootElement.GetProperty("macroF1").GetProperty("estimate").ValueKind.Should().Be(JsonValueKind.Number);
    }

    [Fact]
    public async Task Usage_and_parse_errors_speak_of_learner_and_its_options_not_of_dotnet()
    {
        var (code, output, _) = await Run("--help");
        code.Should().Be(ExitCodes.Ok);
        output.Should().Contain("Usage:").And.Contain("  learner [command] [options]").And.NotContain("Learner.Cli");

        string err;
        (code, _, err) = await Run("frobnicate");
        code.Should().Be(ExitCodes.Usage);
        err.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.StartsWith("learner:", StringComparison.Ordinal)).Should().Be(1, "one message for an unknown command");
        err.Should().Contain("'frobnicate' is not a command").And.Contain("synth, pretrain");

        (code, _, err) = await Run("pretran", "--out", P("x"));
        err.Should().Contain("did you mean 'pretrain'?");

        (code, _, err) = await Run("pretrain", "--manifst", "m.csv", "--out", P("x"));
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("'--manifst' is not an option of 'learner pretrain'; did you mean '--manifest'?").And.NotContain("'m.csv'");

        (code, _, err) = await Run("pretrain", "--epochs", "two", "--out", P("x"));
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("--epochs: 'two' is not a whole number.").And.NotContain("System.");

        (code, _, err) = await Run("synth", "--patients", "3", "--out", P("d3"));
        code.Should().Be(ExitCodes.Ok, err);
        (code, _, err) = await Run("pretrain", "--manifest", P("d3/manifest.csv"), "--dim", "0", "--out", P("x"));
        code.Should().Be(ExitCodes.Usage);
        err.Should().Contain("--dim must be ≥ 1, got 0.").And.NotContain("(Parameter").And.NotContain("Actual value");
        (code, _, err) = await Run("pretrain", "--manifest", P("d3/manifest.csv"), "--out", P("x"));
        err.Should().Contain("--patients-per-batch 8: the manifest has only 3 patients").And.NotContain("(Parameter").And.NotContain("Actual value");

        string output1;
        (code, output1, err) = await Run("synth", "--patients", "1", "--visits", "1", "--out", P("d1"));
        code.Should().Be(ExitCodes.Ok, err);
        output1.Should().Contain("4 scans of 1 patient and").And.NotContain("1 patients");
    }

    [Fact]
    public void Nearest_suggests_only_close_names()
    {
        CliMessages.Nearest("--manifst", ["--manifest", "--out"]).Should().Be("--manifest");
        CliMessages.Nearest("--ep", ["--epochs", "--out"]).Should().BeNull("two letters are no evidence");
        CliMessages.Nearest("--zzzzzz", ["--epochs", "--out"]).Should().BeNull();
        CliMessages.Count(1, "step").Should().Be("1 step");
        CliMessages.Count(2, "patient").Should().Be("2 patients");
        CliMessages.Clean(new ArgumentOutOfRangeException("EmbeddingDimension", 100, "EmbeddingDimension must be ≤ 64."))
            .Should().Be("EmbeddingDimension must be ≤ 64.");
    }

    [Fact]
    public async Task Pretrain_and_experiment_offer_the_same_options_with_the_library_defaults()
    {
        var library = new Learner.Experiments.ExperimentOptions();
        library.Pretraining.Should().Be(new Learner.Training.PretrainingOptions(), "ExperimentOptions states no defaults of its own");
        var (_, pretrain, _) = await Run("pretrain", "--help");
        var (_, experiment, _) = await Run("experiment", "--help");
        string[] shared = ["--width", "--lr", "--warmup", "--patients-per-batch", "--scans-per-patient", "--dim", "--epochs", "--steps"];
        foreach (var option in shared.Concat(["--classifier", "--bootstrap"])) experiment.Should().Contain(option);
        var expected = new Dictionary<string, string>
        {
            ["--dim"] = library.Encoder.EmbeddingDimension.ToString(CultureInfo.InvariantCulture),
            ["--epochs"] = library.Pretraining.Epochs.ToString(CultureInfo.InvariantCulture),
            ["--steps"] = library.Pretraining.StepsPerEpoch.ToString(CultureInfo.InvariantCulture),
            ["--warmup"] = library.Pretraining.WarmupSteps.ToString(CultureInfo.InvariantCulture),
            ["--patients-per-batch"] = library.BatchSource.PatientsPerBatch.ToString(CultureInfo.InvariantCulture),
            ["--scans-per-patient"] = library.BatchSource.ScansPerPatient.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (option, value) in expected)
        {
            DefaultOf(pretrain, option).Should().Be(value, $"pretrain {option}");
            DefaultOf(experiment, option).Should().Be(value, $"experiment {option}");
        }
        DefaultOf(experiment, "--objectives").Should().Be(string.Join("; ", library.Objectives), "experiment compares the library's default objectives");
        DefaultOf(pretrain, "--objective").Should().Be(Learner.Objectives.ObjectiveRecipes.PaperRecipe);
        DefaultOf(pretrain, "--checkpoint-every").Should().Be(library.Pretraining.CheckpointEverySteps.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The "[default: x]" that help shows for an option.</summary>
    private static string DefaultOf(string help, string option)
    {
        var line = help.Split('\n').First(l => l.TrimStart().StartsWith(option + " ", StringComparison.Ordinal));
        int at = help.IndexOf(line, StringComparison.Ordinal);
        int d = help.IndexOf("[default: ", at, StringComparison.Ordinal);
        return help[(d + 10)..help.IndexOf(']', d)];
    }

    [Fact]
    public async Task A_semicolon_manifest_gets_a_delimiter_hint_and_reads_with_delimiter_and_dates_order_visits()
    {
        var (code, _, err) = await Run("synth", "--patients", "4", "--out", P("data"));
        code.Should().Be(ExitCodes.Ok, err);
        var lines = File.ReadAllLines(P("data/manifest.csv"));
        var header = lines[0].Split(',');
        int time = Array.IndexOf(header, "time");
        // Semicolons, and visit times as dates.
        var semi = lines.Select((l, i) =>
        {
            var cells = Commands.SplitCsv(l);
            if (i > 0) cells[time] = new DateTime(2024, 3, 1).AddDays(double.Parse(cells[time], CultureInfo.InvariantCulture)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            return string.Join(';', cells);
        });
        File.WriteAllLines(P("data/semi.csv"), semi);

        (code, _, err) = await Run("check", "--manifest", P("data/semi.csv"));
        code.Should().Be(ExitCodes.Failed);
        err.Should().Contain("looks semicolon-delimited").And.Contain("--delimiter ';'");

        string output;
        (code, output, err) = await Run("check", "--manifest", P("data/semi.csv"), "--delimiter", ";", "--json");
        code.Should().Be(ExitCodes.Ok, err);
        JsonDocument.Parse(output).RootElement.GetProperty("scans").GetInt32().Should().Be(lines.Length - 1);
        var dated = Learner.Data.Manifest.Read(P("data/semi.csv"), new Learner.Data.ManifestOptions { Delimiter = ";" });
        var plain = Learner.Data.Manifest.Read(P("data/manifest.csv"));
        (dated.Scans[4].Time - dated.Scans[0].Time).Should().Be(plain.Scans[4].Time - plain.Scans[0].Time, "dates are read as days");
    }

    [Fact]
    public async Task Resume_says_where_it_starts_counts_the_steps_it_ran_and_knows_a_finished_run()
    {
        var (code, _, err) = await Run("synth", "--patients", "10", "--out", P("data"));
        code.Should().Be(ExitCodes.Ok, err);
        string[] six = ["--epochs", "1", "--steps", "6", "--dim", "8", "--width", "0.25", "--patients-per-batch", "4", "--scans-per-patient", "2", "--warmup", "1", "--objective", "mse", "--checkpoint-every", "2"];
        using (var ctrlC = new CancellationTokenSource())
        {
            var output = new CancelAt("step 4/6", ctrlC);
            int cut = await LearnerCli.RunAsync(["pretrain", "--manifest", P("data/manifest.csv"), "--out", P("run"), "--scalars", P("run/scalars.csv"), .. six], output, new StringWriter(), false, ctrlC.Token);
            cut.Should().Be(ExitCodes.Cancelled);
        }
        string text;
        (code, text, err) = await Run("pretrain", "--out", P("run"), "--resume", "--scalars", P("run/scalars.csv"));
        code.Should().Be(ExitCodes.Ok, err);
        var lossSteps = File.ReadAllLines(P("run/scalars.csv")).Skip(1).Select(l => l.Split(',')).Where(c => c[3] == "loss").Select(c => c[1]).ToList();
        lossSteps.Should().Equal(["1", "2", "3", "4", "5", "6"], "the resumed run appends the steps after its checkpoint");
        text.Should().Contain("Resuming from step 4 of 6").And.Contain(": 2 steps in").And.Contain("(steps 5–6 of 6)");

        (code, text, err) = await Run("pretrain", "--out", P("run"), "--resume");
        code.Should().Be(ExitCodes.Ok, err);
        text.Should().Contain("already complete").And.NotContain("steps in");
        text.Split("already complete").Length.Should().Be(2, "a complete run says so once: " + text);
        double lastLogged = JsonDocument.Parse(File.ReadAllLines(P("run/log.jsonl"))[^1]).RootElement.GetProperty("loss").GetDouble();
        text.Should().Contain(lastLogged.ToString("F4", CultureInfo.InvariantCulture), "the final loss comes from the log");
        (code, text, _) = await Run("pretrain", "--out", P("run"), "--resume", "--json");
        var done = JsonDocument.Parse(text).RootElement;
        done.GetProperty("alreadyComplete").GetBoolean().Should().BeTrue();
        done.GetProperty("stepsRun").GetInt64().Should().Be(0);
        done.GetProperty("finalLoss").GetDouble().Should().Be(lastLogged, "a run with nothing left to do reports its last logged loss");
        // A non-finite last loss is logged as null: the complete run still resumes, with no final loss to report.
        var logLines = File.ReadAllLines(P("run/log.jsonl"));
        var lastLine = System.Text.Json.Nodes.JsonNode.Parse(logLines[^1])!.AsObject();
        lastLine["loss"] = null;
        logLines[^1] = lastLine.ToJsonString();
        File.WriteAllLines(P("run/log.jsonl"), logLines);
        (code, text, err) = await Run("pretrain", "--out", P("run"), "--resume");
        code.Should().Be(ExitCodes.Ok, err);
        text.Should().Contain("already complete").And.NotContain("final loss");

        // log.jsonl lines carry the UTC time; run.json records the encoder that was built, which embed reads back.
        foreach (var line in File.ReadAllLines(P("run/log.jsonl")))
            DateTimeOffset.Parse(JsonDocument.Parse(line).RootElement.GetProperty("time").GetString()!, CultureInfo.InvariantCulture).Offset.Should().Be(TimeSpan.Zero);
        var run = JsonDocument.Parse(File.ReadAllText(P("run/run.json"))).RootElement;
        run.GetProperty("Encoder").GetString().Should().Be("tsm-resnet");
        run.GetProperty("EncoderSettings").GetProperty("ClipLength").GetInt32().Should().Be(8);

        (code, _, err) = await Run("synth", "--cohort", "mri", "--patients", "2", "--out", P("mri"));
        code.Should().Be(ExitCodes.Ok, err);
        (code, _, err) = await Run("embed", "--run", P("run"), "--manifest", P("mri/manifest.csv"), "--out", P("mri.npy"));
        code.Should().Be(ExitCodes.Failed);
        err.Should().Contain("which the run's encoder (tsm-resnet, clips of 8 frames) does not take");
    }

    /// <summary>Cancels (as Ctrl-C does) when a line containing <paramref name="trigger"/> is written.</summary>
    private sealed class CancelAt(string trigger, CancellationTokenSource source) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value?.Contains(trigger, StringComparison.Ordinal) == true) source.Cancel();
        }
    }
}
