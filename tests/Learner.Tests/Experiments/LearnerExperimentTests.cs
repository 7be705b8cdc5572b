using Learner.Data;
using Learner.DependencyInjection;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Nn;
using Learner.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Learner.Tests.Experiments;

public class LearnerExperimentTests
{
    /// <summary>16 patients × 3 visits of 3 features (score, a per-patient nuisance, noise); shared with the report tests.</summary>
    internal static LongitudinalDataset Cohort()
    {
        var rng = new Rng(2);
        var scans = new List<Scan>();
        for (int p = 0; p < 16; p++)
        {
            double score = 200 + 200 * rng.NextDouble();
            float nuisance = (float)rng.NextGaussian();
            for (int v = 0; v < 3; v++)
            {
                scans.Add(new Scan($"s{p}-{v}", $"p{p}", v, score, payload: new TensorPayload(Tensor.FromSpan(new[] { (float)score / 100, nuisance, (float)rng.NextGaussian() }, 3))));
                score += (rng.NextInt(3) - 1) * 40;
            }
        }
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    private static ExperimentOptions Small() => new()
    {
        Objectives = new[] { "mse", "weighted-contrastive", "mse+weighted-contrastive" },
        Seeds = new[] { 1 },
        Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 3, EmbeddingDimension = 4, WidthMultiplier = 0.05 },
        Pretraining = new PretrainingOptions { Epochs = 1, StepsPerEpoch = 6 },
        PatientsPerBatch = 4, ScansPerPatient = 2, Folds = 4, BootstrapResamples = 50,
    };

    [Fact]
    public void Runs_every_objective_and_reports_intervals_in_three_formats()
    {
        var lines = new List<string>();
        var results = new LearnerExperiment(Small()).Run(Cohort(), new SyncProgress(lines.Add));
        results.Rows.Should().HaveCount(3);
        lines.Should().HaveCount(3);
        foreach (var r in results.Rows)
        {
            r.MacroF1.Estimate.Should().BeInRange(0, 1);
            r.MacroF1.Lower.Should().BeLessThanOrEqualTo(r.MacroF1.Estimate + 1e-12);
            r.Spearman.Estimate.Should().BeInRange(-1, 1);
        }
        results.ToMarkdown().Should().Contain("| mse+weighted-contrastive | 1 |");
        results.ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(4);
        System.Text.Json.JsonDocument.Parse(results.ToJson()).RootElement.GetArrayLength().Should().Be(3);
    }

    [Fact]
    public void Same_seed_gives_the_same_table()
    {
        var a = new LearnerExperiment(Small() with { Objectives = new[] { "weighted-contrastive" } }).Run(Cohort());
        var b = new LearnerExperiment(Small() with { Objectives = new[] { "weighted-contrastive" } }).Run(Cohort());
        a.ToCsv().Split('\n').Select(l => string.Join(',', l.Split(',').Take(14))).Should().Equal(b.ToCsv().Split('\n').Select(l => string.Join(',', l.Split(',').Take(14))));
    }

    [Fact]
    public void AddLearner_registers_the_experiment_and_validates_options_naming_the_option()
    {
        var services = new ServiceCollection();
        services.AddLearner(o => { o.Folds = 3; o.Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 3 }; });
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<LearnerExperiment>().Should().NotBeNull();
        provider.GetRequiredService<Func<IEncoder>>()().EmbeddingDimension.Should().Be(128);

        var bad = new ServiceCollection();
        bad.AddLearner(o => o.Objectives = new[] { "magic" });
        using var badProvider = bad.BuildServiceProvider();
        FluentActions.Invoking(() => badProvider.GetRequiredService<IOptions<ExperimentOptions>>().Value)
            .Should().Throw<OptionsValidationException>().WithMessage("*Objectives*magic*");
    }

    private sealed class SyncProgress(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}
