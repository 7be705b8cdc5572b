namespace Learner.Nn.Modules;

/// <summary>Flattens the axes <see cref="StartAxis"/> … <see cref="EndAxis"/> (inclusive) into one, as torch.nn.Flatten
/// (by default everything after the batch axis). A view: no copy. No parameters.</summary>
/// <param name="startAxis">First axis to flatten; negative counts from the end.</param>
/// <param name="endAxis">Last axis to flatten (inclusive); negative counts from the end.</param>
public sealed class Flatten(int startAxis = 1, int endAxis = -1) : Module
{
    /// <summary>First axis flattened.</summary>
    public int StartAxis { get; } = startAxis;

    /// <summary>Last axis flattened (inclusive).</summary>
    public int EndAxis { get; } = endAxis;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank == 0) return Ops.Reshape(input, 1);
        int s = ShapeUtil.NormalizeAxis(StartAxis, input.Rank, "Flatten");
        int e = ShapeUtil.NormalizeAxis(EndAxis, input.Rank, "Flatten");
        if (s > e) throw new ShapeMismatchException($"Flatten: start axis {StartAxis} comes after end axis {EndAxis} for input {Tensor.ShapeString(input.Shape)}.");
        var shape = new int[input.Rank - (e - s)];
        for (int i = 0; i < s; i++) shape[i] = input.Shape[i];
        shape[s] = (int)ShapeUtil.Product(input.Shape, s, e + 1);
        for (int i = e + 1; i < input.Rank; i++) shape[i - (e - s)] = input.Shape[i];
        return Ops.Reshape(input, shape);
    }
}
