using Learner.Data;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Training;

namespace Learner.Tests.Experiments;

/// <summary>There is no default change threshold: an experiment needs one, and thresholds that leave a class empty fail.</summary>
public class ChangeThresholdRequirementTests
{
    [Fact]
    public void An_experiment_without_change_thresholds_is_refused_naming_the_option()
    {
        var options = LearnerExperimentTests.Small() with { ChangeThresholds = null };
        FluentActions.Invoking(() => new LearnerExperiment(options))
            .Should().Throw<ArgumentException>().WithMessage("*ChangeThresholds must be set*no default*");
        new ExperimentOptions().ChangeThresholds.Should().BeNull("the library has no default change threshold");
    }

    [Fact]
    public void Thresholds_that_leave_a_class_empty_fail_before_anything_is_trained()
    {
        // The test cohort's scores move by 0 or ±40 per visit: with ±5000 every pair is "stable".
        var options = LearnerExperimentTests.Small() with { ChangeThresholds = ChangeThresholds.Absolute(5000) };
        var e = FluentActions.Invoking(() => new LearnerExperiment(options).Run(LearnerExperimentTests.Cohort()))
            .Should().Throw<EmptyChangeClassException>().Which;
        e.Message.Should().Contain("'worsened' or 'improved'").And.Contain("+5000 / −5000").And.Contain("0 worsened");
        e.Counts[1].Should().BeGreaterThan(0);
        e.Counts[0].Should().Be(0);
    }

    [Fact]
    public void The_pretrainer_validation_measures_change_with_the_experiment_thresholds()
    {
        var data = LearnerExperimentTests.Cohort();
        var split = Learner.Sampling.PatientSplits.TrainValidationTest(data, validationFraction: 0.3, testFraction: 0, seed: 1);
        var options = new ExperimentOptions
        {
            Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 3, EmbeddingDimension = 4, WidthMultiplier = 0.05 },
            Pretraining = new PretrainingOptions { Epochs = 1, StepsPerEpoch = 2, Validation = new ValidationOptions { ChangeFolds = 2 } },
            BatchSource = new BatchSourceOptions { PatientsPerBatch = 4, ScansPerPatient = 2 },
            ChangeThresholds = ChangeThresholds.Absolute(20),
        };
        var (pretrainer, _) = new PretrainerFactory(options).Create(split.Train, "mse", validation: split.Validation);
        var report = pretrainer.Run().Epochs.Single().Validation!;
        double.IsFinite(report.MacroF1).Should().BeTrue("validation change metrics use the experiment's thresholds, set nowhere else");

        var (without, _) = new PretrainerFactory(options with { ChangeThresholds = null }).Create(split.Train, "mse", validation: split.Validation);
        double.IsNaN(without.Run().Epochs.Single().Validation!.MacroF1).Should().BeTrue("without thresholds change classification is not measured");
    }
}

public class ValidationReportTextTests
{
    [Fact]
    public void A_validation_report_prints_as_one_readable_line_with_unmeasured_metrics_as_na()
    {
        var report = new ValidationReport(2, 120, 0.41234, new[] { new KeyValuePair<string, double>("mse", 0.30119), new KeyValuePair<string, double>("weighted-contrastive", 0.11116) },
            0.4121, 0.63, 0.31, double.NaN, double.NaN, double.NaN);
        report.ToString().Should().Be("epoch 2, step 120: loss 0.4123 (mse 0.3012, weighted-contrastive 0.1112); Spearman 0.412, P@1 0.630, MAP@R 0.310, accuracy n/a, macro-F1 n/a, κ n/a");
    }
}
