using System.Globalization;

namespace Learner.Nn.Optim;

/// <summary>
/// Base of gradient-descent optimizers over parameter groups (PyTorch's <c>torch.optim.Optimizer</c>).
/// </summary>
/// <remarks>
/// <para>Parameters are numbered in group order then in the order given ("flat index"); optimizer state is kept
/// per parameter: a step count (how many updates the parameter received) and named buffers such as <c>exp_avg</c>.
/// Buffers are created on a parameter's first update, outside any <see cref="TensorScope"/>; after that a
/// <see cref="Step"/> allocates nothing.</para>
/// <para><see cref="Step"/> skips parameters whose <see cref="Tensor.Grad"/> is null and runs without recording
/// the autograd graph.</para>
/// </remarks>
public abstract class Optimizer
{
    private readonly ParameterGroup[] _groups;
    private readonly Tensor[] _params;
    private readonly int[] _groupOf;
    private readonly long[] _steps;
    private readonly string[] _bufferNames;
    private readonly Tensor?[][] _buffers;

    /// <summary>Builds the groups, checking that every parameter is a leaf and appears once.</summary>
    /// <param name="groups">The groups.</param>
    /// <param name="defaultLearningRate">Learning rate of groups that do not set one.</param>
    /// <param name="defaultWeightDecay">Weight decay of groups that do not set one.</param>
    /// <param name="bufferNames">Names of the per-parameter state buffers the subclass keeps (PyTorch's names).</param>
    /// <exception cref="ArgumentException">No parameters, a duplicate, a non-leaf, or an invalid rate.</exception>
    protected Optimizer(IEnumerable<ParameterGroupSpec> groups, double defaultLearningRate, double defaultWeightDecay, IReadOnlyList<string> bufferNames)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(bufferNames);
        ParameterGroup.CheckNonNegative(defaultLearningRate, "learning rate", 0);
        ParameterGroup.CheckNonNegative(defaultWeightDecay, "weight decay", 0);
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var groupList = new List<ParameterGroup>();
        var all = new List<Tensor>();
        var groupOf = new List<int>();
        foreach (var spec in groups)
        {
            ArgumentNullException.ThrowIfNull(spec);
            ArgumentNullException.ThrowIfNull(spec.Parameters);
            int g = groupList.Count;
            var ps = spec.Parameters.ToArray();
            for (int i = 0; i < ps.Length; i++)
            {
                var p = ps[i] ?? throw new ArgumentNullException(nameof(groups), $"Parameter {i} of group {g} is null.");
                string label = Label(p, all.Count);
                if (!p.IsLeaf) throw new ArgumentException($"Cannot optimize {label} (group {g}): it is not a leaf tensor (an operation produced it).", nameof(groups));
                if (p.IsDisposed) throw new ArgumentException($"Cannot optimize {label} (group {g}): it was released by a TensorScope.", nameof(groups));
                if (!seen.Add(p)) throw new ArgumentException($"{label} appears more than once among the optimizer's parameters (again in group {g}).", nameof(groups));
                all.Add(p);
                groupOf.Add(g);
            }
            groupList.Add(new ParameterGroup(g, ps, spec.LearningRate ?? defaultLearningRate, spec.WeightDecay ?? defaultWeightDecay));
        }
        if (all.Count == 0) throw new ArgumentException("The optimizer got an empty parameter list.", nameof(groups));
        _groups = groupList.ToArray();
        _params = all.ToArray();
        _groupOf = groupOf.ToArray();
        _steps = new long[_params.Length];
        _bufferNames = bufferNames.ToArray();
        _buffers = new Tensor?[_bufferNames.Length][];
        for (int b = 0; b < _buffers.Length; b++) _buffers[b] = new Tensor?[_params.Length];
    }

    /// <summary>A name for the optimizer's kind, stored with its state (e.g. "AdamW").</summary>
    public abstract string Kind { get; }

    /// <summary>The parameter groups.</summary>
    public IReadOnlyList<ParameterGroup> ParamGroups => _groups;

    /// <summary>Every parameter, by flat index.</summary>
    public IReadOnlyList<Tensor> Parameters => _params;

    /// <summary>Names of the per-parameter state buffers (e.g. <c>exp_avg</c>, <c>exp_avg_sq</c>).</summary>
    public IReadOnlyList<string> StateBufferNames => _bufferNames;

    /// <summary>How many updates the parameter at <paramref name="index"/> has received.</summary>
    /// <param name="index">Flat parameter index.</param>
    /// <returns>The step count.</returns>
    public long StepCount(int index) => _steps[index];

    /// <summary>Updates every parameter that has a gradient, once.</summary>
    /// <exception cref="ShapeMismatchException">A gradient's size differs from its parameter's.</exception>
    public void Step()
    {
        using var noGrad = Autograd.NoGrad();
        for (int i = 0; i < _params.Length; i++)
        {
            var p = _params[i];
            var grad = p.Grad;
            if (grad is null) continue;
            if (grad.Size != p.Size)
                throw new ShapeMismatchException($"{Label(p, i)}: gradient of shape {Tensor.ShapeString(grad.Shape)} does not match the parameter's shape {Tensor.ShapeString(p.Shape)}.");
            long step = ++_steps[i];
            Update(i, _groups[_groupOf[i]], p.Data, grad.Data, step);
        }
    }

    /// <summary>Clears (zeroes in place) the gradient of every parameter.</summary>
    public void ZeroGrad()
    {
        for (int i = 0; i < _params.Length; i++) _params[i].Grad?.Data.Clear();
    }

    /// <summary>Applies one update to one parameter.</summary>
    /// <param name="index">Flat parameter index (for <see cref="Buffer"/>).</param>
    /// <param name="group">The parameter's group (learning rate, weight decay).</param>
    /// <param name="param">The parameter's values, updated in place.</param>
    /// <param name="grad">The gradient.</param>
    /// <param name="step">The parameter's step count, including this update (1 on the first).</param>
    protected abstract void Update(int index, ParameterGroup group, Span<float> param, ReadOnlySpan<float> grad, long step);

    /// <summary>The state buffer <paramref name="buffer"/> of parameter <paramref name="index"/>, created zeroed
    /// (outside any tensor scope) on first use.</summary>
    /// <param name="buffer">Index into <see cref="StateBufferNames"/>.</param>
    /// <param name="index">Flat parameter index.</param>
    /// <returns>The buffer's values.</returns>
    protected Span<float> Buffer(int buffer, int index)
    {
        var t = _buffers[buffer][index];
        if (t is null)
        {
            t = Tensor.CreateUnscoped(_params[index].ShapeRef, clear: true);
            t.Name = _bufferNames[buffer];
            _buffers[buffer][index] = t;
        }
        return t.Data;
    }

    /// <summary>The optimizer's hyper-parameters other than the groups' rates (e.g. momentum, betas), by PyTorch's names.</summary>
    /// <returns>Name → value (flags as 0 or 1).</returns>
    protected abstract IReadOnlyDictionary<string, double> GetHyperparameters();

    /// <summary>Adds to <paramref name="problems"/> every reason why <paramref name="hyperparameters"/> cannot be loaded into this optimizer.</summary>
    /// <param name="hyperparameters">Hyper-parameters from a saved state.</param>
    /// <param name="problems">Where to add problems.</param>
    protected abstract void CheckHyperparameters(IReadOnlyDictionary<string, double> hyperparameters, List<string> problems);

    /// <summary>Adopts hyper-parameters that <see cref="CheckHyperparameters"/> accepted.</summary>
    /// <param name="hyperparameters">The hyper-parameters.</param>
    protected abstract void SetHyperparameters(IReadOnlyDictionary<string, double> hyperparameters);

    /// <summary>Finds the first state buffer (in parameter order, then buffer order) holding NaN or infinity, without copying
    /// the state.</summary>
    /// <returns>The flat parameter index, the buffer's name (PyTorch's, e.g. <c>exp_avg</c>), the flat index and the value of
    /// the first non-finite element; null when the whole state is finite.</returns>
    public (int Parameter, string Buffer, int Element, float Value)? FindNonFiniteState()
    {
        for (int i = 0; i < _params.Length; i++)
            for (int b = 0; b < _bufferNames.Length; b++)
            {
                var t = _buffers[b][i];
                if (t is null) continue;
                int bad = t.IndexOfNonFinite();
                if (bad >= 0) return (i, _bufferNames[b], bad, t.Data[bad]);
            }
        return null;
    }

    /// <summary>A copy of the optimizer's full state: hyper-parameters, group rates, per-parameter step counts and buffers.</summary>
    /// <returns>The state (its tensors are copies, outside any tensor scope).</returns>
    public OptimizerState GetState()
    {
        var groups = new ParameterGroupState[_groups.Length];
        for (int g = 0; g < groups.Length; g++)
            groups[g] = new ParameterGroupState(_groups[g].ParametersArray.Length, _groups[g].LearningRate, _groups[g].WeightDecay);
        var ps = new ParameterState[_params.Length];
        for (int i = 0; i < ps.Length; i++)
        {
            var buffers = new Dictionary<string, Tensor>();
            for (int b = 0; b < _bufferNames.Length; b++)
            {
                var t = _buffers[b][i];
                if (t is null) continue;
                var copy = Tensor.CreateUnscoped(t.ShapeRef, clear: false);
                t.Data.CopyTo(copy.Data);
                buffers[_bufferNames[b]] = copy;
            }
            ps[i] = new ParameterState(_steps[i], buffers);
        }
        return new OptimizerState(Kind, new Dictionary<string, double>(GetHyperparameters()), groups, ps);
    }

    /// <summary>Restores a state from <see cref="GetState"/> (of an optimizer of the same kind over parameters of the
    /// same shapes, grouped the same way). Everything is checked before anything changes.</summary>
    /// <param name="state">The state.</param>
    /// <exception cref="ArgumentException">The state does not fit this optimizer; the message lists every problem.</exception>
    public void LoadState(OptimizerState state)
    {
        var problems = FindStateProblems(state);
        if (problems.Count > 0)
            throw new ArgumentException($"The optimizer state does not fit this {Kind} optimizer:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", problems), nameof(state));
        ApplyState(state);
    }

    /// <summary>Every reason why <paramref name="state"/> cannot be loaded (empty when it can).</summary>
    internal List<string> FindStateProblems(OptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var problems = new List<string>();
        if (state.Kind != Kind) problems.Add($"the state is of a {state.Kind} optimizer, this one is {Kind}");
        CheckHyperparameters(state.Hyperparameters, problems);
        if (state.Groups.Count != _groups.Length)
            problems.Add($"the state has {state.Groups.Count} parameter groups, this optimizer {_groups.Length}");
        else
            for (int g = 0; g < _groups.Length; g++)
            {
                var gs = state.Groups[g];
                if (gs.ParameterCount != _groups[g].ParametersArray.Length)
                    problems.Add($"group {g} has {gs.ParameterCount} parameters in the state, {_groups[g].ParametersArray.Length} here");
                if (!double.IsFinite(gs.LearningRate) || gs.LearningRate < 0) problems.Add($"group {g}: invalid learning rate {gs.LearningRate.ToString("R", CultureInfo.InvariantCulture)}");
                if (!double.IsFinite(gs.WeightDecay) || gs.WeightDecay < 0) problems.Add($"group {g}: invalid weight decay {gs.WeightDecay.ToString("R", CultureInfo.InvariantCulture)}");
            }
        if (state.Parameters.Count != _params.Length)
        {
            problems.Add($"the state has {state.Parameters.Count} parameters, this optimizer {_params.Length}");
            return problems;
        }
        for (int i = 0; i < _params.Length; i++)
        {
            var ps = state.Parameters[i];
            var p = _params[i];
            if (ps.Step < 0) problems.Add($"parameter {i}: negative step count {ps.Step}");
            foreach (var kv in ps.Buffers)
            {
                if (Array.IndexOf(_bufferNames, kv.Key) < 0)
                    problems.Add($"parameter {i}: unknown state buffer '{kv.Key}' (a {Kind} optimizer keeps {(_bufferNames.Length == 0 ? "none" : string.Join(", ", _bufferNames))})");
                else if (!ShapeUtil.SameShape(kv.Value.Shape, p.Shape))
                    problems.Add($"parameter {i} ({Label(p, i)}): state buffer '{kv.Key}' has shape {Tensor.ShapeString(kv.Value.Shape)}, the parameter {Tensor.ShapeString(p.Shape)}");
            }
            foreach (var name in _bufferNames)
            {
                bool has = ps.Buffers.ContainsKey(name);
                if (ps.Step > 0 && !has) problems.Add($"parameter {i}: state buffer '{name}' is missing although the parameter has {ps.Step} steps");
                if (ps.Step == 0 && has) problems.Add($"parameter {i}: state buffer '{name}' is present although the parameter has no steps");
            }
        }
        return problems;
    }

    /// <summary>Adopts a state that <see cref="FindStateProblems"/> accepted.</summary>
    internal void ApplyState(OptimizerState state)
    {
        SetHyperparameters(state.Hyperparameters);
        for (int g = 0; g < _groups.Length; g++)
        {
            _groups[g].LearningRate = state.Groups[g].LearningRate;
            _groups[g].WeightDecay = state.Groups[g].WeightDecay;
        }
        for (int i = 0; i < _params.Length; i++)
        {
            var ps = state.Parameters[i];
            _steps[i] = ps.Step;
            for (int b = 0; b < _bufferNames.Length; b++)
            {
                if (ps.Buffers.TryGetValue(_bufferNames[b], out var src)) src.Data.CopyTo(Buffer(b, i));
                else _buffers[b][i] = null;
            }
        }
    }

    internal static string Label(Tensor p, int index) =>
        p.Name is null ? $"parameter {index.ToString(CultureInfo.InvariantCulture)}" : $"parameter {index.ToString(CultureInfo.InvariantCulture)} '{p.Name}'";

    /// <summary>A float from a double hyper-parameter (the precision PyTorch applies scalars to float32 tensors with).</summary>
    /// <param name="value">The value.</param>
    /// <returns>The value rounded to float32.</returns>
    protected static float F(double value) => (float)value;
}

