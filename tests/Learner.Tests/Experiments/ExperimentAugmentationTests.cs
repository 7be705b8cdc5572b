using Learner.Data;
using Learner.Experiments;

namespace Learner.Tests.Experiments;

/// <summary>An experiment's augmentation is part of its recorded settings (only when set, so that older folders still
/// resume), and a resume that adds, drops or changes it is refused.</summary>
public class ExperimentAugmentationTests
{
    private static readonly ExperimentRunOptions Cold = new() { WarmUp = false };

    [Fact]
    public void The_augmentation_is_listed_in_the_settings_and_changes_the_run()
    {
        var o = LearnerExperimentTests.Small() with { Objectives = new[] { "mse" } };
        var augmented = o with { Pretraining = o.Pretraining with { Augmentation = new AugmentationOptions { NoiseStd = 0.5f, SharedWithinPatient = true } } };
        var plain = new LearnerExperiment(o).Run(LearnerExperimentTests.Cohort(), Cold, null, null, CancellationToken.None);
        var withAug = new LearnerExperiment(augmented).Run(LearnerExperimentTests.Cohort(), Cold, null, null, CancellationToken.None);
        plain.Metadata.Settings.Should().NotContain(kv => kv.Key == "augmentation");
        withAug.Metadata.Settings.Single(kv => kv.Key == "augmentation").Value
            .Should().Be("flip 0.5, brightness ±0.1, contrast ±0.1, noise σ 0.5; one draw per patient and view");
        withAug.Rows[0].FinalLoss.Should().NotBe(plain.Rows[0].FinalLoss);
    }

    [Fact]
    public void Describe_names_each_transform_that_is_on()
    {
        new AugmentationOptions { CropHeight = 28, CropWidth = 30, MaxShift = 2, FlipProbability = 0, MaxBrightness = 0, MaxContrast = 0.25f, NoiseStd = 0 }.Describe()
            .Should().Be("crop 28×30, shift ±2, contrast ±0.25");
        new AugmentationOptions { FlipProbability = 0, MaxBrightness = 0, MaxContrast = 0, NoiseStd = 0 }.Describe().Should().Be("none");
    }

    [Fact]
    public void Resuming_a_folder_with_its_augmentation_added_dropped_or_changed_is_refused()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"learner-augstore-{Guid.NewGuid():N}");
        try
        {
            KeyValuePair<string, string>[] Settings(string? augmentation) => augmentation is null
                ? new KeyValuePair<string, string>[] { new("budget", "2 steps") }
                : new KeyValuePair<string, string>[] { new("budget", "2 steps"), new("augmentation", augmentation) };
            var store = new ExperimentStore(dir);
            store.CheckOrWriteSettings(Settings("flip 0.5"), "data", resume: false);
            store.CheckOrWriteSettings(Settings("flip 0.5"), "data", resume: true);
            FluentActions.Invoking(() => store.CheckOrWriteSettings(Settings(null), "data", resume: true))
                .Should().Throw<InvalidDataException>().WithMessage("*augmentation = 'flip 0.5', but this run has none*");
            FluentActions.Invoking(() => store.CheckOrWriteSettings(Settings("flip 0.25"), "data", resume: true))
                .Should().Throw<InvalidDataException>().WithMessage("*augmentation = 'flip 0.5', but this run has 'flip 0.25'*");
            var older = new ExperimentStore(dir + "-old");
            older.CheckOrWriteSettings(Settings(null), "data", resume: false);
            FluentActions.Invoking(() => older.CheckOrWriteSettings(Settings("flip 0.5"), "data", resume: true))
                .Should().Throw<InvalidDataException>().WithMessage("*augmentation = '(unset)'*");
            older.CheckOrWriteSettings(Settings(null), "data", resume: true);
        }
        finally
        {
            foreach (var d in new[] { dir, dir + "-old" }) if (Directory.Exists(d)) Directory.Delete(d, true);
        }
    }
}
