using TorchSharp;
using static TorchSharp.torch;

namespace Learner.TorchSharp.Encoders;

/// <summary>Global average pooling as a parameterless module (the managed <c>GlobalAvgPool</c> layer).</summary>
public sealed class GlobalAvgPoolModule : nn.Module<Tensor, Tensor>
{
    /// <summary>Creates the layer.</summary>
    public GlobalAvgPoolModule() : base(nameof(GlobalAvgPoolModule)) { }

    /// <inheritdoc />
    public override Tensor forward(Tensor input) => TorchOps.GlobalAvgPool(input);
}

/// <summary>Row-wise L2 normalisation x / max(‖x‖, ε) (<see cref="TorchOps.L2Normalize"/>) as a parameterless module.</summary>
public sealed class L2NormalizeModule : nn.Module<Tensor, Tensor>
{
    private readonly double _eps;

    /// <summary>Creates the layer.</summary>
    /// <param name="eps">The lower bound of the norm (Learner.Nn's default 1e-12).</param>
    public L2NormalizeModule(double eps = 1e-12) : base(nameof(L2NormalizeModule)) => _eps = eps;

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return scope.MoveToOuter(TorchOps.L2Normalize(input, _eps));
    }
}