/// <summary>A snapshot of an optimizer's state, as saved in checkpoints.</summary>
/// <param name="Kind">The optimizer's kind (e.g. "AdamW", "Sgd").</param>
/// <param name="Hyperparameters">Hyper-parameters by PyTorch's names (flags as 0 or 1).</param>
/// <param name="Groups">Each group's size and rates.</param>
/// <param name="Parameters">Each parameter's step count and state buffers, by flat index.</param>
public sealed record OptimizerState(string Kind, IReadOnlyDictionary<string, double> Hyperparameters, IReadOnlyList<ParameterGroupState> Groups, IReadOnlyList<ParameterState> Parameters);

/// <summary>A parameter group's size and rates, as saved in an <see cref="OptimizerState"/>.</summary>
/// <param name="ParameterCount">Number of parameters in the group.</param>
/// <param name="LearningRate">The learning rate.</param>
/// <param name="WeightDecay">The weight decay.</param>
public sealed record ParameterGroupState(int ParameterCount, double LearningRate, double WeightDecay);

/// <summary>One parameter's optimizer state.</summary>
/// <param name="Step">Updates the parameter has received.</param>
/// <param name="Buffers">State buffers by name (empty before the first update).</param>
public sealed record ParameterState(long Step, IReadOnlyDictionary<string, Tensor> Buffers);
