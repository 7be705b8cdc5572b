using Learner.Data;
using Learner.Encoders;
using Learner.Nn;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Sampling;
using Learner.Training;

namespace Learner.Tests.Training;

/// <summary>Augmentation settings are refused before the first step: a bad value on its own (which <see cref="Augment.Apply"/>
/// would otherwise skip or throw on mid-run), and a crop or shift the scans' shape cannot take.</summary>
public class AugmentationValidationTests
{
    public static TheoryData<AugmentationOptions, string> BadSettings() => new()
    {
        { new AugmentationOptions { CropHeight = -4, CropWidth = 8 }, "*CropHeight = -4*" },
        { new AugmentationOptions { CropHeight = 8 }, "*CropHeight = 8, CropWidth = 0*" },
        { new AugmentationOptions { MaxShift = -1 }, "*MaxShift*-1*" },
        { new AugmentationOptions { FlipProbability = 1.5 }, "*FlipProbability*1.5*" },
        { new AugmentationOptions { FlipProbability = double.NaN }, "*FlipProbability*NaN*" },
        { new AugmentationOptions { MaxBrightness = -0.1f }, "*MaxBrightness*-0.1*" },
        { new AugmentationOptions { MaxContrast = 1f }, "*MaxContrast*1*" },
        { new AugmentationOptions { NoiseStd = float.PositiveInfinity }, "*NoiseStd*Infinity*" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void A_bad_setting_is_refused_by_the_options_naming_it(AugmentationOptions bad, string message)
    {
        FluentActions.Invoking(bad.Validate).Should().Throw<ArgumentException>().WithMessage(message);
        FluentActions.Invoking(() => new PretrainingOptions { Augmentation = bad }.Validate()).Should().Throw<ArgumentException>().WithMessage(message);
    }

    [Fact]
    public void The_defaults_and_a_full_setting_are_accepted()
    {
        new AugmentationOptions().Validate();
        new AugmentationOptions().IsSpatial.Should().BeFalse();
        var full = new AugmentationOptions { CropHeight = 28, CropWidth = 30, MaxShift = 2, FlipProbability = 1, MaxContrast = 0.5f };
        full.IsSpatial.Should().BeTrue();
        full.Validate(new[] { 8, 32, 32 }, "s0");
        new AugmentationOptions { MaxShift = 3 }.Validate(new[] { 4, 4 }, "s0");
        new AugmentationOptions { FlipProbability = 1 }.Validate(new[] { 6 }, "s0"); // no spatial transform: rank 1 is fine
    }

    [Fact]
    public void A_crop_or_shift_that_the_scans_shape_cannot_take_is_refused_naming_the_scan_and_shape()
    {
        FluentActions.Invoking(() => new AugmentationOptions { MaxShift = 2 }.Validate(new[] { 6 }, "s7"))
            .Should().Throw<ShapeMismatchException>().WithMessage("*MaxShift = 2*'s7'*[6]*rank 1*");
        FluentActions.Invoking(() => new AugmentationOptions { CropHeight = 4, CropWidth = 4 }.Validate(new[] { 6 }, "s7"))
            .Should().Throw<ShapeMismatchException>().WithMessage("*crop 4×4*'s7'*[6]*");
        FluentActions.Invoking(() => new AugmentationOptions { CropHeight = 16, CropWidth = 40 }.Validate(new[] { 8, 32, 32 }, "s7"))
            .Should().Throw<ShapeMismatchException>().WithMessage("*crop 16×40*'s7'*[8, 32, 32]*");
    }

    [Fact]
    public void The_pretrainer_refuses_a_shift_of_rank_1_scans_when_built_not_at_the_first_step()
    {
        var data = TrainingFixtures.Cohort(labels: false);
        var sampler = new PatientBatchSampler(data, 4, 2);
        var options = TrainingFixtures.Options() with { Augmentation = new AugmentationOptions { MaxShift = 1 } };
        FluentActions.Invoking(() => new Pretrainer(TrainingFixtures.Encoder(), data, sampler, new MseScoreRegression(new MseOptions { EmbeddingDimension = 4 }), options))
            .Should().Throw<ShapeMismatchException>().WithMessage($"*MaxShift = 1*'{data.Scans[0].Id}'*[6]*");
        // Without the spatial transforms the same rank-1 scans train (a flip of the last axis and intensity changes apply).
        var fine = new Pretrainer(TrainingFixtures.Encoder(), data, sampler, new MseScoreRegression(new MseOptions { EmbeddingDimension = 4 }), TrainingFixtures.Options(epochs: 1, stepsPerEpoch: 2) with { Augmentation = new AugmentationOptions() });
        fine.Run().Losses.Should().OnlyContain(l => double.IsFinite(l));
    }
}
