using Learner.Data;
using Learner.Downstream;
using Microsoft.Extensions.Logging;
using Learner.Nn;
using Learner.Nn.Serialization;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Sampling;
using Learner.Training;
using static Learner.Tests.Training.TrainingFixtures;

namespace Learner.Tests.Training;

/// <summary>The pretrainer's per-scan input normalisation: applied to raw datasets, respected when the caller normalised,
/// recorded in the checkpoints and checked on resume.</summary>
public class InputNormalizationTests
{
    /// <summary>The fixture cohort with its 6 features as a 2 × 3 "clip" (rank 2) with a per-scan gain and offset.</summary>
    private static LongitudinalDataset Clips()
    {
        var data = Cohort();
        return new LongitudinalDataset(data.Scans.Select(s =>
        {
            var x = s.LoadPayload().ToArray().Select(v => 3f * v + 10f + s.Index).ToArray();
            return s.WithPayload(new TensorPayload(new Tensor(x, 2, 3)));
        }), true);
    }

    private static IObjective Weighted() => new WeightedContrastiveLoss(new WeightedContrastiveOptions { GapScale = 100, PositiveThreshold = 40 });

    private static (Pretrainer Trainer, PretrainingResult Result, float[] Weights) Run(LongitudinalDataset data, PretrainingOptions options)
    {
        var encoder = Encoder();
        var trainer = new Pretrainer(encoder, data, new PatientBatchSampler(data, 4, 2), Weighted(), options);
        var result = trainer.Run();
        return (trainer, result, Weights(encoder));
    }

    [Fact]
    public void A_raw_dataset_is_z_scored_by_default_exactly_as_a_dataset_the_caller_normalised()
    {
        var raw = Clips();
        var byDefault = Run(raw, Options());
        var byCaller = Run(ScanNormalization.Default.Apply(raw), Options() with { InputNormalization = ScanNormalization.Unchanged });
        var unchanged = Run(raw, Options() with { InputNormalization = ScanNormalization.Unchanged });

        byDefault.Trainer.InputNormalization.Should().Be(ScanNormalization.Default);
        byCaller.Trainer.InputNormalization.Should().Be(ScanNormalization.Default, "the dataset's own record wins over the option");
        unchanged.Trainer.InputNormalization.Should().Be(ScanNormalization.Unchanged);
        Bits(byDefault.Weights).Should().Equal(Bits(byCaller.Weights));
        Bits(unchanged.Weights).Should().NotEqual(Bits(byDefault.Weights), "the clips carry a gain and offset that z-scoring removes");
    }

    [Fact]
    public void Checkpoints_record_the_normalisation_and_resume_refuses_another()
    {
        string dir = TempDir();
        try
        {
            var raw = Clips();
            Run(raw, Options(dir: dir) with { InputNormalization = new ScanNormalization(IntensityNormalization.MinMax) });
            string last = Path.Combine(dir, "last.safetensors");

            Pretrainer.ReadCheckpointNormalization(last).Should().Be(new ScanNormalization(IntensityNormalization.MinMax));
            Safetensors.ReadHeader(last).Metadata[ScanNormalization.MetadataKey].Should().Be("minmax:2");
            var other = new Pretrainer(Encoder(), raw, new PatientBatchSampler(raw, 4, 2), Weighted(), Options());
            FluentActions.Invoking(() => other.Resume(last)).Should().Throw<InvalidDataException>().WithMessage("*normalised minmax:2*this run normalises zscore:2*");
        }
        finally { Cleanup(dir); }
    }

    [Fact]
    public void A_checkpoint_without_the_record_reads_as_none_recorded()
    {
        string dir = TempDir();
        try
        {
            Directory.CreateDirectory(dir);
            string file = Path.Combine(dir, "old.safetensors");
            var encoder = Encoder();
            encoder.Save(file, null, new Dictionary<string, string> { ["pretrain.step"] = "3" });
            Pretrainer.ReadCheckpointNormalization(file).Should().BeNull();
        }
        finally { Cleanup(dir); }
    }

    [Fact]
    public void A_checkpoint_without_the_record_resumes_with_a_warning()
    {
        string dir = TempDir();
        try
        {
            var raw = Clips();
            Run(raw, Options(dir: dir));
            string last = Path.Combine(dir, "last.safetensors");
            RemoveMetadata(last, ScanNormalization.MetadataKey);
            Pretrainer.ReadCheckpointNormalization(last).Should().BeNull();

            var log = new WarningLog();
            var resumed = new Pretrainer(Encoder(), raw, new PatientBatchSampler(raw, 4, 2), Weighted(), Options(), log);
            resumed.Resume(last).Should().NotBeNull("an unrecorded normalisation is unknown, not 'none': the run continues");
            log.Warnings.Should().ContainSingle(w => w.Contains("predates the input-normalisation record") && w.Contains("zscore:2"));
        }
        finally { Cleanup(dir); }
    }

    [Fact]
    public void EmbedAll_with_a_normalisation_embeds_what_the_encoder_was_trained_on()
    {
        var raw = Clips();
        var encoder = Encoder();
        var given = Embedder.EmbedAll(encoder, raw, ScanNormalization.Default);

        Bits(given).Should().Equal(Bits(Embedder.EmbedAll(encoder, ScanNormalization.Default.Apply(raw))));
        Bits(given).Should().NotEqual(Bits(Embedder.EmbedAll(encoder, raw)), "the raw clips carry a gain and offset");
        Bits(Embedder.EmbedAll(encoder, ScanNormalization.Default.Apply(raw), ScanNormalization.Default)).Should().Equal(Bits(given), "a set normalised the same way is embedded as it is");
        FluentActions.Invoking(() => Embedder.EmbedAll(encoder, ScanNormalization.Default.Apply(raw), new ScanNormalization(IntensityNormalization.MinMax)))
            .Should().Throw<ArgumentException>().WithMessage("*already normalised (zscore:2)*");
    }

    /// <summary>Rewrites a safetensors file without one metadata entry (the header padded with spaces to its length).</summary>
    private static void RemoveMetadata(string file, string key)
    {
        byte[] bytes = File.ReadAllBytes(file);
        int length = checked((int)BitConverter.ToUInt64(bytes, 0));
        var header = System.Text.Json.Nodes.JsonNode.Parse(System.Text.Encoding.UTF8.GetString(bytes, 8, length))!.AsObject();
        header["__metadata__"]!.AsObject().Remove(key).Should().BeTrue();
        byte[] json = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        json.Length.Should().BeLessThan(length);
        for (int i = 0; i < length; i++) bytes[8 + i] = i < json.Length ? json[i] : (byte)' ';
        File.WriteAllBytes(file, bytes);
    }

    private sealed class WarningLog : ILogger<Pretrainer>
    {
        public List<string> Warnings { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning) Warnings.Add(formatter(state, exception));
        }
    }

    [Fact]
    public void A_validation_set_normalised_another_way_is_refused()
    {
        var raw = Clips();
        var train = raw.SubsetByPatients(raw.Patients.Take(8).Select(p => p.Id));
        var held = raw.SubsetByPatients(raw.Patients.Skip(8).Select(p => p.Id));
        var trainer = () => new Pretrainer(Encoder(), train, new PatientBatchSampler(train, 4, 2), Weighted(), Options())
        {
            ValidationSet = Preprocess.NormalizeIntensities(held, IntensityNormalization.MinMax, 2),
        };
        trainer.Should().Throw<ArgumentException>().WithMessage("*validation set is normalised minmax:2*training set zscore:2*");
    }
}
