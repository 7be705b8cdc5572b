using FsCheck;
using FsCheck.Fluent;
using Learner.Data;

namespace Learner.Tests.Data;

public class ChangeLabelTests
{
    [Theory]
    [InlineData(300, 330, true, ChangeLabel.Improved)]
    [InlineData(300, 319.9, true, ChangeLabel.Stable)]
    [InlineData(300, 280, true, ChangeLabel.Worsened)]
    [InlineData(300, 330, false, ChangeLabel.Worsened)]
    [InlineData(300, 270, false, ChangeLabel.Improved)]
    [InlineData(300, 300, false, ChangeLabel.Stable)]
    public void Absolute_thresholds_respect_direction(double before, double after, bool higher, ChangeLabel expected) =>
        ChangeThresholds.Absolute(20).Classify(before, after, higher).Should().Be(expected);

    [Fact]
    public void Relative_thresholds_scale_with_the_earlier_score()
    {
        var t = ChangeThresholds.Relative(0.1);
        t.Classify(100, 111, true).Should().Be(ChangeLabel.Improved);
        t.Classify(400, 430, true).Should().Be(ChangeLabel.Stable);
        t.Classify(400, 350, true).Should().Be(ChangeLabel.Worsened);
        t.Classify(0, 0, true).Should().Be(ChangeLabel.Stable);
        t.Classify(0, 1, true).Should().Be(ChangeLabel.Improved);
        var asym = new ChangeThresholds(5, 10);
        asym.Classify(50, 55, true).Should().Be(ChangeLabel.Improved);
        asym.Classify(50, 45, true).Should().Be(ChangeLabel.Stable);
    }

    [Fact]
    public void Invalid_thresholds_and_scores_are_rejected()
    {
        FluentActions.Invoking(() => ChangeThresholds.Absolute(0)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => new ChangeThresholds(1, double.NaN)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => ChangeThresholds.Absolute(1).Classify(double.NaN, 1, true)).Should().Throw<ArgumentException>().WithMessage("*finite*");
    }

    [Fact]
    public void Swapping_visits_or_direction_mirrors_the_label()
    {
        Prop.ForAll(Gen.Choose(-1000, 1000).ToArbitrary(), Gen.Choose(-1000, 1000).ToArbitrary(), Gen.Choose(1, 300).ToArbitrary(), (a, b, th) =>
        {
            var t = ChangeThresholds.Absolute(th);
            var forward = t.Classify(a, b, true);
            var mirrored = 2 - (int)forward;
            return (int)t.Classify(b, a, true) == mirrored && (int)t.Classify(a, b, false) == mirrored;
        }).QuickCheckThrowOnFailure();
    }
}
