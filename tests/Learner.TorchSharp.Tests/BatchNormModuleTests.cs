using Learner.TorchSharp.Encoders;
using TorchSharp;
using static TorchSharp.torch;

namespace Learner.TorchSharp.Tests;

/// <summary><see cref="BatchNormModule"/>: TorchSharp's batch norm, bit for bit, without its temporary scalar.</summary>
public class BatchNormModuleTests
{
    public static TheoryData<int, long[]> Shapes => new()
    {
        { 1, new long[] { 12, 5 } }, { 1, new long[] { 6, 5, 7 } }, { 2, new long[] { 4, 5, 6, 7 } }, { 3, new long[] { 3, 5, 2, 3, 4 } },
    };

    private static nn.Module<torch.Tensor, torch.Tensor> TorchSharpOwn(int dims, long c) =>
        dims switch { 1 => nn.BatchNorm1d(c), 2 => nn.BatchNorm2d(c), _ => nn.BatchNorm3d(c) };

    [TorchSharpTheory]
    [MemberData(nameof(Shapes))]
    public void Outputs_gradients_and_running_statistics_match_TorchSharps_module_bit_for_bit(int dims, long[] shape)
    {
        long c = shape[1];
        using var ours = new BatchNormModule(c, dims);
        using var theirs = TorchSharpOwn(dims, c);
        torch.manual_seed(3);
        using (no_grad())
        {
            using var w = randn(c);
            using var b = randn(c);
            foreach (var m in new[] { (nn.Module)ours, theirs })
            {
                var p = m.named_parameters().ToDictionary(x => x.name, x => x.parameter);
                p["weight"].copy_(w);
                p["bias"].copy_(b);
            }
        }
        ours.named_buffers().Select(x => x.name).Should().Equal(theirs.named_buffers().Select(x => x.name));
        ours.named_parameters().Select(x => x.name).Should().Equal(theirs.named_parameters().Select(x => x.name));
        for (int step = 0; step < 3; step++)
        {
            using var x = randn(shape);
            using var gy = randn(shape);
            using var x1 = x.detach().clone().requires_grad_(true);
            using var x2 = x.detach().clone().requires_grad_(true);
            using var y1 = ours.call(x1);
            using var y2 = theirs.call(x2);
            Same(y1, y2, $"output, training step {step}");
            using var l1 = (y1 * gy).sum();
            using var l2 = (y2 * gy).sum();
            l1.backward();
            l2.backward();
            Same(x1.grad!, x2.grad!, $"input gradient, step {step}");
        }
        var g1 = ours.named_parameters().ToDictionary(x => x.name, x => x.parameter.grad!);
        var g2 = theirs.named_parameters().ToDictionary(x => x.name, x => x.parameter.grad!);
        Same(g1["weight"], g2["weight"], "weight gradient");
        Same(g1["bias"], g2["bias"], "bias gradient");
        var s1 = ours.named_buffers().ToDictionary(x => x.name, x => x.buffer);
        var s2 = theirs.named_buffers().ToDictionary(x => x.name, x => x.buffer);
        foreach (var name in s2.Keys) Same(s1[name], s2[name], name);
        s1["num_batches_tracked"].ToInt64().Should().Be(3);
        ours.eval();
        theirs.eval();
        using (no_grad())
        {
            using var x = randn(shape);
            using var e1 = ours.call(x);
            using var e2 = theirs.call(x);
            Same(e1, e2, "evaluation output");
        }
    }

    [TorchSharpFact]
    public void Counting_training_batches_survives_garbage_collections_in_the_middle_of_the_call()
    {
        // TorchSharp's own module failed in its count's add_ in about one of 16 benchmark runs (a freed alpha read as a
        // floating-point scalar); this stress did not reproduce that within 2 × 10 s on its module, so it guards the
        // replacement rather than proving the cause: a second thread collects and finalises without pause while
        // training-mode forwards run for a bounded time.
        using var bn = new BatchNormModule(8, 2);
        using var x = randn(4, 8, 3, 3);
        using var _ = no_grad();
        var (calls, error) = CollectionStress.Run(TimeSpan.FromSeconds(2), () =>
        {
            using var y = bn.call(x);
        });
        error.Should().BeNull($"no scalar may be freed during a call ({calls} calls)");
        bn.named_buffers().Single(b => b.name == "num_batches_tracked").buffer.ToInt64().Should().Be(calls);
        calls.Should().BeGreaterThan(100);
    }

    [TorchSharpFact]
    public void An_input_of_the_wrong_rank_is_refused_with_its_shape()
    {
        using var bn = new BatchNormModule(5, 2);
        using var x = randn(5, 7);
        FluentActions.Invoking(() => bn.call(x)).Should().Throw<ArgumentException>().WithMessage("*BatchNorm2d*4-D*2-D (5×7)*");
        FluentActions.Invoking(() => new BatchNormModule(5, 4)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*spatial axes*");
    }

    private static void Same(torch.Tensor a, torch.Tensor b, string what)
    {
        a.shape.Should().Equal(b.shape, what);
        if (a.dtype == ScalarType.Int64)
        {
            a.data<long>().ToArray().Should().Equal(b.data<long>().ToArray(), what);
            return;
        }
        var x = a.detach().contiguous().data<float>().ToArray();
        var y = b.detach().contiguous().data<float>().ToArray();
        for (int i = 0; i < x.Length; i++)
            BitConverter.SingleToInt32Bits(x[i]).Should().Be(BitConverter.SingleToInt32Bits(y[i]), "{0}, element {1}", what, i);
    }
}
