namespace Learner.Nn.Modules;

/// <summary>
/// A chain of modules applied in order: the output of each is the input of the next (PyTorch's <c>nn.Sequential</c>).
/// Children are named "0", "1", … in the order they were added, so parameter names read <c>0.weight</c>, <c>2.bias</c>.
/// </summary>
public sealed class Sequential : ModuleContainer<Sequential>
{
    /// <summary>Creates the chain from <paramref name="modules"/>, in order.</summary>
    /// <param name="modules">The modules.</param>
    public Sequential(params Module[] modules) : base(modules) { }

    /// <summary>Creates the chain from <paramref name="modules"/>, in order.</summary>
    /// <param name="modules">The modules.</param>
    public Sequential(IEnumerable<Module> modules) : base(modules) { }

    /// <summary>Applies every module in order.</summary>
    /// <param name="input">The input of the first module.</param>
    /// <returns>The output of the last module (the input itself when the chain is empty).</returns>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        for (int i = 0; i < Count; i++) x = this[i].Forward(x);
        return x;
    }
}
