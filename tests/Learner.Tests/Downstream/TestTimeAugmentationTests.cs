using Learner.Data;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Nn;

namespace Learner.Tests.Downstream;

/// <summary><see cref="TestTimeAugmentation.Flip"/>: each embedding is the mean of the scan's and its mirror image's,
/// computed here from two plain passes over the scans and their mirrored copies; feature vectors are refused.</summary>
public sealed class TestTimeAugmentationTests
{
    private static LongitudinalDataset Frames(int patients, int height, int width, ulong seed)
    {
        var rng = new Rng(seed);
        var scans = new List<Scan>();
        for (int p = 0; p < patients; p++)
            for (int v = 0; v < 2; v++)
                scans.Add(new Scan($"s{p}-{v}", $"p{p}", v, 10 * p + v, payload: new TensorPayload(Tensor.Normal(rng, 0, 1, height, width))));
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    private static LongitudinalDataset Mirrored(LongitudinalDataset d) =>
        new(d.Scans.Select(s => s.WithPayload(new TensorPayload(MirrorByHand(s.LoadPayload())))), d.HigherIsHealthier, d.Patients.Select(p => p.Id));

    /// <summary>The last axis reversed element by element (the reference for <see cref="Augment.Flip"/>).</summary>
    private static Tensor MirrorByHand(Tensor x)
    {
        int h = x.Dim(0), w = x.Dim(1);
        var y = new float[h * w];
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
                y[i * w + j] = x[i, w - 1 - j];
        return new Tensor(y, h, w);
    }

    private static IEncoder Cnn(int seed) => EncoderFactory.Create(new EncoderOptions { Architecture = "cnn2d", EmbeddingDimension = 6, WidthMultiplier = 0.25, Seed = (ulong)seed });

    [Fact]
    public void Flip_is_the_mean_of_the_plain_and_the_mirrored_embeddings_in_any_batch_size()
    {
        var data = Frames(5, 9, 7, 3);
        var encoder = Cnn(1);
        var plain = Embedder.EmbedAll(encoder, data, 4);
        var mirrored = Embedder.EmbedAll(encoder, Mirrored(data), 4);
        var expected = plain.Zip(mirrored, (a, b) => 0.5f * (a + b)).ToArray();
        foreach (int batch in new[] { 1, 3, 64 })
        {
            var flip = Embedder.EmbedAll(encoder, data, TestTimeAugmentation.Flip, batch);
            flip.Should().HaveCount(expected.Length);
            for (int i = 0; i < expected.Length; i++) flip[i].Should().BeApproximately(expected[i], 1e-6f, $"element {i}, batch {batch}");
        }
        expected.Should().NotEqual(plain, "the encoder is not mirror-invariant, so the test would see a missing mirror pass");
        Embedder.EmbedAll(encoder, data, TestTimeAugmentation.None, 4).Should().Equal(plain);
        encoder.Training.Should().BeTrue("the encoder's mode is restored");
    }

    [Fact]
    public void Augment_flip_reverses_the_last_axis_and_is_its_own_inverse()
    {
        var x = Tensor.Normal(new Rng(5), 0, 1, 4, 6);
        Augment.Flip(x).ToArray().Should().Equal(MirrorByHand(x).ToArray());
        Augment.Flip(Augment.Flip(x)).ToArray().Should().Equal(x.ToArray());
        x.ToArray().Should().Equal(Tensor.Normal(new Rng(5), 0, 1, 4, 6).ToArray(), "the input is not modified");
    }

    [Fact]
    public void Flip_on_feature_vectors_and_undefined_values_are_refused_naming_them()
    {
        var scans = Enumerable.Range(0, 4).Select(i => new Scan($"f{i}", $"p{i / 2}", i % 2, i, payload: new TensorPayload(Tensor.FromSpan(new float[] { i, 1, 2 }, 3)))).ToList();
        var features = new LongitudinalDataset(scans, higherIsHealthier: true);
        var mlp = EncoderFactory.Create(new EncoderOptions { Architecture = "mlp", InputFeatures = 3, EmbeddingDimension = 4 });
        FluentActions.Invoking(() => Embedder.EmbedAll(mlp, features, TestTimeAugmentation.Flip))
            .Should().Throw<ArgumentException>().WithMessage("*scan 'f0' is a feature vector of shape [3]*TestTimeAugmentation.None*");
        FluentActions.Invoking(() => Embedder.EmbedAll(mlp, features, (TestTimeAugmentation)7))
            .Should().Throw<ArgumentOutOfRangeException>().Which.ParamName.Should().Be("augmentation");

        FluentActions.Invoking(() => new ExperimentOptions { TestTimeAugmentation = (TestTimeAugmentation)7 }.Validate())
            .Should().Throw<ArgumentException>().Which.ParamName.Should().Be("TestTimeAugmentation");
        FluentActions.Invoking(() => new ExperimentOptions { TestTimeAugmentation = TestTimeAugmentation.Flip, Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 3 } }.Validate())
            .Should().Throw<ArgumentException>().WithMessage("*mlp*TestTimeAugmentation.None*");
    }
}
