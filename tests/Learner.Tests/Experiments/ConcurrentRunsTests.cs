using Learner.Experiments;

namespace Learner.Tests.Experiments;

/// <summary><see cref="ExperimentRunOptions.ConcurrentRuns"/>: folds side by side, each on its share of the cores.</summary>
public class ConcurrentRunsTests
{
    private static ExperimentResults Run(int concurrent, IProgress<string>? progress = null, IProgress<ExperimentStep>? steps = null, CancellationToken ct = default) =>
        new LearnerExperiment(LearnerExperimentTests.Small()).Run(LearnerExperimentTests.Cohort(), new ExperimentRunOptions { WarmUp = false, ConcurrentRuns = concurrent }, progress, steps, ct);

    [Fact]
    public void Folds_side_by_side_give_the_bits_of_one_after_another_and_report_the_runs_in_order()
    {
        var serial = Run(1);
        var lines = new List<string>();
        var steps = new List<ExperimentStep>();
        // Three runs of four folds, up to three at a time (as many as the machine's threads): folds of different runs
        // overlap, and runs can finish out of order.
        var side = Run(3, new SyncProgress<string>(lines.Add), new SyncProgress<ExperimentStep>(steps.Add));
        side.Rows.Select(r => r.Objective).Should().Equal(serial.Rows.Select(r => r.Objective));
        lines.Select(l => l[..l.IndexOf(" seed", StringComparison.Ordinal)]).Should().Equal(serial.Rows.Select(r => r.Objective), "each run is reported once, in run order");
        for (int i = 0; i < serial.Rows.Count; i++)
        {
            var (a, b) = (serial.Rows[i], side.Rows[i]);
            b.MacroF1.Should().Be(a.MacroF1);
            b.Spearman.Should().Be(a.Spearman);
            b.QuadraticKappa.Should().Be(a.QuadraticKappa);
            b.FinalLoss.Should().Be(a.FinalLoss);
            b.Details!.Predicted.Should().Equal(a.Details!.Predicted);
            b.Details.PairDistances.Should().Equal(a.Details.PairDistances);
            b.Details.Losses.Should().Equal(a.Details.Losses);
            b.Probe!.ClipPredictions.Should().Equal(a.Probe!.ClipPredictions);
            b.Visit!.Distances.Should().Equal(a.Visit!.Distances);
            b.Folds.Select(f => f.TestPatients).Should().BeEquivalentTo(a.Folds.Select(f => f.TestPatients), o => o.WithStrictOrdering());
        }
        // Every step of every fold is counted once: the experiment's count ends at its total.
        long total = steps[0].TotalSteps;
        steps.Should().HaveCount((int)total);
        steps.Max(s => s.CompletedSteps).Should().Be(total);
        steps.Select(s => s.CompletedSteps).Should().OnlyHaveUniqueItems().And.BeInAscendingOrder("each step is delivered in the order it was counted");
    }

    [Fact]
    public void A_cancelled_experiment_with_folds_side_by_side_stops_and_keeps_the_finished_runs()
    {
        using var cts = new CancellationTokenSource();
        int seen = 0;
        // The first run's four folds take 24 steps; cancel in the middle of the second run's.
        var act = () => Run(2, null, new SyncProgress<ExperimentStep>(_ => { if (Interlocked.Increment(ref seen) == 30) cts.Cancel(); }), cts.Token);
        var partial = act.Should().Throw<ExperimentCancelledException>().Which.Partial;
        partial.Metadata.Complete.Should().BeFalse();
        partial.Rows.Count.Should().BeLessThan(3);
        seen.Should().BeLessThan(72, "no fold starts after the cancellation");
    }

    [Fact]
    public void A_backend_that_does_not_run_folds_side_by_side_is_refused_more_than_one_at_a_time()
    {
        var shared = new Learner.Encoders.ComputeBackend("shared-state", Learner.Encoders.EncoderFactory.Create);
        FluentActions.Invoking(() => new LearnerExperiment(LearnerExperimentTests.Small(), shared)
                .Run(LearnerExperimentTests.Cohort(), new ExperimentRunOptions { WarmUp = false, ConcurrentRuns = 2 }, null, null, default))
            .Should().Throw<ArgumentException>().WithMessage("*ConcurrentRuns = 2*'shared-state'*RunsSideBySide*");
        Learner.Encoders.ComputeBackend.Managed.RunsSideBySide.Should().BeTrue();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void Fewer_than_one_fold_at_a_time_is_refused_naming_the_value(int concurrent) =>
        FluentActions.Invoking(() => Run(concurrent)).Should().Throw<ArgumentException>().WithMessage($"*ConcurrentRuns = {concurrent}*");
}
