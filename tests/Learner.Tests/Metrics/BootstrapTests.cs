using Learner.Metrics;
using Learner.Nn;
using static Learner.Tests.Metrics.MetricFixtures;

namespace Learner.Tests.Metrics;

public class BootstrapTests
{
    [Fact]
    public void Quantiles_match_numpy_percentile()
    {
        var p = Section("percentile");
        var sorted = Numbers(p, "values");
        Array.Sort(sorted);
        var q = Numbers(p, "q");
        var expected = Numbers(p, "expected");
        for (int i = 0; i < q.Length; i++)
            ShouldMatch(Bootstrap.Quantile(sorted, q[i] / 100), expected[i], $"q = {q[i]}");
    }

    private static (int[] Patients, double[] Values) Cohort(int patients, int seed)
    {
        var rng = new Rng(seed);
        var ids = new List<int>();
        var values = new List<double>();
        for (int p = 0; p < patients; p++)
        {
            double patientMean = rng.NextGaussian();
            int visits = 1 + rng.NextInt(4);
            for (int v = 0; v < visits; v++) { ids.Add(1000 - 7 * p); values.Add(patientMean + 0.1 * rng.NextGaussian()); }
        }
        return (ids.ToArray(), values.ToArray());
    }

    [Fact]
    public void Same_seed_gives_the_same_interval_and_another_seed_a_different_one()
    {
        var (ids, values) = Cohort(40, 1);
        Func<int[], double> mean = items => items.Average(i => values[i]);
        var a = Bootstrap.ConfidenceInterval(ids, mean, 200, 0.95, new Rng(3));
        var b = Bootstrap.ConfidenceInterval(ids, mean, 200, 0.95, new Rng(3));
        var c = Bootstrap.ConfidenceInterval(ids, mean, 200, 0.95, new Rng(4));
        a.Should().Be(b);
        a.Should().NotBe(c);
        a.Estimate.Should().Be(values.Average());
        a.Lower.Should().BeLessThan(a.Estimate);
        a.Upper.Should().BeGreaterThan(a.Estimate);
        a.Level.Should().Be(0.95);
        a.ValidResamples.Should().Be(200);
        var (estimate, lower, upper) = a;
        (estimate, lower, upper).Should().Be((a.Estimate, a.Lower, a.Upper));
    }

    [Fact]
    public void Resamples_whole_patients_with_replacement()
    {
        var (ids, _) = Cohort(15, 2);
        int patients = ids.Distinct().Count();
        var sizes = ids.GroupBy(i => i).ToDictionary(g => g.Key, g => g.Count());
        bool sawRepeat = false;
        int calls = 0;
        Bootstrap.ConfidenceInterval(ids, items =>
        {
            calls++;
            // Items come in whole-patient blocks, in item order within each block.
            int at = 0, blocks = 0;
            while (at < items.Length)
            {
                int patient = ids[items[at]];
                int size = sizes[patient];
                var block = items.AsSpan(at, size).ToArray();
                block.Should().OnlyContain(i => ids[i] == patient);
                block.Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
                at += size;
                blocks++;
            }
            blocks.Should().Be(patients);
            sawRepeat |= items.Distinct().Count() < items.Length;
            return items.Length;
        }, 50, 0.9, new Rng(9));
        calls.Should().Be(51); // the estimate plus 50 replicates
        sawRepeat.Should().BeTrue();
    }

    [Fact]
    public void Interval_width_matches_the_standard_error_of_a_mean()
    {
        // One item per patient, 400 iid N(0,1) values: the 95 % interval of the mean is about ±1.96/√400 = ±0.098.
        var rng = new Rng(21);
        var values = Enumerable.Range(0, 400).Select(_ => rng.NextGaussian()).ToArray();
        var ids = Enumerable.Range(0, 400).ToArray();
        var ci = Bootstrap.ConfidenceInterval(ids, items => items.Average(i => values[i]), new Rng(5));
        double sd = Math.Sqrt(values.Select(v => (v - values.Average()) * (v - values.Average())).Sum() / 400);
        (ci.Upper - ci.Lower).Should().BeApproximately(2 * 1.96 * sd / 20, 0.2 * 2 * 1.96 * sd / 20);
        ci.ValidResamples.Should().Be(Bootstrap.DefaultResamples);
    }

    [Fact]
    public void A_single_patient_gives_a_degenerate_interval_and_nan_replicates_are_left_out()
    {
        var one = Bootstrap.ConfidenceInterval([4, 4, 4], items => items.Length, 20, 0.95, new Rng(1));
        one.Should().Be(new MetricInterval(3, 3, 3) { Level = 0.95, ValidResamples = 20 });

        int[] ids = [0, 1, 2, 3];
        var sometimesNaN = Bootstrap.ConfidenceInterval(ids, items => items.Contains(0) ? items.Length : double.NaN, 100, 0.95, new Rng(2));
        sometimesNaN.ValidResamples.Should().BeInRange(40, 90);
        sometimesNaN.Lower.Should().Be(4);
        int call = 0;
        var allNaN = Bootstrap.ConfidenceInterval(ids, _ => call++ == 0 ? 1 : double.NaN, 30, 0.95, new Rng(2));
        allNaN.Estimate.Should().Be(1);
        allNaN.ValidResamples.Should().Be(0);
        allNaN.Lower.Should().Be(double.NaN);
        allNaN.Upper.Should().Be(double.NaN);
    }

    [Fact]
    public void Bad_arguments_are_rejected()
    {
        Func<int[], double> m = items => items.Length;
        FluentActions.Invoking(() => Bootstrap.ConfidenceInterval(ReadOnlySpan<int>.Empty, m, new Rng(1)))
            .Should().Throw<ArgumentException>().Where(e => e.ParamName == "patientIds");
        FluentActions.Invoking(() => Bootstrap.ConfidenceInterval([1], m, 0, 0.95, new Rng(1)))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "resamples");
        FluentActions.Invoking(() => Bootstrap.ConfidenceInterval([1], m, 10, 1.0, new Rng(1)))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "level");
        FluentActions.Invoking(() => Bootstrap.ConfidenceInterval([1], m, 10, double.NaN, new Rng(1)))
            .Should().Throw<ArgumentOutOfRangeException>().Where(e => e.ParamName == "level");
        FluentActions.Invoking(() => Bootstrap.ConfidenceInterval([1], null!, new Rng(1)))
            .Should().Throw<ArgumentNullException>().Where(e => e.ParamName == "metric");
    }
}
