using Learner.Experiments;

namespace Learner.Tests.Experiments;

public class PairedComparisonTests
{
    private static readonly int[] Patients = Enumerable.Range(0, 60).Select(i => i / 3).ToArray();
    private static readonly int[] Truth = Enumerable.Range(0, 60).Select(i => i % 3).ToArray();

    [Fact]
    public void A_model_against_itself_differs_by_exactly_zero()
    {
        var pred = Truth.Select((t, i) => i % 4 == 0 ? (t + 1) % 3 : t).ToArray();
        var d = PairedComparison.MacroF1(Truth, pred, pred, Patients, 200, 1);
        (d.Estimate, d.Lower, d.Upper).Should().Be((0.0, 0.0, 0.0));
        var gaps = Enumerable.Range(0, 60).Select(i => (double)(i % 7)).ToArray();
        var dist = gaps.Select(g => g + 0.5).ToArray();
        var s = PairedComparison.Spearman(gaps, dist, dist, Patients, 200, 1);
        (s.Estimate, s.Lower, s.Upper).Should().Be((0.0, 0.0, 0.0));
    }

    [Fact]
    public void A_model_that_is_right_where_the_other_errs_is_better_with_an_interval_above_zero()
    {
        var perfect = Truth.ToArray();
        var wrong = Truth.Select((t, i) => i % 2 == 0 ? (t + 1) % 3 : t).ToArray();
        var d = PairedComparison.MacroF1(Truth, perfect, wrong, Patients, 500, 3);
        d.Estimate.Should().BeGreaterThan(0.3);
        d.Lower.Should().BeGreaterThan(0);
        var gaps = Enumerable.Range(0, 60).Select(i => (double)(i % 7) + 0.01 * i).ToArray();
        var aligned = gaps.Select(g => 2 * g).ToArray();
        var random = Enumerable.Range(0, 60).Select(i => (double)((i * 37) % 11)).ToArray();
        var s = PairedComparison.Spearman(gaps, aligned, random, Patients, 500, 3);
        s.Estimate.Should().BeGreaterThan(0.5);
        s.Lower.Should().BeGreaterThan(0);
        FluentActions.Invoking(() => PairedComparison.MacroF1(Truth, perfect, wrong.Take(10).ToArray(), Patients, 10, 1)).Should().Throw<ArgumentException>().WithMessage("*equal lengths*");
    }
}
