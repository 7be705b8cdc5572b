using Learner.Encoders;
using Learner.Nn;

namespace Learner.Tests.Encoders;

public class EncoderFactoryTests
{
    [Theory]
    [InlineData("mlp", new[] { 2, 3, 4 })]
    [InlineData("cnn2d", new[] { 2, 12, 12 })]
    [InlineData("tsm-resnet", new[] { 2, 4, 12, 12 })]
    [InlineData("volume", new[] { 2, 8, 8, 8 })]
    public void Creates_each_architecture_with_head_and_normalisation(string architecture, int[] inputShape)
    {
        var options = new EncoderOptions { Architecture = architecture, EmbeddingDimension = 6, ClipLength = 4, WidthMultiplier = 0.5, InputFeatures = 12 };
        var plain = EncoderFactory.Create(options);
        plain.EmbeddingDimension.Should().Be(6);
        var x = Tensor.Normal(new Rng(1), 0, 1, inputShape);
        var e = new float[12];
        plain.Forward(x, e, requiresGrad: false);

        var headed = EncoderFactory.Create(options with { ProjectionDimension = 3, NormalizeOutput = true });
        headed.EmbeddingDimension.Should().Be(3);
        var z = new float[6];
        headed.Forward(x, z, requiresGrad: true);
        headed.Backward(Enumerable.Repeat(0.5f, 6).ToArray());
        for (int i = 0; i < 2; i++)
            Math.Sqrt(z.Skip(3 * i).Take(3).Sum(v => (double)v * v)).Should().BeApproximately(1, 1e-5);
    }

    [Fact]
    public void Unknown_architecture_lists_the_allowed_ones()
    {
        FluentActions.Invoking(() => EncoderFactory.Create(new EncoderOptions { Architecture = "vit" }))
            .Should().Throw<ArgumentException>().WithMessage("*'vit'*mlp, cnn2d, tsm-resnet, volume*");
        FluentActions.Invoking(() => EncoderFactory.Create(new EncoderOptions { Architecture = "mlp" }))
            .Should().Throw<ArgumentException>().WithMessage("*InputFeatures*");
    }

    [Fact]
    public void The_resnet18_preset_is_the_papers_backbone_on_both_stems_settings()
    {
        var small = EncoderFactory.TsmResNetOptions(new EncoderOptions());
        small.ImageNetStem.Should().BeFalse();
        small.Widths.Should().Equal(8, 16, 32, 64);

        var options = new EncoderOptions { Preset = "resnet18", EmbeddingDimension = 16, ClipLength = 2, WidthMultiplier = 0.125, Seed = 3 };
        var resnet = EncoderFactory.TsmResNetOptions(options);
        resnet.ImageNetStem.Should().BeTrue();
        resnet.Widths.Should().Equal(8, 16, 32, 64);
        (resnet.ClipLength, resnet.EmbeddingDimension, resnet.Seed).Should().Be((2, 16, 3UL));
        EncoderFactory.TsmResNetOptions(options with { WidthMultiplier = 1 }).Widths.Should().Equal(64, 128, 256, 512);

        // It builds and runs: 2 clips of 2 frames of 32×32, the stem halving twice (16², then 8²).
        var encoder = EncoderFactory.Create(options);
        var e = new float[2 * 16];
        encoder.Forward(Tensor.Normal(new Rng(1), 0, 1, 2, 2, 32, 32), e, requiresGrad: true);
        encoder.Backward(Enumerable.Repeat(0.1f, e.Length).ToArray());
        e.Should().OnlyContain(v => float.IsFinite(v));
    }

    [Fact]
    public void A_bad_preset_is_refused_naming_the_allowed_ones()
    {
        FluentActions.Invoking(() => EncoderFactory.Create(new EncoderOptions { Preset = "resnet50" }))
            .Should().Throw<ArgumentException>().WithMessage("*'resnet50'*small, resnet18*");
        FluentActions.Invoking(() => EncoderFactory.Create(new EncoderOptions { Architecture = "cnn2d", Preset = "resnet18" }))
            .Should().Throw<ArgumentException>().WithMessage("*'resnet18'*tsm-resnet*'cnn2d'*");
    }

    [Fact]
    public void Cnn2d_reads_a_clips_frames_as_input_channels()
    {
        var options = new EncoderOptions { Architecture = "cnn2d", InputChannels = 8, EmbeddingDimension = 6, WidthMultiplier = 0.5, Seed = 4 };
        EncoderFactory.Cnn2dOptions(options).InputChannels.Should().Be(8);
        var encoder = (ModuleEncoder)EncoderFactory.Create(options);
        encoder.Name.Should().Be("cnn2d[8ch:8-16-32]");
        // The first convolution takes the 8 frames as channels; a one-channel encoder keeps its old name.
        encoder.Module.StateEntries().First().Value.Shape.ToArray().Should().Equal(8, 8, 3, 3);
        EncoderFactory.Create(options with { InputChannels = 1 }).Name.Should().Be("cnn2d[8-16-32]");

        var e = new float[2 * 6];
        encoder.Forward(Tensor.Normal(new Rng(1), 0, 1, 2, 8, 12, 12), e, requiresGrad: true);
        encoder.Backward(Enumerable.Repeat(0.1f, e.Length).ToArray());
        e.Should().OnlyContain(v => float.IsFinite(v));
        // Frames of the wrong count, or single frames, are refused naming the shape.
        FluentActions.Invoking(() => encoder.Forward(Tensor.Zeros(2, 4, 12, 12), e, false))
            .Should().Throw<ShapeMismatchException>().WithMessage("*[B, 8, H, W]*[2, 4, 12, 12]*");
        FluentActions.Invoking(() => encoder.Forward(Tensor.Zeros(2, 12, 12), e, false))
            .Should().Throw<ShapeMismatchException>().WithMessage("*[2, 12, 12]*");

        var volume = EncoderFactory.Create(new EncoderOptions { Architecture = "volume", InputChannels = 2, EmbeddingDimension = 5, WidthMultiplier = 0.5 });
        volume.Name.Should().Be("volume3d[2ch:4-8-16-32]");
        volume.Forward(Tensor.Normal(new Rng(2), 0, 1, 2, 2, 8, 8, 8), new float[10], requiresGrad: false);
    }

    [Theory]
    [InlineData("cnn2d", 0, "*InputChannels must be ≥ 1, got 0*")]
    [InlineData("tsm-resnet", 8, "*InputChannels = 8*\"cnn2d\" and \"volume\" only*'tsm-resnet'*")]
    [InlineData("mlp", 2, "*InputChannels = 2*'mlp'*")]
    public void Bad_input_channels_are_refused_naming_the_value(string architecture, int channels, string message)
    {
        FluentActions.Invoking(() => EncoderFactory.Create(new EncoderOptions { Architecture = architecture, InputChannels = channels, InputFeatures = 4 }))
            .Should().Throw<ArgumentException>().WithMessage(message).Which.ParamName.Should().Be("InputChannels");
    }
}
