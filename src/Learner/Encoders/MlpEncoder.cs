using Learner.Nn;
using Learner.Nn.Modules;

namespace Learner.Encoders;

/// <summary>Settings of <see cref="MlpEncoder"/>.</summary>
public sealed record MlpEncoderOptions
{
    /// <summary>Input features F (≥ 1).</summary>
    public int InputFeatures { get; init; }

    /// <summary>Hidden layer widths (each ≥ 1; may be empty for a linear encoder). Default 256-256.</summary>
    public int[] Hidden { get; init; } = { 256, 256 };

    /// <summary>Embedding dimension D (≥ 1). Default 128.</summary>
    public int EmbeddingDimension { get; init; } = 128;

    /// <summary>Dropout probability after each hidden layer, in [0, 1). Default 0.</summary>
    public float Dropout { get; init; }

    /// <summary>Batch norm after each hidden linear layer. Default true.</summary>
    public bool BatchNorm { get; init; } = true;

    /// <summary>Seed of the initialisation and of dropout.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (InputFeatures < 1) throw new ArgumentException($"InputFeatures must be ≥ 1, got {InputFeatures}.", nameof(InputFeatures));
        if (Hidden is null || Hidden.Any(h => h < 1)) throw new ArgumentException($"Hidden widths must all be ≥ 1, got [{string.Join(", ", Hidden ?? Array.Empty<int>())}].", nameof(Hidden));
        if (EmbeddingDimension < 1) throw new ArgumentException($"EmbeddingDimension must be ≥ 1, got {EmbeddingDimension}.", nameof(EmbeddingDimension));
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentException(FormattableString.Invariant($"Dropout must be in [0, 1), got {Dropout}."), nameof(Dropout));
    }

    /// <summary>The network: [Linear, BatchNorm1d?, ReLU, Dropout?]×hidden, then Linear to D (children "0", "1", …).</summary>
    /// <returns>The module.</returns>
    public Sequential Build()
    {
        Validate();
        var rng = new Rng(Seed);
        var net = new Sequential();
        int inF = InputFeatures;
        foreach (int h in Hidden)
        {
            net.Add(new Linear(inF, h, rng));
            if (BatchNorm) net.Add(new BatchNorm1d(h));
            net.Add(new Relu());
            if (Dropout > 0) net.Add(new Dropout(Dropout, rng.Fork((ulong)net.Count)));
            inF = h;
        }
        net.Add(new Linear(inF, EmbeddingDimension, rng));
        return net;
    }
}

/// <summary>A multilayer perceptron over feature vectors <c>[B, F]</c> behind the encoder seam.</summary>
/// <remarks>Not thread-safe; one step on one thread (see <see cref="ModuleEncoder"/>).</remarks>
public sealed class MlpEncoder : ModuleEncoder
{
    /// <summary>Builds the encoder.</summary>
    /// <param name="options">Settings (validated).</param>
    public MlpEncoder(MlpEncoderOptions options)
        : base((options ?? throw new ArgumentNullException(nameof(options))).Build(), options.EmbeddingDimension,
               $"mlp[{options.InputFeatures}-{string.Join('-', options.Hidden)}-{options.EmbeddingDimension}]")
    {
    }

    /// <inheritdoc />
    protected internal override Tensor PrepareInput(Tensor input)
        => input.Rank == 2 ? input : Ops.Flatten(input, 1); // any payload [B, …] becomes feature vectors
}
