using System.Collections;
using System.Globalization;

namespace Learner.Nn.Modules;

/// <summary>
/// Shared base of the positional containers (<see cref="Sequential"/>, <see cref="ModuleList"/>): children are named
/// "0", "1", … in the order they were added, as in PyTorch.
/// </summary>
/// <typeparam name="TSelf">The container type, so that <see cref="Add"/> chains fluently.</typeparam>
public abstract class ModuleContainer<TSelf> : Module, IReadOnlyList<Module> where TSelf : ModuleContainer<TSelf>
{
    private readonly List<Module> _items = new();

    /// <summary>Creates the container from <paramref name="modules"/>, in order.</summary>
    /// <param name="modules">The modules.</param>
    protected ModuleContainer(IEnumerable<Module> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var m in modules) Add(m);
    }

    /// <summary>Appends <paramref name="module"/>; it is named by its position.</summary>
    /// <param name="module">The module.</param>
    /// <returns>This container, for fluent construction.</returns>
    public TSelf Add(Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        RegisterModule(_items.Count.ToString(CultureInfo.InvariantCulture), module);
        _items.Add(module);
        return (TSelf)this;
    }

    /// <summary>The module at position <paramref name="index"/>.</summary>
    /// <param name="index">Zero-based position.</param>
    public Module this[int index] => index >= 0 && index < _items.Count
        ? _items[index]
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"{GetType().Name} has {_items.Count} modules.");

    /// <summary>The number of modules.</summary>
    public int Count => _items.Count;

    /// <summary>Enumerates the modules in order.</summary>
    /// <returns>The enumerator.</returns>
    public IEnumerator<Module> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc />
    public override string ToString() => $"{GetType().Name}({string.Join(", ", _items)})";
}
