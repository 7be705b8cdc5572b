using FsCheck;
using FsCheck.Fluent;
using Learner.Sampling;

namespace Learner.Tests.Sampling;

public class CurriculumTests
{
    [Fact]
    public void Built_in_schedules_are_monotone_and_hit_their_endpoints()
    {
        var gen = from start in Gen.Choose(2, 1000)
                  from endPct in Gen.Choose(1, 100)
                  from epochs in Gen.Choose(1, 40)
                  from steps in Gen.Choose(1, 8)
                  from kind in Gen.Choose(0, 2)
                  select (start: (double)start, end: start * endPct / 100.0, epochs, steps, kind);
        Prop.ForAll(gen.ToArbitrary(), c =>
        {
            var s = c.kind switch
            {
                0 => CurriculumSchedule.Linear(c.start, c.end, c.epochs),
                1 => CurriculumSchedule.Cosine(c.start, c.end, c.epochs),
                _ => CurriculumSchedule.Step(c.start, c.end, c.epochs, c.steps),
            };
            double prev = double.PositiveInfinity;
            for (int e = 0; e < c.epochs + 5; e++)
            {
                double g = s.GapAt(e);
                if (g > prev || g < c.end || g > c.start) return false;
                prev = g;
            }
            return s.GapAt(0) == (c.epochs == 1 ? c.end : c.start) && s.GapAt(c.epochs - 1) == c.end && s.GapAt(c.epochs + 10) == c.end;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Schedule_values()
    {
        var lin = CurriculumSchedule.Linear(100, 20, 5);
        Enumerable.Range(0, 6).Select(lin.GapAt).Should().Equal(100, 80, 60, 40, 20, 20);
        var step = CurriculumSchedule.Step(100, 20, 5, 2);
        Enumerable.Range(0, 5).Select(step.GapAt).Should().Equal(100, 100, 60, 60, 20);
        var cos = CurriculumSchedule.Cosine(100, 20, 3);
        cos.GapAt(1).Should().BeApproximately(60, 1e-9);
        CurriculumSchedule.Constant(7).GapAt(3).Should().Be(7);
        CurriculumSchedule.Custom(e => 50.0 / (e + 1)).GapAt(4).Should().Be(10);
    }

    [Fact]
    public void Invalid_schedules_are_rejected()
    {
        FluentActions.Invoking(() => CurriculumSchedule.Linear(10, 20, 3)).Should().Throw<ArgumentException>().WithMessage("*end gap 20 exceeds the start gap 10*");
        FluentActions.Invoking(() => CurriculumSchedule.Linear(10, 0, 3)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => CurriculumSchedule.Cosine(10, 5, 0)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => CurriculumSchedule.Step(10, 5, 3, 0)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => CurriculumSchedule.Custom(e => e == 2 ? double.NaN : 1).GapAt(2)).Should().Throw<InvalidOperationException>().WithMessage("*epoch 2*");
        FluentActions.Invoking(() => CurriculumSchedule.Linear(10, 5, 3).GapAt(-1)).Should().Throw<ArgumentOutOfRangeException>();
    }
}
