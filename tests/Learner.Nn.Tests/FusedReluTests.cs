using Learner.Nn;
using Learner.Nn.Modules;

namespace Learner.Nn.Tests;

/// <summary>
/// The fused relu ops (<see cref="Ops.BatchNormRelu"/>, <see cref="BatchNorm.ForwardRelu"/>, <see cref="Ops.AddRelu"/>)
/// against the ops they replace, composed: the same bits forward and backward on every kernel path, and gradients
/// against finite differences.
/// </summary>
public class FusedReluTests
{
    /// <summary>Shapes reaching each batch-norm kernel path: one value per plane ([N, C]), planes shorter than a vector,
    /// planes of whole vectors with a remainder, and a tensor large enough to be split over the cores.</summary>
    public static TheoryData<int[]> NormShapes => new()
    {
        new[] { 6, 5 },
        new[] { 4, 3, 2, 2 },
        new[] { 3, 4, 5, 7 },
        new[] { 8, 16, 32, 33 },
        new[] { 2, 3, 2, 3, 4 },
    };

    private static (float[] Output, float[] Gx, float[] Gw, float[] Gb, float[] RunningMean, float[] RunningVar) RunNorm(int[] shape, bool training, bool fused, bool affine)
    {
        var rng = new Rng(shape.Sum() * 7 + (training ? 1 : 0));
        int c = shape[1];
        var x = Tensor.Normal(rng, 0.3f, 1.2f, shape).RequireGrad();
        var w = affine ? Tensor.Uniform(rng, -1.5f, 1.5f, c).RequireGrad() : null;
        var b = affine ? Tensor.Uniform(rng, -0.5f, 0.5f, c).RequireGrad() : null;
        var rm = Tensor.Uniform(rng, -0.5f, 0.5f, c);
        var rv = Tensor.Uniform(rng, 0.5f, 2f, c);
        var g = Tensor.Normal(rng, 0f, 1f, shape);
        var y = fused ? Ops.BatchNormRelu(x, w, b, rm, rv, training) : Ops.Relu(Ops.BatchNorm(x, w, b, rm, rv, training));
        Ops.Sum(Ops.Mul(y, g)).Backward();
        return (y.ToArray(), x.Grad!.ToArray(), w?.Grad!.ToArray() ?? [], b?.Grad!.ToArray() ?? [], rm.ToArray(), rv.ToArray());
    }

    [Theory]
    [MemberData(nameof(NormShapes))]
    public void BatchNormRelu_is_relu_of_batch_norm_bit_for_bit(int[] shape)
    {
        foreach (bool training in new[] { true, false })
            foreach (bool affine in new[] { true, false })
            {
                var composed = RunNorm(shape, training, fused: false, affine);
                var fused = RunNorm(shape, training, fused: true, affine);
                string because = $"shape {string.Join('x', shape)}, training {training}, affine {affine}";
                fused.Output.Should().Equal(composed.Output, because);
                fused.Output.Should().Contain(0f, "the case must cut some values off ({0})", because);
                fused.Gx.Should().Equal(composed.Gx, because);
                fused.Gw.Should().Equal(composed.Gw, because);
                fused.Gb.Should().Equal(composed.Gb, because);
                fused.RunningMean.Should().Equal(composed.RunningMean, because);
                fused.RunningVar.Should().Equal(composed.RunningVar, because);
            }
    }

    [Fact]
    public void The_module_forward_with_relu_counts_the_batch_and_matches_relu_of_its_forward()
    {
        var rng = new Rng(3);
        var x = Tensor.Normal(rng, 0f, 1f, 4, 3, 5, 5);
        var plain = new BatchNorm2d(3);
        var fused = new BatchNorm2d(3);
        var expected = Ops.Relu(plain.Forward(x)).ToArray();
        fused.ForwardRelu(x).ToArray().Should().Equal(expected);
        fused.NumBatchesTracked!.Item().Should().Be(1f);
        fused.RunningMean!.ToArray().Should().Equal(plain.RunningMean!.ToArray());
        fused.RunningVar!.ToArray().Should().Equal(plain.RunningVar!.ToArray());
        fused.Train(false);
        plain.Train(false);
        fused.ForwardRelu(x).ToArray().Should().Equal(Ops.Relu(plain.Forward(x)).ToArray());
        var act = () => fused.ForwardRelu(Tensor.Zeros(4, 2, 5, 5));
        act.Should().Throw<ShapeMismatchException>().WithMessage("*2 channels*expected 3*");
    }

    /// <summary>Per channel, values symmetric about their mean and none near it, so that the normalised values (times a
    /// weight of at least 0.5, plus a small bias) stay at least 0.1 from relu's kink under the finite differences.</summary>
    private static Tensor AwayFromTheKink(Rng rng, int n, int c, int inner)
    {
        var levels = new[] { -1.6f, -1.0f, -0.4f, 0.4f, 1.0f, 1.6f };
        var data = new float[n * c * inner];
        for (int ch = 0; ch < c; ch++)
        {
            int count = n * inner;
            var values = Enumerable.Range(0, count).Select(i => levels[i % levels.Length] * (1 + 0.01f * (i / levels.Length))).ToArray();
            for (int i = count - 1; i > 0; i--) { int j = rng.NextInt(i + 1); (values[i], values[j]) = (values[j], values[i]); }
            for (int i = 0; i < count; i++) data[(i / inner * c + ch) * inner + i % inner] = values[i];
        }
        return Tensor.FromSpan(data, n, c, inner).RequireGrad();
    }

