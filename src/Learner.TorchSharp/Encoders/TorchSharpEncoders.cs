using Learner.Encoders;
using TorchSharp;
using static TorchSharp.torch;
using LModule = Learner.Nn.Modules.Module;

namespace Learner.TorchSharp.Encoders;

/// <summary>
/// The built-in encoders on TorchSharp: the same architectures, names, parameter names and layouts as
/// <see cref="EncoderFactory"/>'s managed ones, so a checkpoint moves between the backends and gives the same embeddings.
/// A fresh encoder also starts from the same weights as the managed one with the same settings (the managed
/// initialisation, seeded by <see cref="EncoderOptions.Seed"/>, is copied in), so runs on the two backends are comparable
/// from the first step.
/// </summary>
public static class TorchSharpEncoders
{
    /// <summary>Creates a built-in encoder on a TorchSharp device.</summary>
    /// <param name="options">The settings, as for <see cref="EncoderFactory.Create"/> (validated; the message names a bad
    /// option).</param>
    /// <param name="device">The device, or null for CUDA when available, else the CPU.</param>
    /// <returns>The encoder (dispose it to release its native memory).</returns>
    public static TorchSharpEncoder Create(EncoderOptions options, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var managed = (ModuleEncoder)EncoderFactory.Create(options);
        nn.Module<Tensor, Tensor> net;
        Func<Tensor, Tensor> prepare;
        switch (options.Architecture)
        {
            case "mlp":
                net = SequentialPorts.Mlp(EncoderFactory.MlpOptions(options));
                prepare = x => x.dim() == 2 ? x.alias() : x.flatten(1);
                break;
            case "cnn2d":
                net = SequentialPorts.Conv(EncoderFactory.Cnn2dOptions(options), volumetric: false);
                prepare = x => AddChannel(x, 3, options.InputChannels, managed.Name, options.InputChannels == 1 ? "[B, H, W] or [B, 1, H, W]" : $"[B, {options.InputChannels}, H, W]");
                break;
            case "volume":
                net = SequentialPorts.Conv(EncoderFactory.VolumeOptions(options), volumetric: true);
                prepare = x => AddChannel(x, 4, options.InputChannels, managed.Name, options.InputChannels == 1 ? "[B, D, H, W] or [B, 1, D, H, W]" : $"[B, {options.InputChannels}, D, H, W]");
                break;
            default:
                var resnet = new TsmResNetModule(EncoderFactory.TsmResNetOptions(options));
                net = resnet;
                prepare = x => resnet.CheckInput(x).alias();
                break;
        }
        if (options.ProjectionDimension > 0 || options.NormalizeOutput)
            net = SequentialPorts.Projected(net, options.EmbeddingDimension, options.ProjectionDimension, options.NormalizeOutput);
        try
        {
            CopyState(managed.Module, net);
        }
        catch
        {
            net.Dispose();
            throw;
        }
        return new TorchSharpEncoder(net, managed.EmbeddingDimension, managed.Name, device, prepare);
    }

    /// <summary>Copies every parameter and buffer of a managed module into the TorchSharp module's entry of the same name
    /// (integer buffers such as <c>num_batches_tracked</c> are converted).</summary>
    /// <param name="source">The managed module.</param>
    /// <param name="target">The TorchSharp module (any device).</param>
    /// <exception cref="InvalidOperationException">The names or shapes differ; the message lists each difference.</exception>
    public static void CopyState(LModule source, nn.Module target)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        var from = source.StateEntries().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var to = target.state_dict();
        var problems = new List<string>();
        foreach (var (key, t) in to)
        {
            if (!from.TryGetValue(key, out var s)) { problems.Add($"missing in the managed module: {key} {TorchOps.Shape(t)}"); continue; }
            if (!s.Shape.ToArray().Select(v => (long)v).SequenceEqual(t.shape))
                problems.Add($"{key}: managed {Learner.Nn.Tensor.FormatShape(s.Shape)}, TorchSharp {TorchOps.Shape(t)}");
        }
        foreach (var key in from.Keys)
            if (!to.ContainsKey(key)) problems.Add($"missing in the TorchSharp module: {key}");
        if (problems.Count > 0)
            throw new InvalidOperationException("The TorchSharp port does not match the managed module:" + Environment.NewLine + "  " + string.Join(Environment.NewLine + "  ", problems));
        using var _ = no_grad();
        foreach (var (key, t) in to)
        {
            using var host = tensor(from[key].ToArray(), t.shape);
            using var converted = host.to(t.dtype);
            t.copy_(converted);
        }
    }

    private static Tensor AddChannel(Tensor x, int plainRank, int channels, string name, string expected)
    {
        if (x.dim() == plainRank && channels == 1) return x.unsqueeze(1);
        if (x.dim() == plainRank + 1 && x.shape[1] == channels) return x.alias();
        throw new Learner.Nn.ShapeMismatchException($"{name} expects {expected}, got {TorchOps.Shape(x)}.");
    }
}
