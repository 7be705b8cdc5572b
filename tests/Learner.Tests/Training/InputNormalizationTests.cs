using Learner.Data;
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
