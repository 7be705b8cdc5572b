namespace Learner.Nn.Modules;

/// <summary>
/// An indexed list of sub-modules whose parameters belong to the enclosing model, for models that combine their
/// blocks with their own logic (residual connections, several heads). Children are named "0", "1", …
/// (PyTorch's <c>nn.ModuleList</c>). The list itself has no forward pass: call its elements.
/// </summary>
public sealed class ModuleList : ModuleContainer<ModuleList>
{
    /// <summary>Creates the list from <paramref name="modules"/>, in order.</summary>
    /// <param name="modules">The modules.</param>
    public ModuleList(params Module[] modules) : base(modules) { }

    /// <summary>Not supported: a module list has no forward pass of its own; apply its elements.</summary>
    /// <param name="input">Ignored.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="InvalidOperationException">Always.</exception>
    public override Tensor Forward(Tensor input) =>
        throw new InvalidOperationException($"ModuleList ({Count} modules) has no forward pass; call its elements (list[i].Forward(x)) or use Sequential.");
}
