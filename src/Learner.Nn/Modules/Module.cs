namespace Learner.Nn.Modules;

/// <summary>
/// Base class of neural-network layers and models: named parameters and buffers (recursively through
/// sub-modules, with dotted names such as <c>layer1.0.conv1.weight</c>), train/eval mode and a forward pass.
/// </summary>
/// <remarks>
/// Register everything a subclass owns in its constructor, in a fixed order: the registration order defines
/// the order of <see cref="NamedParameters"/>, which optimizers and checkpoints rely on. Parameters and
/// buffers are never owned by a <see cref="TensorScope"/>.
/// </remarks>
public abstract class Module
{
    private readonly List<KeyValuePair<string, Tensor>> _parameters = new();
    private readonly List<KeyValuePair<string, Tensor>> _buffers = new();
    private readonly List<KeyValuePair<string, Module>> _modules = new();

    /// <summary>Whether the module is in training mode (dropout active, batch norm using batch statistics).</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Computes the module's output.</summary>
    /// <param name="input">The input tensor.</param>
    /// <returns>The output tensor.</returns>
    public abstract Tensor Forward(Tensor input);

    /// <summary>Applies the module (same as <see cref="Forward"/>).</summary>
    /// <param name="input">The input tensor.</param>
    /// <returns>The output tensor.</returns>
    public Tensor Call(Tensor input) => Forward(input);

    /// <summary>Registers a trainable parameter: it requires gradients, leaves any tensor scope and is named.</summary>
    /// <param name="name">Name, unique within this module, without dots.</param>
    /// <param name="value">The tensor (a leaf).</param>
    /// <returns>The same tensor.</returns>
    protected Tensor RegisterParameter(string name, Tensor value)
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(value);
        if (!value.IsLeaf) throw new AutogradException($"Parameter '{name}' must be a leaf tensor; Detach() it first.");
        TensorScope.Current?.Keep(value);
        value.RequiresGrad = true;
        value.Name ??= name;
        _parameters.Add(new(name, value));
        return value;
    }

    /// <summary>Registers a buffer: state that is saved in checkpoints but not trained (e.g. running statistics).</summary>
    /// <param name="name">Name, unique within this module, without dots.</param>
    /// <param name="value">The tensor.</param>
    /// <returns>The same tensor.</returns>
    protected Tensor RegisterBuffer(string name, Tensor value)
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(value);
        TensorScope.Current?.Keep(value);
        value.Name ??= name;
        _buffers.Add(new(name, value));
        return value;
    }

    /// <summary>Registers a sub-module.</summary>
    /// <typeparam name="T">Module type.</typeparam>
    /// <param name="name">Name, unique within this module, without dots.</param>
    /// <param name="module">The sub-module.</param>
    /// <returns>The same module.</returns>
    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        CheckName(name);
        ArgumentNullException.ThrowIfNull(module);
        if (ReferenceEquals(module, this)) throw new ArgumentException("A module cannot contain itself.", nameof(module));
        _modules.Add(new(name, module));
        if (!Training) module.Eval();
        return module;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"Invalid member name '{name}': names must be non-empty and contain no '.'.", nameof(name));
        foreach (var p in _parameters) if (p.Key == name) throw new ArgumentException($"'{name}' is already registered as a parameter of {GetType().Name}.", nameof(name));
        foreach (var p in _buffers) if (p.Key == name) throw new ArgumentException($"'{name}' is already registered as a buffer of {GetType().Name}.", nameof(name));
        foreach (var p in _modules) if (p.Key == name) throw new ArgumentException($"'{name}' is already registered as a sub-module of {GetType().Name}.", nameof(name));
    }

    /// <summary>All parameters with dotted names, depth-first in registration order.</summary>
    /// <returns>(name, tensor) pairs.</returns>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedParameters() => Walk(string.Empty, buffers: false);

    /// <summary>All buffers with dotted names, depth-first in registration order.</summary>
    /// <returns>(name, tensor) pairs.</returns>
    public IEnumerable<KeyValuePair<string, Tensor>> NamedBuffers() => Walk(string.Empty, buffers: true);

    /// <summary>All parameters, depth-first in registration order.</summary>
    /// <returns>The parameters.</returns>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Value);

    /// <summary>Direct sub-modules with their names.</summary>
    /// <returns>(name, module) pairs.</returns>
    public IEnumerable<KeyValuePair<string, Module>> NamedChildren() => _modules;

    /// <summary>Every descendant module (not this one) with its dotted name, depth-first in registration order.</summary>
    /// <returns>(name, module) pairs, e.g. <c>("layer1", …), ("layer1.0", …)</c>.</returns>
    public IEnumerable<KeyValuePair<string, Module>> NamedModules() => WalkModules(string.Empty);

    private IEnumerable<KeyValuePair<string, Module>> WalkModules(string prefix)
    {
        foreach (var m in _modules)
        {
            string name = prefix + m.Key;
            yield return new(name, m.Value);
            foreach (var d in m.Value.WalkModules(name + ".")) yield return d;
        }
    }

    /// <summary>The module's full state (parameters then buffers) with dotted names, as saved in checkpoints.</summary>
    /// <returns>(name, tensor) pairs.</returns>
    public IEnumerable<KeyValuePair<string, Tensor>> StateEntries() => NamedParameters().Concat(NamedBuffers());

    private IEnumerable<KeyValuePair<string, Tensor>> Walk(string prefix, bool buffers)
    {
        foreach (var p in buffers ? _buffers : _parameters) yield return new(prefix + p.Key, p.Value);
        foreach (var m in _modules)
            foreach (var p in m.Value.Walk(prefix + m.Key + ".", buffers)) yield return p;
    }

    /// <summary>Total number of trainable scalars.</summary>
    public long ParameterCount => Parameters().Sum(p => (long)p.Size);

    /// <summary>Sets training mode on this module and every sub-module.</summary>
    /// <param name="training">True for training, false for evaluation.</param>
    public virtual void Train(bool training = true)
    {
        Training = training;
        foreach (var m in _modules) m.Value.Train(training);
    }

    /// <summary>Sets evaluation mode (same as <c>Train(false)</c>).</summary>
    public void Eval() => Train(false);

    /// <summary>Clears the gradients of all parameters.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters()) p.ZeroGrad();
    }
}
