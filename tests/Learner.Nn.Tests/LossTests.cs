using Learner.Nn;

namespace Learner.Nn.Tests;

public class LossTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 3)]
    [InlineData(9, 17)]
    public void CrossEntropy_matches_finite_differences_with_and_without_weights(int n, int c)
    {
        var rng = new Rng(n * 31 + c);
        var logits = Tensor.Uniform(rng, -3, 3, n, c).RequireGrad();
        var targets = Enumerable.Range(0, n).Select(i => rng.NextInt(c)).ToArray();
        var weights = Enumerable.Range(0, c).Select(i => 0.5f + rng.NextSingle()).ToArray();
        GradCheck.Check(x => Ops.CrossEntropy(x[0], targets), new[] { logits });
        GradCheck.Check(x => Ops.CrossEntropy(x[0], targets, weights), new[] { logits });
    }

    [Fact]
    public void CrossEntropy_equals_the_weighted_mean_of_negative_log_softmax()
    {
        var rng = new Rng(4);
        var logits = Tensor.Uniform(rng, -2, 2, 6, 4);
        int[] t = { 0, 3, 1, 1, 2, 3 };
        float[] w = { 1f, 2f, 0.5f, 3f };
        var logp = Ops.LogSoftmax(logits, 1);
        double num = 0, den = 0;
        for (int i = 0; i < 6; i++) { num -= w[t[i]] * logp[i, t[i]]; den += w[t[i]]; }
        Ops.CrossEntropy(logits, t, w).Item().Should().BeApproximately((float)(num / den), 1e-6f);
    }

    [Fact]
    public void CrossEntropy_is_stable_for_huge_logits()
    {
        var logits = Tensor.FromSpan(new float[] { 1e30f, -1e30f, 0f, 1e30f }, 2, 2);
        var v = Ops.CrossEntropy(logits, new[] { 1, 1 }).Item();
        float.IsFinite(v).Should().BeTrue();
    }

    [Fact]
    public void CrossEntropy_names_a_bad_target()
    {
        FluentActions.Invoking(() => Ops.CrossEntropy(Tensor.Zeros(3, 2), new[] { 0, 2, 1 }))
            .Should().Throw<ShapeMismatchException>().WithMessage("*target 2 at row 1*");
    }

    [Fact]
    public void MseLoss_matches_finite_differences()
    {
        var rng = new Rng(8);
        var a = GradCheck.Param(rng, 4, 3);
        var b = GradCheck.Param(rng, 4, 3);
        GradCheck.Check(x => Ops.MseLoss(x[0], x[1]), new[] { a, b });
    }
}
