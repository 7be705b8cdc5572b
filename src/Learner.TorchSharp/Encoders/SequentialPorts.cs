using System.Globalization;
using Learner.Encoders;
using TorchSharp;
using static TorchSharp.torch;

namespace Learner.TorchSharp.Encoders;

/// <summary>
/// TorchSharp ports of Learner's sequential encoders — <see cref="Cnn2dEncoder"/>, <see cref="VolumeEncoder"/> and
/// <see cref="MlpEncoder"/> — built layer for layer in the same order, so the parameter names (<c>0.weight</c>,
/// <c>1.running_var</c>, …, the index of each layer in the Sequential) and layouts are the managed ones.
/// </summary>
public static class SequentialPorts
{
    /// <summary>The convolutional encoder: per stage a 3×3 (or 3×3×3) convolution without bias (stride 1 in the first
    /// stage, 2 after), batch norm and ReLU; then global average pooling and a linear layer to D.</summary>
    /// <param name="options">Settings (validated).</param>
    /// <param name="volumetric">3-D convolutions for volumes instead of 2-D for images.</param>
    /// <returns>The network, mapping <c>[B, C, …]</c> to <c>[B, D]</c>.</returns>
    public static nn.Module<Tensor, Tensor> Conv(ConvEncoderOptions options, bool volumetric)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var layers = new List<nn.Module<Tensor, Tensor>>();
        int c = options.InputChannels;
        for (int s = 0; s < options.Widths.Length; s++)
        {
            int stride = s == 0 ? 1 : 2, w = options.Widths[s];
            layers.Add(volumetric ? nn.Conv3d(c, w, 3, stride: stride, padding: 1, bias: false) : nn.Conv2d(c, w, 3, stride: stride, padding: 1, bias: false));
            layers.Add(new BatchNormModule(w, volumetric ? 3 : 2));
            layers.Add(nn.ReLU());
            c = w;
        }
        layers.Add(new GlobalAvgPoolModule());
        layers.Add(nn.Linear(c, options.EmbeddingDimension));
        return Indexed(layers);
    }

    /// <summary>The MLP: per hidden width a linear layer, batch norm (optional), ReLU and dropout (when set); then a linear
    /// layer to D.</summary>
    /// <param name="options">Settings (validated).</param>
    /// <returns>The network, mapping <c>[B, F]</c> to <c>[B, D]</c>.</returns>
    public static nn.Module<Tensor, Tensor> Mlp(MlpEncoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var layers = new List<nn.Module<Tensor, Tensor>>();
        int inF = options.InputFeatures;
        foreach (int h in options.Hidden)
        {
            layers.Add(nn.Linear(inF, h));
            if (options.BatchNorm) layers.Add(new BatchNormModule(h, 1));
            layers.Add(nn.ReLU());
            if (options.Dropout > 0) layers.Add(nn.Dropout(options.Dropout));
            inF = h;
        }
        layers.Add(nn.Linear(inF, options.EmbeddingDimension));
        return Indexed(layers);
    }

    /// <summary>A projection head (Linear–ReLU–Linear as <c>head.0</c>/<c>head.2</c>) and/or L2 normalisation after a
    /// backbone registered as <c>backbone</c>: the port of Learner's <see cref="ProjectedModule"/>.</summary>
    /// <param name="backbone">The backbone, producing <c>[B, backboneDimension]</c>.</param>
    /// <param name="backboneDimension">Width of the backbone's output.</param>
    /// <param name="projectionDimension">Output width of the head, or 0 for none.</param>
    /// <param name="normalize">L2-normalise the output.</param>
    /// <returns>The wrapped network.</returns>
    public static nn.Module<Tensor, Tensor> Projected(nn.Module<Tensor, Tensor> backbone, int backboneDimension, int projectionDimension, bool normalize)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        var parts = new List<(string, nn.Module<Tensor, Tensor>)> { ("backbone", backbone) };
        if (projectionDimension > 0)
            parts.Add(("head", nn.Sequential(("0", nn.Linear(backboneDimension, backboneDimension)), ("1", nn.ReLU()), ("2", nn.Linear(backboneDimension, projectionDimension)))));
        if (normalize) parts.Add(("l2", new L2NormalizeModule()));
        return nn.Sequential(parts);
    }

    private static nn.Module<Tensor, Tensor> Indexed(List<nn.Module<Tensor, Tensor>> layers) =>
        nn.Sequential(layers.Select((m, i) => (i.ToString(CultureInfo.InvariantCulture), m)));
}
