using Learner.Encoders;
using Learner.Nn;

namespace Learner.Tests.Encoders;

public class TsmResNetTests
{
    private static TsmResNetOptions Tiny => new()
    {
        ClipLength = 2, Widths = new[] { 8, 8, 16, 16 }, Blocks = new[] { 1, 1, 1, 1 }, EmbeddingDimension = 5, Seed = 3,
    };

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Embeds_clips_to_BxD(int batch)
    {
        var enc = new TsmResNetEncoder(TsmResNetOptions.Small with { EmbeddingDimension = 16 });
        var x = Tensor.Normal(new Rng(1), 0, 1, batch, 8, 32, 32);
        var e = new float[batch * 16];
        enc.Forward(x, e, requiresGrad: false);
        e.Should().OnlyContain(v => float.IsFinite(v));
        enc.ParameterCount.Should().BeGreaterThan(50_000).And.BeLessThan(200_000);
    }

    [Fact]
    public void Parameter_names_follow_torchvision_resnet()
    {
        var names = new TsmResNet(Tiny).StateEntries().Select(p => p.Key).ToList();
        names.Should().Contain(new[]
        {
            "conv1.weight", "bn1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer1.0.bn2.running_var",
            "layer2.0.downsample.0.weight", "layer2.0.downsample.1.bias", "layer4.0.conv2.weight", "fc.weight", "fc.bias",
        });
        names.Should().NotContain("layer1.0.downsample.0.weight", "the first stage keeps width and resolution");
    }

    [Fact]
    public void Temporal_shift_makes_frame_order_matter()
    {
        var enc = new TsmResNetEncoder(Tiny);
        enc.SetTraining(false);
        var x = Tensor.Normal(new Rng(4), 0, 1, 1, 2, 8, 8);
        var swapped = Ops.Concat(new[] { Ops.Slice(x, 1, 1, 1), Ops.Slice(x, 1, 0, 1) }, 1);
        var a = new float[5]; var b = new float[5];
        enc.Forward(x, a, false);
        enc.Forward(swapped, b, false);
        a.Should().NotEqual(b, "with the shift, features mix neighbouring frames asymmetrically");
    }

    [Fact]
    public void Seam_gradients_match_finite_differences()
    {
        var enc = new TsmResNetEncoder(Tiny);
        var rng = new Rng(9);
        var x = Tensor.Normal(rng, 0, 1, 2, 2, 6, 6);
        var w = new float[10];
        rng.FillUniform(w, -1, 1);
        var e = new float[10];
        var module = enc.Module;
        // Evaluation mode: batch norm is then an affine map, so central differences are accurate. In training mode the
        // batch statistics over the tiny 1×1 maps of the last stage (4 values) make the function so curved that
        // finite differences are not a fair reference; batch norm's training-mode backward has its own PyTorch fixtures.
        enc.SetTraining(false);
        module.ZeroGrad();
        enc.Forward(x, e, requiresGrad: true);
        enc.Backward(w);

        double Objective()
        {
            var y = new float[10];
            enc.Forward(x, y, requiresGrad: false);
            double s = 0;
            for (int i = 0; i < 10; i++) s += (double)y[i] * w[i];
            return s;
        }

        int checkedCount = 0;
        foreach (var (name, p) in module.NamedParameters())
        {
            if (!(name is "conv1.weight" or "layer1.0.conv1.weight" or "layer2.0.downsample.0.weight" or "layer3.0.bn1.weight" or "fc.weight")) continue;
            var grad = p.Grad!.ToArray();
            for (int k = 0; k < Math.Min(4, p.Size); k++)
            {
                int i = (k * 7919) % p.Size;
                float orig = p.Data[i];
                const float eps = 2e-3f;
                p.Data[i] = orig + eps; double up = Objective();
                p.Data[i] = orig - eps; double down = Objective();
                p.Data[i] = orig;
                double numeric = (up - down) / (2 * eps);
                Math.Abs(numeric - grad[i]).Should().BeLessThan(2e-2 + 5e-2 * Math.Abs(numeric), $"{name}[{i}]: analytic {grad[i]}, numeric {numeric}");
                checkedCount++;
            }
        }
        checkedCount.Should().Be(20);
    }

    [Fact]
    public void Same_seed_gives_bit_identical_embeddings_and_a_checkpoint_round_trips()
    {
        var x = Tensor.Normal(new Rng(5), 0, 1, 2, 2, 8, 8);
        var a = new float[10]; var b = new float[10]; var c = new float[10];
        var encA = new TsmResNetEncoder(Tiny);
        encA.SetTraining(false);
        encA.Forward(x, a, false);
        new TsmResNetEncoder(Tiny).Also(e => e.SetTraining(false)).Forward(x, b, false);
        a.Should().Equal(b);

        string path = Path.Combine(Path.GetTempPath(), $"tsm-{Guid.NewGuid():N}.safetensors");
        try
        {
            encA.Save(path);
            var other = new TsmResNetEncoder(Tiny with { Seed = 99 });
            other.SetTraining(false);
            other.Load(path);
            other.Forward(x, c, false);
            c.Should().Equal(a);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Bad_options_and_inputs_are_named()
    {
        FluentActions.Invoking(() => new TsmResNet(Tiny with { FoldDivisor = 1 })).Should().Throw<ArgumentException>().WithMessage("*FoldDivisor*");
        FluentActions.Invoking(() => new TsmResNet(Tiny with { Widths = new[] { 1, 2 } })).Should().Throw<ArgumentException>().WithMessage("*Widths*");
        var enc = new TsmResNetEncoder(Tiny);
        FluentActions.Invoking(() => enc.Forward(Tensor.Zeros(1, 3, 8, 8), new float[5], false))
            .Should().Throw<ShapeMismatchException>().WithMessage("*[B, 2, H, W]*[1, 3, 8, 8]*");
    }
}

internal static class FluentExtensions
{
    public static T Also<T>(this T value, Action<T> action) { action(value); return value; }
}
