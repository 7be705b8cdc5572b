using Learner.Data;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Sampling;
using Learner.Training;
using static Learner.Tests.Training.TrainingFixtures;

namespace Learner.Tests.Training;

/// <summary>The declarative batch-source choice, and pretraining on datasets that lack scores.</summary>
public class BatchSourceOptionsTests
{
    public static TheoryData<string, BatchSourceOptions, string> BadOptions() => new()
    {
        { "P", new BatchSourceOptions { PatientsPerBatch = 0 }, "*PatientsPerBatch*≥ 1*got 0*" },
        { "K", new BatchSourceOptions { ScansPerPatient = -2 }, "*ScansPerPatient*got -2*" },
        { "pairs", new BatchSourceOptions { PairsPerBatch = 0 }, "*PairsPerBatch*got 0*" },
        { "triplets", new BatchSourceOptions { TripletsPerBatch = 0 }, "*TripletsPerBatch*got 0*" },
        { "fraction", new BatchSourceOptions { PositiveFraction = 1.5 }, "*PositiveFraction*[0, 1]*got 1.5*" },
        { "threshold", new BatchSourceOptions { PositiveThreshold = double.NaN }, "*PositiveThreshold*got NaN*" },
        { "gap", new BatchSourceOptions { NegativeGap = -1 }, "*NegativeGap*> 0*got -1*" },
        { "gap within threshold", new BatchSourceOptions { PositiveRule = PositiveRule.ScoreWithin, PositiveThreshold = 0.5, NegativeGap = 0.4 }, "*NegativeGap*exceed PositiveThreshold = 0.5*got 0.4*" },
        { "start below end", new BatchSourceOptions { CurriculumStartGap = 0.1 }, "*CurriculumStartGap*≥ NegativeGap = 0.25*got 0.1*" },
        { "curriculum epochs", new BatchSourceOptions { CurriculumEpochs = 0 }, "*CurriculumEpochs*got 0*" },
        { "steps", new BatchSourceOptions { CurriculumShape = CurriculumShape.Step, CurriculumSteps = 0 }, "*CurriculumSteps*got 0*" },
        { "kind", new BatchSourceOptions { Kind = (BatchSourceKind)9 }, "*Kind*got 9*" },
        { "shape", new BatchSourceOptions { CurriculumShape = (CurriculumShape)7 }, "*CurriculumShape*got 7*" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Validate_names_the_option_and_its_value(string what, BatchSourceOptions options, string message)
    {
        var e = FluentActions.Invoking(options.Validate).Should().Throw<ArgumentException>(what).WithMessage(message).Which;
        e.ParamName.Should().NotBeNullOrEmpty().And.Match(n => message.Contains(n!, StringComparison.Ordinal));
        FluentActions.Invoking(() => options.Create(Cohort(), 100, 3)).Should().Throw<ArgumentException>().WithMessage(message);
    }

    [Fact]
    public void The_defaults_are_valid_and_match_the_documented_values()
    {
        var o = new BatchSourceOptions();
        o.Validate();
        (o.Kind, o.PatientsPerBatch, o.ScansPerPatient, o.PairsPerBatch, o.TripletsPerBatch).Should().Be((BatchSourceKind.PatientBatches, 8, 4, 32, 16));
        (o.PositiveFraction, o.PositiveRule, o.NegativeGap, o.CurriculumShape, o.CurriculumStartGap, o.CurriculumEpochs)
            .Should().Be((0.5, PositiveRule.SameCoarseLabel, 0.25, CurriculumShape.Linear, 1.0, (int?)null));
    }

    [Theory]
    [InlineData(BatchSourceKind.PatientBatches, BatchFields.None)]
    [InlineData(BatchSourceKind.InterPatientPairs, BatchFields.Pairs)]
    [InlineData(BatchSourceKind.InterPatientTriplets, BatchFields.Triplets)]
    public void Provides_is_known_before_the_data_and_equals_the_built_sources(BatchSourceKind kind, BatchFields expected)
    {
        var data = Cohort();
        var options = new BatchSourceOptions { Kind = kind, PatientsPerBatch = 3, ScansPerPatient = 2 };
        options.Provides.Should().Be(expected);
        options.Create(data, BatchSourceOptions.ScoreScale(data), 2).Provides.Should().Be(expected);
    }

    [Fact]
    public void Create_builds_each_kind_with_gaps_in_score_standard_deviations()
    {
        var data = Cohort();
        double sd = BatchSourceOptions.ScoreScale(data);
        double mean = data.Scans.Average(s => s.Score!.Value);
        sd.Should().BeApproximately(Math.Sqrt(data.Scans.Average(s => Math.Pow(s.Score!.Value - mean, 2))), 1e-9);

        var pk = new BatchSourceOptions { PatientsPerBatch = 3, ScansPerPatient = 2 }.Create(data, sd, 4);
        pk.Should().BeOfType<PatientBatchSource>().Which.MaxScans.Should().Be(6);

        var pairs = new BatchSourceOptions { Kind = BatchSourceKind.InterPatientPairs, PairsPerBatch = 10, NegativeGap = 0.25, CurriculumStartGap = 1.5 }
            .Create(data, sd, 4).Should().BeOfType<InterPatientPairSource>().Which;
        (pairs.MaxPairs, pairs.MaxScans, pairs.MaxTriplets).Should().Be((10, 20, 0));
        pairs.NegativeGap.Should().BeApproximately(1.5 * sd, 1e-9, "epoch 0: the curriculum's start gap, in standard deviations");
        pairs.BeginEpoch(3);
        pairs.NegativeGap.Should().BeApproximately(0.25 * sd, 1e-9, "the last epoch of the run: the fine gap");
        pairs.BeginEpoch(1);
        pairs.NegativeGap.Should().BeApproximately((1.5 - (1.5 - 0.25) / 3) * sd, 1e-9, "linear over the run's 4 epochs");

        var shortCurriculum = (InterPatientPairSource)new BatchSourceOptions { Kind = BatchSourceKind.InterPatientPairs, CurriculumEpochs = 2 }.Create(data, sd, 10);
        shortCurriculum.BeginEpoch(1);
        shortCurriculum.NegativeGap.Should().BeApproximately(0.25 * sd, 1e-9, "CurriculumEpochs = 2 ends the decrease at epoch 1");
        var flat = (InterPatientPairSource)new BatchSourceOptions { Kind = BatchSourceKind.InterPatientPairs, CurriculumShape = CurriculumShape.None }.Create(data, sd, 10);
        flat.NegativeGap.Should().BeApproximately(0.25 * sd, 1e-9);

        var triplets = new BatchSourceOptions { Kind = BatchSourceKind.InterPatientTriplets, TripletsPerBatch = 5 }.Create(data, sd, 4);
        triplets.Should().BeOfType<TripletBatchSource>().Which.MaxScans.Should().Be(15);
        FluentActions.Invoking(() => new BatchSourceOptions { Kind = BatchSourceKind.InterPatientPairs }.Create(data, 0, 4))
            .Should().Throw<ArgumentOutOfRangeException>().WithMessage("*scoreScale*got 0*");
    }

    [Fact]
    public void Pair_and_triplet_sources_need_scores_and_name_the_scan()
    {
        var labelOnly = Cohort(scores: false);
        foreach (var kind in new[] { BatchSourceKind.InterPatientPairs, BatchSourceKind.InterPatientTriplets })
            FluentActions.Invoking(() => new BatchSourceOptions { Kind = kind }.Create(labelOnly, 1, 3))
                .Should().Throw<MissingScoreException>().Which.ScanId.Should().Be("ps0-0");
        FluentActions.Invoking(() => BatchSourceOptions.ScoreScale(labelOnly)).Should().Throw<MissingScoreException>().Which.ScanId.Should().Be("ps0-0");
        new BatchSourceOptions().Create(labelOnly, double.NaN, 3).Should().BeOfType<PatientBatchSource>("P × K batches need no scores (and no scale)");
    }

    public static TheoryData<string> LabelOnlyObjectives() => new() { "supcon", "contrastive", "triplet", "infonce" };

    [Theory]
    [MemberData(nameof(LabelOnlyObjectives))]
    public void A_label_only_dataset_pretrains_with_a_label_only_objective(string name)
    {
        var data = Cohort(scores: false);
        data.Scans.Should().OnlyContain(s => s.Score == null && s.CoarseLabel != null);
        var objective = ObjectiveRegistry.CreateDefault().Create(name);
        objective.Requires.HasFlag(BatchFields.Scores).Should().BeFalse();
        var source = new BatchSourceOptions { PatientsPerBatch = 4, ScansPerPatient = 2 }.Create(data, double.NaN, 2);
        var result = new Pretrainer(Encoder(), data, source, objective, Options(epochs: 2, stepsPerEpoch: 2)).Run();
        result.CompletedSteps.Should().Be(4);
        result.Losses.Should().OnlyContain(l => double.IsFinite(l));
    }

    [Fact]
    public void Objectives_needing_what_the_dataset_lacks_throw_typed_errors_naming_scan_patient_and_objective()
    {
        var labelOnly = Cohort(scores: false);
        var sampler = new PatientBatchSampler(labelOnly, 4, 2);
        var missingScore = FluentActions.Invoking(() => new Pretrainer(Encoder(), labelOnly, sampler, new WeightedContrastiveLoss(), Options()))
            .Should().Throw<MissingScoreException>().WithMessage("*ps0-0*weighted-contrastive*training set*patient 'p0'*").Which;
        missingScore.ScanId.Should().Be("ps0-0");
        missingScore.Value.Should().BeNull();

        var scoreOnly = Cohort(labels: false);
        FluentActions.Invoking(() => new Pretrainer(Encoder(), scoreOnly, new PatientBatchSampler(scoreOnly, 4, 2), new SupConLoss(), Options()))
            .Should().Throw<MissingLabelException>().WithMessage("*ps0-0*supcon*training set*patient 'p0'*").Which.ScanId.Should().Be("ps0-0");

        var data = Cohort();
        var unlabelledValidation = Cohort(99, "v", labels: false);
        FluentActions.Invoking(() => new Pretrainer(Encoder(), data, new PatientBatchSampler(data, 4, 2), new SupConLoss(), Options()) { ValidationSet = unlabelledValidation })
            .Should().Throw<MissingLabelException>().WithMessage("*vs0-0*supcon*validation set*patient 'v0'*");
    }

    [Fact]
    public void An_objective_that_needs_triplets_is_refused_by_a_source_that_draws_none()
    {
        var data = Cohort();
        var provided = new TripletLoss(new TripletOptions { Selection = Learner.Objectives.Options.TripletSelection.Provided });
        FluentActions.Invoking(() => new Pretrainer(Encoder(), data, new InterPatientPairSource(data, new InterPatientPairOptions { NegativeGap = 40 }, 8), provided, Options()))
            .Should().Throw<ArgumentException>().WithMessage("*Triplets*InterPatientPairSource*triplet sampler*");
        var ok = new Pretrainer(Encoder(), data, new TripletBatchSource(data, new InterPatientPairOptions { NegativeGap = 40 }, 4), provided, Options(epochs: 1, stepsPerEpoch: 2)).Run();
        ok.Losses.Should().HaveCount(2).And.OnlyContain(l => double.IsFinite(l));
    }
}