    [Theory]
    [InlineData(6, 2, 1)]
    [InlineData(3, 2, 4)]
    [InlineData(2, 3, 6)]
    public void BatchNormRelu_gradients_match_finite_differences(int n, int c, int inner)
    {
        var rng = new Rng(n * 100 + c * 10 + inner);
        var x = AwayFromTheKink(rng, n, c, inner);
        var w = Tensor.Uniform(rng, 0.5f, 1.5f, c).RequireGrad();
        var b = Tensor.Uniform(rng, -0.05f, 0.05f, c).RequireGrad();
        var rm = Tensor.Zeros(c);
        var rv = Tensor.Ones(c);
        foreach (bool training in new[] { true, false })
        {
            using (Autograd.NoGrad())
                Ops.BatchNormRelu(x, w, b, rm, rv, training).ToArray().Should().Contain(0f).And.Contain(v => v > 0.1f);
            GradCheck.Check(t => Ops.BatchNormRelu(t[0], t[1], t[2], rm, rv, training, momentum: 0f), new[] { x, w, b });
        }
    }

    private static (float[] Output, float[] Ga, float[] Gb) RunAdd(float[] a, float[] b, bool fused, bool bothNodes)
    {
        var ta = Tensor.FromSpan(a, a.Length).RequireGrad();
        var tb = Tensor.FromSpan(b, b.Length).RequireGrad();
        // Through one more op each, so that the gradients pass through the graph's accumulation, not only to leaves.
        var ia = bothNodes ? Ops.Mul(ta, 1f) : ta;
        var ib = bothNodes ? Ops.Mul(tb, 1f) : tb;
        var y = fused ? Ops.AddRelu(ia, ib) : Ops.Relu(Ops.Add(ia, ib));
        var g = Tensor.Normal(new Rng(a.Length), 0f, 1f, a.Length);
        Ops.Sum(Ops.Mul(y, g)).Backward();
        return (y.ToArray(), ta.Grad!.ToArray(), tb.Grad!.ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(37)]
    [InlineData(300_001)]
    public void AddRelu_is_relu_of_add_bit_for_bit_with_ties_signed_zeros_and_nan(int n)
    {
        var rng = new Rng(n);
        var a = Tensor.Normal(rng, 0f, 1f, n).ToArray();
        var b = Tensor.Normal(rng, 0f, 1f, n).ToArray();
        for (int i = 0; i < n; i += 5) b[i] = -a[i];                  // sums of exactly +0
        for (int i = 1; i < n; i += 11) { a[i] = -0f; b[i] = -0f; }   // a sum of −0, which relu keeps
        for (int i = 2; i < n; i += 13) a[i] = float.NaN;
        foreach (bool bothNodes in new[] { false, true })
        {
            var composed = RunAdd(a, b, fused: false, bothNodes);
            var fused = RunAdd(a, b, fused: true, bothNodes);
            fused.Output.Select(BitConverter.SingleToInt32Bits).Should().Equal(composed.Output.Select(BitConverter.SingleToInt32Bits));
            fused.Ga.Select(BitConverter.SingleToInt32Bits).Should().Equal(composed.Ga.Select(BitConverter.SingleToInt32Bits));
            fused.Gb.Select(BitConverter.SingleToInt32Bits).Should().Equal(composed.Gb.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void AddRelu_broadcasts_as_the_composed_ops_and_sums_a_shared_input_twice()
    {
        var rng = new Rng(5);
        var a = Tensor.Normal(rng, 0f, 1f, 3, 4).RequireGrad();
        var bias = Tensor.Normal(rng, 0f, 1f, 4).RequireGrad();
        Ops.Sum(Ops.AddRelu(a, bias)).Backward();
        var (ga, gbias) = (a.Grad!.ToArray(), bias.Grad!.ToArray());
        a.Grad = null; bias.Grad = null;
        Ops.Sum(Ops.Relu(Ops.Add(a, bias))).Backward();
        ga.Should().Equal(a.Grad!.ToArray());
        gbias.Should().Equal(bias.Grad!.ToArray());

        // relu(x + x): the one masked gradient reaches x twice, through a node (accumulated in the graph) and a leaf.
        var x = Tensor.FromSpan(new[] { -1f, 0.5f, 2f, -0.25f }, 4).RequireGrad();
        var h = Ops.Mul(x, 3f);
        Ops.Sum(Ops.AddRelu(h, h)).Backward();
        x.Grad!.ToArray().Should().Equal(0f, 6f, 6f, 0f);
    }

    [Fact]
    public void AddRelu_refuses_shapes_that_do_not_broadcast()
    {
        var act = () => Ops.AddRelu(Tensor.Zeros(3, 4), Tensor.Zeros(3, 5));
        act.Should().Throw<ShapeMismatchException>();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(65)]
    public void AddRelu_gradients_match_finite_differences(int n)
    {
        var rng = new Rng(n + 1);
        // Sums at least 0.1 from zero: a away from it, b a small fraction of a.
        var a = Tensor.FromSpan(Enumerable.Range(0, 2 * n).Select(i => (i % 2 == 0 ? 1f : -1f) * (0.3f + 0.02f * i)).ToArray(), 2, n).RequireGrad();
        var b = Tensor.Uniform(rng, -0.1f, 0.1f, 2, n).RequireGrad();
        GradCheck.Check(t => Ops.AddRelu(t[0], t[1]), new[] { a, b });
    }
}
