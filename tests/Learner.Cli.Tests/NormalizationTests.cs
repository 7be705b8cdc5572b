using System.Text.Json;
using Learner.Data;
using Learner.Data.Formats;
using Learner.Downstream;
using Learner.Encoders;

namespace Learner.Cli.Tests;

/// <summary>pretrain records its input normalisation (run.json, checkpoints); embed applies what the checkpoint records;
/// run.json holds the batch source once and older files still read.</summary>
public sealed class NormalizationTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"learner-norm-{Guid.NewGuid():N}");

    public NormalizationTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private string P(string name) => Path.Combine(_dir, name);

    private static readonly string[] TinyTraining = ["--epochs", "1", "--steps", "2", "--dim", "8", "--width", "0.25", "--patients-per-batch", "4", "--scans-per-patient", "2", "--warmup", "1"];

    /// <summary>The embeddings of the run's encoder, computed here, of the manifest's scans as stored or normalised.</summary>
    private static int[] EmbedHere(string run, string manifest, ScanNormalization normalization)
    {
        var data = Manifest.Read(manifest);
        var settings = RunSettings.Read(Path.Combine(run, RunSettings.FileName));
        var encoder = EncoderFactory.Create(settings.EncoderOptions(data));
        encoder.Load(Path.Combine(run, "last.safetensors"), null, strict: true);
        return Embedder.EmbedAll(encoder, normalization.Apply(data)).Select(BitConverter.SingleToInt32Bits).ToArray();
    }

    private static int[] Written(string file) => Npy.Read(file).ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();

    [Fact]
    public async Task Pretrain_z_scores_by_default_records_it_and_embed_applies_it()
    {
        var (code, _, err) = await CliRunner.Run("synth", "--cohort", "lus", "--patients", "8", "--out", P("data"));
        code.Should().Be(ExitCodes.Ok, err);
        string manifest = P("data/manifest.csv");
        string output;
        (code, output, err) = await CliRunner.Run(["pretrain", "--manifest", manifest, "--out", P("run"), "--objective", "mse", "--json", .. TinyTraining]);
        code.Should().Be(ExitCodes.Ok, err);
        var summary = JsonDocument.Parse(output).RootElement;
        summary.GetProperty("normalization").GetString().Should().Be("zscore:2");
        summary.GetProperty("dataWaitShare").GetDouble().Should().BeInRange(0, 1);
        JsonDocument.Parse(File.ReadAllText(P("run/run.json"))).RootElement.GetProperty("Normalize").GetString().Should().Be("zscore");
        Learner.Training.Pretrainer.ReadCheckpointNormalization(P("run/last.safetensors")).Should().Be(ScanNormalization.Default);

        (code, _, err) = await CliRunner.Run("embed", "--run", P("run"), "--manifest", manifest, "--out", P("emb.npy"));
        code.Should().Be(ExitCodes.Ok, err);
        err.Should().NotContain("warning");
        Written(P("emb.npy")).Should().Equal(EmbedHere(P("run"), manifest, ScanNormalization.Default));
        Written(P("emb.npy")).Should().NotEqual(EmbedHere(P("run"), manifest, ScanNormalization.Unchanged), "the clips are embedded z-scored, as trained");

        // A checkpoint from before the record: embedded as stored, with a warning.
        var data = Manifest.Read(manifest);
        var encoder = EncoderFactory.Create(RunSettings.Read(P("run/run.json")).EncoderOptions(data));
        encoder.Load(P("run/last.safetensors"), null, strict: true);
        encoder.Save(P("run/last.safetensors"));
        (code, _, err) = await CliRunner.Run("embed", "--run", P("run"), "--manifest", manifest, "--out", P("old.npy"));
        code.Should().Be(ExitCodes.Ok, err);
        err.Should().Contain("does not record its input normalisation");
        Written(P("old.npy")).Should().Equal(EmbedHere(P("run"), manifest, ScanNormalization.Unchanged));
    }

    [Fact]
    public void A_run_json_of_an_earlier_version_folds_its_batch_fields_into_Source_and_means_no_normalisation()
    {
        File.WriteAllText(P("run.json"), """
            { "Manifest": "m.csv", "Objective": "mse", "PatientsPerBatch": 3, "ScansPerPatient": 2, "BatchSource": "pairs",
              "PairsPerBatch": 7, "Curriculum": "cosine", "Source": { "NegativeGap": 0.4, "PatientsPerBatch": 99 } }
            """);
        var settings = RunSettings.Read(P("run.json"));

        settings.Batches.Should().Be(new Learner.Training.BatchSourceOptions
        {
            Kind = Learner.Training.BatchSourceKind.InterPatientPairs, PatientsPerBatch = 3, ScansPerPatient = 2, PairsPerBatch = 7,
            CurriculumShape = Learner.Training.CurriculumShape.Cosine, NegativeGap = 0.4,
        }, "the fields beside Source won in earlier versions");
        settings.InputNormalization.Should().Be(ScanNormalization.Unchanged, "runs before the record trained on payloads as stored");
        settings.Write(P("again.json"));
        var written = JsonDocument.Parse(File.ReadAllText(P("again.json"))).RootElement;
        written.TryGetProperty("PatientsPerBatch", out _).Should().BeFalse();
        written.TryGetProperty("Curriculum", out _).Should().BeFalse();
        written.GetProperty("Source").GetProperty("PairsPerBatch").GetInt32().Should().Be(7);
    }
}
