using Learner.Experiments;
using Learner.Reporting;
using Learner.Training;

namespace Learner.Tests.Reporting;

public class ConsoleProgressReporterTests
{
    private static TrainingProgress Step(long step, long total = 100) =>
        new(1, step, total, 0.5, Array.Empty<KeyValuePair<string, double>>(), 1e-3, 10, TimeSpan.FromSeconds(total - step));

    [Fact]
    public void Prints_the_first_and_last_step_and_throttles_the_rest()
    {
        var output = new StringWriter();
        var reporter = new ConsoleProgressReporter(output, TimeSpan.FromHours(1));
        for (long s = 1; s <= 100; s++) reporter.Report(Step(s));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(2);
        lines[0].Should().Contain("step 1/100");
        lines[1].Should().Contain("step 100/100").And.Contain("ETA 00:00");
    }

    [Fact]
    public void A_resumed_run_whose_first_report_is_mid_run_is_printed()
    {
        // The first report of a resumed pretraining is step 37: it must print (and not overflow the throttle's clock).
        var output = new StringWriter();
        var reporter = new ConsoleProgressReporter(output, TimeSpan.FromHours(1));
        var step = new ExperimentStep("mse", 1, 0, 2, Step(37)) { Fold = 1, Folds = 3, CompletedSteps = 137, TotalSteps = 600, Eta = TimeSpan.FromMinutes(75) };
        reporter.Report(step);
        reporter.Report(step with { Training = Step(38) });
        string text = output.ToString();
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle();
        text.Should().Contain("[run 1/2 mse seed 1, fold 2/3] epoch 1, step 37/100").And.Contain("experiment 23 %, ETA 1:15:00");
    }

    [Fact]
    public void Folds_side_by_side_are_throttled_each_on_its_own()
    {
        // Two folds' pretrainings reporting in turn (ExperimentRunOptions.ConcurrentRuns): one fold's lines must not
        // hold back the other's.
        var output = new StringWriter();
        var reporter = new ConsoleProgressReporter(output, TimeSpan.FromHours(1));
        var a = new ExperimentStep("mse", 1, 0, 2, Step(37)) { Fold = 0, Folds = 1, CompletedSteps = 37, TotalSteps = 200 };
        var b = new ExperimentStep("supcon", 1, 1, 2, Step(12)) { Fold = 0, Folds = 1, CompletedSteps = 49, TotalSteps = 200 };
        reporter.Report(a);
        reporter.Report(b);
        reporter.Report(a with { Training = Step(38) });
        reporter.Report(b with { Training = Step(13) });
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().HaveCount(2);
        lines[0].Should().Contain("[run 1/2 mse seed 1, fold 1/1] epoch 1, step 37/100");
        lines[1].Should().Contain("[run 2/2 supcon seed 1, fold 1/1] epoch 1, step 12/100");
    }

    [Fact]
    public void Every_step_prints_with_a_zero_interval_and_lines_pass_through()
    {
        var output = new StringWriter();
        var reporter = new ConsoleProgressReporter(output, TimeSpan.Zero);
        for (long s = 1; s <= 5; s++) reporter.Report(Step(s, 5));
        ((IProgress<string>)reporter).Report("done");
        output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(6).And.EndWith("done");
        FluentActions.Invoking(() => new ConsoleProgressReporter(output, TimeSpan.FromSeconds(-1))).Should().Throw<ArgumentOutOfRangeException>();
    }
}
