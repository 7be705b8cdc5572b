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
}
