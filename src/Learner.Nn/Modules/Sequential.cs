using System.Collections;
using System.Globalization;

namespace Learner.Nn.Modules;

/// <summary>
/// A chain of modules applied in order: the output of each is the input of the next (PyTorch's <c>nn.Sequential</c>).
/// Children are named "0", "1", … in the order they were added, so parameter names read <c>0.weight</c>, <c>2.bias</c>.
/// </summary>
public sealed class Sequential : Module, IReadOnlyList<Module>
{
    private readonly List<Module> _items = new();

    /// <summary>Creates the chain from <paramref name="modules"/>, in order.</summary>
    /// <param name="modules">The modules.</param>
    public Sequential(params Module[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules) Add(m);
    }

    /// <summary>Creates the chain from <paramref name="modules"/>, in order.</summary>
    /// <param name="modules">The modules.</param>
    public Sequential(IEnumerable<Module> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules) Add(m);
    }

    /// <summary>Appends <paramref name="module"/>; it is named by its position.</summary>
    /// <param name="module">The module.</param>
    /// <returns>This chain, for fluent construction.</returns>
    public Sequential Add(Module module)
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
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"Sequential has {_items.Count} modules.");

    /// <summary>The number of modules.</summary>
    public int Count => _items.Count;

    /// <summary>Applies every module in order.</summary>
    /// <param name="input">The input of the first module.</param>
    /// <returns>The output of the last module (the input itself when the chain is empty).</returns>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        for (int i = 0; i < _items.Count; i++) x = _items[i].Forward(x);
        return x;
    }

    /// <summary>Enumerates the modules in order.</summary>
    /// <returns>The enumerator.</returns>
    public IEnumerator<Module> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public override string ToString() => $"Sequential({string.Join(", ", _items)})";
}
