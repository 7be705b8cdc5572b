using System.Collections;
using System.Globalization;

namespace Learner.Nn.Modules;

/// <summary>
/// An indexed list of sub-modules whose parameters belong to the enclosing model, for models that combine their
/// blocks with their own logic (residual connections, several heads). Children are named "0", "1", …
/// (PyTorch's <c>nn.ModuleList</c>). The list itself has no forward pass: call its elements.
/// </summary>
public sealed class ModuleList : Module, IReadOnlyList<Module>
{
    private readonly List<Module> _items = new();

    /// <summary>Creates the list from <paramref name="modules"/>, in order.</summary>
    /// <param name="modules">The modules.</param>
    public ModuleList(params Module[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules) Add(m);
    }

    /// <summary>Appends <paramref name="module"/>; it is named by its position.</summary>
    /// <param name="module">The module.</param>
    /// <returns>This list, for fluent construction.</returns>
    public ModuleList Add(Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        RegisterModule(_items.Count.ToString(CultureInfo.InvariantCulture), module);
        _items.Add(module);
        return this;
    }

    /// <summary>The module at position <paramref name="index"/>.</summary>
    /// <param name="index">Zero-based position.</param>
    public Module this[int index] => index >= 0 && index < _items.Count
        ? _items[index]
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"ModuleList has {_items.Count} modules.");

    /// <summary>The number of modules.</summary>
    public int Count => _items.Count;

    /// <summary>Not supported: a module list has no forward pass of its own; apply its elements.</summary>
    /// <param name="input">Ignored.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="InvalidOperationException">Always.</exception>
    public override Tensor Forward(Tensor input) =>
        throw new InvalidOperationException($"ModuleList ({_items.Count} modules) has no forward pass; call its elements (list[i].Forward(x)) or use Sequential.");

    /// <summary>Enumerates the modules in order.</summary>
    /// <returns>The enumerator.</returns>
    public IEnumerator<Module> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
