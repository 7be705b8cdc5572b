using Learner.Nn;

namespace Learner.Nn.Tests;

public class TemporalShiftTests
{
    [Fact]
    public void First_fold_takes_the_next_frame_second_fold_the_previous_rest_unchanged()
    {
        // 2 clips × 3 frames, 4 channels, 1 pixel; value = 100·frame + channel.
        int nt = 6, c = 4;
        var x = Tensor.Empty(nt, c, 1, 1);
        for (int f = 0; f < nt; f++) for (int ch = 0; ch < c; ch++) x[f, ch, 0, 0] = 100 * f + ch;
        var y = Ops.TemporalShift(x, clipLength: 3, foldDivisor: 4);   // fold = 1
        for (int f = 0; f < nt; f++)
        {
            int t = f % 3;
            y[f, 0, 0, 0].Should().Be(t == 2 ? 0 : 100 * (f + 1) + 0, $"frame {f} channel 0 reads frame t+1");
            y[f, 1, 0, 0].Should().Be(t == 0 ? 0 : 100 * (f - 1) + 1, $"frame {f} channel 1 reads frame t-1");
            y[f, 2, 0, 0].Should().Be(100 * f + 2);
            y[f, 3, 0, 0].Should().Be(100 * f + 3);
        }
    }

    [Fact]
    public void A_tensor_large_enough_to_split_over_the_cores_shifts_and_back_propagates_by_the_rule()
    {
        // 24 clips × 8 frames of 16 channels × 16 × 16: split over the cores wherever there are several.
        int nt = 192, c = 16, plane = 256, clip = 8, fold = 2;
        var rng = new Rng(8);
        var x = Tensor.Normal(rng, 0f, 1f, nt, c, 16, 16).RequireGrad();
        var y = Ops.TemporalShift(x, clip, foldDivisor: 8);
        var g = Tensor.Normal(rng, 0f, 1f, nt, c, 16, 16);
        Ops.Sum(Ops.Mul(y, g)).Backward();
        var xs = x.ToArray(); var ys = y.ToArray(); var gs = g.ToArray(); var gx = x.Grad!.ToArray();
        for (int f = 0; f < nt; f++)
            for (int ch = 0; ch < c; ch++)
            {
                int delta = ch < fold ? 1 : ch < 2 * fold ? -1 : 0, t = f % clip;
                bool inside = t + delta >= 0 && t + delta < clip;
                int backT = t - delta;
                bool backInside = backT >= 0 && backT < clip;
                for (int p = 0; p < plane; p += 37)
                {
                    int at = (f * c + ch) * plane + p;
                    ys[at].Should().Be(inside ? xs[((f + delta) * c + ch) * plane + p] : 0f);
                    gx[at].Should().Be(backInside ? gs[((f - delta) * c + ch) * plane + p] : 0f);
                }
            }
    }

    [Theory]
    [InlineData(6, 8, 3, 4)]
    [InlineData(4, 10, 4, 8)]
    [InlineData(4, 6, 2, 2)]
    [InlineData(3, 3, 1, 8)]
    [InlineData(5, 16, 5, 8)]
    public void Gradients_match_finite_differences(int nt, int c, int clip, int div)
    {
        var x = GradCheck.Param(new Rng(nt * c), nt, c, 2, 3);
        GradCheck.Check(t => Ops.TemporalShift(t[0], clip, div), new[] { x });
    }

    [Fact]
    public void Fixtures_match_the_tsm_reference_rule()
    {
        int count = 0;
        foreach (var fc in Fixtures.Load("conv.json"))
        {
            if (fc.Params.GetProperty("op").GetString() != "temporal_shift") continue;
            count++;
            var x = fc.Tensor("x").RequireGrad();
            var y = Ops.TemporalShift(x, fc.Int("clip_length"), fc.Int("fold_div"));
            Fixtures.AssertClose(y.Data, fc.Tensors["y"].Data, $"{fc.Name} y", 0, 0);
            y.Backward(fc.Tensor("gy"));
            Fixtures.AssertClose(x.Grad!.Data, fc.Tensors["gx"].Data, $"{fc.Name} gx", 0, 0);
        }
        count.Should().Be(4);
    }

    [Fact]
    public void Bad_inputs_name_the_values()
    {
        Invoking(() => Ops.TemporalShift(Tensor.Zeros(7, 8, 2, 2), 3)).Should().Throw<ShapeMismatchException>().WithMessage("*N·T = 7*[7, 8, 2, 2]*clipLength = 3*");
        Invoking(() => Ops.TemporalShift(Tensor.Zeros(6, 8, 2, 2), 3, 1)).Should().Throw<ShapeMismatchException>().WithMessage("*foldDivisor must be ≥ 2*got 1*");
        Invoking(() => Ops.TemporalShift(Tensor.Zeros(6, 8, 2, 2), 0)).Should().Throw<ShapeMismatchException>().WithMessage("*clipLength must be ≥ 1, got 0*");
        Invoking(() => Ops.TemporalShift(Tensor.Zeros(6), 3)).Should().Throw<ShapeMismatchException>().WithMessage("*rank ≥ 2*[6]*");
        var act = () => new Learner.Nn.Modules.TemporalShift(0);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    private static Action Invoking(Func<Tensor> f) => () => f();

    [Fact]
    public void Module_shifts_like_the_op()
    {
        var x = Tensor.Uniform(new Rng(3), -1, 1, 8, 16, 3, 3);
        var m = new Learner.Nn.Modules.TemporalShift(4);
        m.Forward(x).ToArray().Should().Equal(Ops.TemporalShift(x, 4, 8).ToArray());
        m.ParameterCount.Should().Be(0);
    }
}
