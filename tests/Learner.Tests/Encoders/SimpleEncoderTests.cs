using Learner.Encoders;
using Learner.Nn;

namespace Learner.Tests.Encoders;

public class SimpleEncoderTests
{
    [Fact]
    public void Mlp_seam_gradients_match_finite_differences_in_double()
    {
        var enc = new MlpEncoder(new MlpEncoderOptions { InputFeatures = 6, Hidden = new[] { 7 }, EmbeddingDimension = 3, BatchNorm = false, Seed = 2 });
        var rng = new Rng(3);
        var x = Tensor.Normal(rng, 0, 1, 5, 6);
        var w = new float[15];
        rng.FillUniform(w, -1, 1);
        enc.CreateOptimizer(new EncoderOptimizerOptions()).ZeroGrad();
        enc.Forward(x, new float[15], requiresGrad: true);
        enc.Backward(w);
        foreach (var (name, p) in enc.Module.NamedParameters())
        {
            var g = p.Grad!.ToArray();
            for (int i = 0; i < p.Size; i++)
            {
                float orig = p.Data[i];
                double Obj(float v) { p.Data[i] = v; var y = new float[15]; enc.Forward(x, y, false); double s = 0; for (int k = 0; k < 15; k++) s += (double)y[k] * w[k]; return s; }
                double numeric = (Obj(orig + 1e-3f) - Obj(orig - 1e-3f)) / 2e-3;
                p.Data[i] = orig;
                Math.Abs(numeric - g[i]).Should().BeLessThan(3e-3 + 2e-2 * Math.Abs(numeric), $"{name}[{i}]");
            }
        }
    }

    [Fact]
    public void Cnn2d_and_volume_encoders_embed_their_payloads()
    {
        var cnn = new Cnn2dEncoder(new ConvEncoderOptions { Widths = new[] { 4, 8 }, EmbeddingDimension = 6 });
        var e = new float[3 * 6];
        cnn.Forward(Tensor.Normal(new Rng(1), 0, 1, 3, 17, 15), e, requiresGrad: false);
        e.Should().OnlyContain(v => float.IsFinite(v));
        cnn.Module.StateEntries().Select(p => p.Key).Should().Contain(new[] { "0.weight", "1.running_mean", "7.weight" });

        var vol = new VolumeEncoder(VolumeEncoder.Small with { EmbeddingDimension = 4 });
        var v = new float[2 * 4];
        vol.Forward(Tensor.Normal(new Rng(2), 0, 1, 2, 16, 16, 16), v, requiresGrad: true);
        vol.Backward(Enumerable.Repeat(1f, 8).ToArray());
        vol.Module.Parameters().First().Grad!.ToArray().Should().Contain(g => g != 0);
    }

    [Fact]
    public void Encoders_are_deterministic_by_seed()
    {
        var x = Tensor.Normal(new Rng(4), 0, 1, 2, 12, 12);
        float[] Embed(ulong seed) { var enc = new Cnn2dEncoder(new ConvEncoderOptions { Widths = new[] { 4, 4 }, EmbeddingDimension = 3, Seed = seed }); var e = new float[6]; enc.Forward(x, e, false); return e; }
        Embed(5).Should().Equal(Embed(5));
        Embed(5).Should().NotEqual(Embed(6));
    }

    [Fact]
    public void Bad_options_and_payloads_are_named()
    {
        FluentActions.Invoking(() => new MlpEncoder(new MlpEncoderOptions { InputFeatures = 0 })).Should().Throw<ArgumentException>().WithMessage("*InputFeatures*");
        FluentActions.Invoking(() => new MlpEncoder(new MlpEncoderOptions { InputFeatures = 3, Dropout = 1f })).Should().Throw<ArgumentException>().WithMessage("*Dropout*");
        FluentActions.Invoking(() => new Cnn2dEncoder(new ConvEncoderOptions { Widths = Array.Empty<int>() })).Should().Throw<ArgumentException>().WithMessage("*Widths*");
        var vol = new VolumeEncoder(VolumeEncoder.Small with { EmbeddingDimension = 2 });
        FluentActions.Invoking(() => vol.Forward(Tensor.Zeros(1, 8, 8), new float[2], false)).Should().Throw<ShapeMismatchException>().WithMessage("*[B, D, H, W]*[1, 8, 8]*");
    }
}
