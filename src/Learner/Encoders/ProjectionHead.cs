using Learner.Nn;
using Learner.Nn.Modules;

namespace Learner.Encoders;

/// <summary>
/// Wraps a backbone with an optional projection head (Linear–ReLU–Linear, as in SimCLR) and optional L2
/// normalisation of the output. The head's parameters are named <c>head.0.weight</c>, <c>head.2.weight</c>; the
/// backbone's keep their names under <c>backbone.</c>.
/// </summary>
/// <remarks>Not thread-safe: a module holds parameters and gradients that forward and backward mutate.</remarks>
public sealed class ProjectedModule : Module
{
    private readonly Module _backbone;
    private readonly Sequential? _head;
    private readonly bool _normalize;

    /// <summary>Builds the wrapper.</summary>
    /// <param name="backbone">The backbone, producing <c>[B, backboneDimension]</c>.</param>
    /// <param name="backboneDimension">Width of the backbone's output.</param>
    /// <param name="projectionDimension">Output width of the head, or 0 for no head.</param>
    /// <param name="hiddenDimension">Hidden width of the head (default: the backbone's width).</param>
    /// <param name="normalize">L2-normalise the output.</param>
    /// <param name="rng">Initialisation generator for the head.</param>
    public ProjectedModule(Module backbone, int backboneDimension, int projectionDimension, int? hiddenDimension, bool normalize, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentOutOfRangeException.ThrowIfLessThan(backboneDimension, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(projectionDimension);
        _backbone = RegisterModule("backbone", backbone);
        if (projectionDimension > 0)
        {
            int hidden = hiddenDimension ?? backboneDimension;
            ArgumentOutOfRangeException.ThrowIfLessThan(hidden, 1, nameof(hiddenDimension));
            _head = RegisterModule("head", new Sequential(new Linear(backboneDimension, hidden, rng), new Relu(), new Linear(hidden, projectionDimension, rng)));
        }
        _normalize = normalize;
        OutputDimension = projectionDimension > 0 ? projectionDimension : backboneDimension;
    }

    /// <summary>Width of the output.</summary>
    public int OutputDimension { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        var y = _backbone.Forward(input);
        if (_head is not null) y = _head.Forward(y);
        return _normalize ? Ops.L2Normalize(y, -1) : y;
    }
}
