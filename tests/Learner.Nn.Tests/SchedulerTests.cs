using Learner.Nn;
using Learner.Nn.Optim;

namespace Learner.Nn.Tests;

public class SchedulerTests
{
    private static Sgd TwoGroups() => new(new[]
    {
        new ParameterGroupSpec(new[] { Tensor.Zeros(1).RequireGrad() }, 0.1),
        new ParameterGroupSpec(new[] { Tensor.Zeros(1).RequireGrad() }, 0.02),
    }, 0.1);

    private static void AssertSchedule(string name, Sgd opt, ILrScheduler sched)
    {
        var c = Fixtures.Load("optim.json").Single(x => x.Name == name);
        var lrs = c.Tensor("lrs");
        int steps = c.Int("steps");
        for (int s = 0; s <= steps; s++)
        {
            if (s > 0) sched.Step();
            sched.StepCount.Should().Be(s);
            for (int g = 0; g < 2; g++)
            {
                double expected = lrs[s, g];
                opt.ParamGroups[g].LearningRate.Should().BeApproximately(expected, 1e-5 * expected + 1e-9, $"{name} step {s} group {g}");
            }
            sched.LastLr.Should().Be(opt.ParamGroups[0].LearningRate);
        }
    }

    [Fact]
    public void Step_lr_matches_pytorch()
    {
        var opt = TwoGroups();
        AssertSchedule("steplr", opt, new StepLr(opt, 3, 0.5));
    }

    [Fact]
    public void Cosine_with_warmup_matches_pytorch_linear_then_cosine()
    {
        var opt = TwoGroups();
        AssertSchedule("cosine_warmup", opt, new CosineWithWarmup(opt, 5, 20, minLr: 1e-4, warmupStartFactor: 0.1));
    }

    [Fact]
    public void Cosine_without_warmup_matches_pytorch_cosine_annealing()
    {
        var opt = TwoGroups();
        AssertSchedule("cosine_no_warmup", opt, new CosineWithWarmup(opt, 0, 10));
    }

    [Fact]
    public void Warmup_from_zero_then_cosine_then_hold()
    {
        var opt = new AdamW(new[] { Tensor.Zeros(2).RequireGrad() }, 1.0);
        var s = new CosineWithWarmup(opt, 4, 8, minLr: 0.1);
        var expected = new[] { 0, 0.25, 0.5, 0.75, 1.0, 0.1 + 0.9 * (1 + Math.Cos(Math.PI / 4)) / 2, 0.55, 0.1 + 0.9 * (1 + Math.Cos(3 * Math.PI / 4)) / 2, 0.1, 0.1, 0.1 };
        for (int i = 0; i < expected.Length; i++)
        {
            if (i > 0) s.Step();
            s.LastLr.Should().BeApproximately(expected[i], 1e-12, $"step {i}");
        }
    }

    [Fact]
    public void State_round_trips_and_rejects_another_kind()
    {
        var opt = TwoGroups();
        var a = new StepLr(opt, 2, 0.5);
        for (int i = 0; i < 5; i++) a.Step();
        var state = a.GetState();
        var opt2 = TwoGroups();
        var b = new StepLr(opt2, 2, 0.5);
        b.SetState(state);
        b.StepCount.Should().Be(5);
        opt2.ParamGroups[1].LearningRate.Should().Be(opt.ParamGroups[1].LearningRate);
        b.Step(); a.Step();
        b.LastLr.Should().Be(a.LastLr);
        var cos = new CosineWithWarmup(TwoGroups(), 1, 5);
        ((Action)(() => cos.SetState(state))).Should().Throw<ArgumentException>().WithMessage("*StepLr*CosineWithWarmup*");
    }

    [Fact]
    public void Invalid_schedules_are_rejected()
    {
        var opt = TwoGroups();
        ((Action)(() => new StepLr(opt, 0))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => new CosineWithWarmup(opt, 10, 10))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*10 warm-up*");
        ((Action)(() => new CosineWithWarmup(opt, 1, 10, warmupStartFactor: 2))).Should().Throw<ArgumentOutOfRangeException>();
    }
}
