using Learner.Encoders;
using Learner.Experiments;
using Learner.Reporting;
using Learner.Training;

namespace Learner.Tests.Reporting;

public sealed class CsvScalarLoggerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"learner-scalars-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    [Fact]
    public void A_pretraining_writes_one_row_per_scalar_and_step_with_its_losses()
    {
        var factory = new PretrainerFactory(new ExperimentOptions
        {
            Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 3, EmbeddingDimension = 4, WidthMultiplier = 0.05 },
            Pretraining = new PretrainingOptions { Epochs = 1, StepsPerEpoch = 3, WarmupSteps = 1 },
            BatchSource = new BatchSourceOptions { PatientsPerBatch = 4, ScansPerPatient = 2 },
        });
        var (pretrainer, _) = factory.Create(Experiments.LearnerExperimentTests.Cohort(), "mse+weighted-contrastive");
        string file = Path.Combine(_dir, "run", "scalars.csv");
        var fixedTime = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        PretrainingResult result;
        using (var logger = new CsvScalarLogger(file, clock: () => fixedTime)) result = pretrainer.Run(CsvScalarLogger.Combine(logger, null));
        var lines = File.ReadAllLines(file);
        lines[0].Should().Be(CsvScalarLogger.Header);
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToList();
        rows.Should().OnlyContain(r => r[0] == "2026-01-02T03:04:05.0000000+00:00");
        var losses = rows.Where(r => r[3] == "loss").Select(r => double.Parse(r[4], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        losses.Should().Equal(result.Losses, "the loss rows are the run's losses, round-trip exact");
        rows.Where(r => r[3] == "loss").Select(r => r[1]).Should().Equal("1", "2", "3");
        rows.Select(r => r[3]).Distinct().Should().Contain(["lr", "steps_per_second"]).And.Contain(t => t.StartsWith("term/", StringComparison.Ordinal));
        // Each step's loss parts and mining counts: the parts add up to their term, the pairs are counted.
        rows.Select(r => r[3]).Distinct().Should().Contain(["loss/weighted-contrastive/positive", "loss/weighted-contrastive/negative",
            "mining/pairs", "mining/positive-pairs", "mining/active-pairs"]);
        double V(string step, string tag) => double.Parse(rows.Single(r => r[1] == step && r[3] == tag)[4], System.Globalization.CultureInfo.InvariantCulture);
        foreach (var step in new[] { "1", "2", "3" })
        {
            (V(step, "loss/weighted-contrastive/positive") + V(step, "loss/weighted-contrastive/negative"))
                .Should().BeApproximately(V(step, "term/weighted-contrastive"), 1e-12);
            V(step, "mining/pairs").Should().BeGreaterThan(V(step, "mining/positive-pairs")).And.BeGreaterThan(0);
            V(step, "mining/active-pairs").Should().BeLessThanOrEqualTo(V(step, "mining/pairs"));
        }

        // Appending (a resumed run) writes no second header.
        using (var again = new CsvScalarLogger(file, append: true, clock: () => fixedTime))
            again.Report(new TrainingProgress(1, 4, 4, double.NaN, [], 1e-3, 1, TimeSpan.Zero));
        var all = File.ReadAllLines(file);
        all.Count(l => l == CsvScalarLogger.Header).Should().Be(1);
        all.Should().Contain("2026-01-02T03:04:05.0000000+00:00,4,1,loss,", "a value not measured is an empty cell");
    }
}

public class NonFiniteAsNullJsonConverterTests
{
    [Fact]
    public void Non_finite_numbers_are_written_as_null_and_read_back_as_NaN()
    {
        string json = System.Text.Json.JsonSerializer.Serialize(new { a = double.NaN, b = double.PositiveInfinity, c = 0.5, d = (double?)double.NaN }, NonFiniteAsNullJsonConverter.Compact);
        json.Should().Be("{\"a\":null,\"b\":null,\"c\":0.5,\"d\":null}");
        System.Text.Json.JsonSerializer.Deserialize<double[]>("[null, 1.5]", NonFiniteAsNullJsonConverter.Options)!.Should().Equal(double.NaN, 1.5);
    }
}
