namespace Learner.Nn;

/// <summary>Computes the gradients of an operation's inputs from the gradient of its output.</summary>
/// <param name="gradOutput">d(objective)/d(output), of the output's shape.</param>
/// <returns>One gradient per input, in the order the inputs were recorded; null for inputs that need none.</returns>
internal delegate Tensor?[] BackwardFunction(Tensor gradOutput);

/// <summary>A recorded operation on the autograd graph.</summary>
internal sealed class GradNode
{
    internal GradNode(string opName, Tensor[] inputs, BackwardFunction backward)
    {
        OpName = opName;
        Inputs = inputs;
        Backward = backward;
    }

    internal string OpName { get; }
    internal Tensor[] Inputs { get; private set; }
    internal BackwardFunction? Backward { get; private set; }
    internal bool Freed => Backward is null;

    internal void Free()
    {
        Backward = null;
        Inputs = Array.Empty<Tensor>();
    }
}

/// <summary>Reverse-mode automatic differentiation: gradient mode and the backward pass.</summary>
public static class Autograd
{
    [ThreadStatic] private static int _noGradDepth;

    /// <summary>Whether operations on this thread currently record the graph.</summary>
    public static bool IsGradEnabled => _noGradDepth == 0;

    /// <summary>Disables graph recording on this thread until the returned scope is disposed (evaluation, optimizer updates).</summary>
    /// <returns>A scope that re-enables recording when disposed.</returns>
    public static NoGradScope NoGrad()
    {
        _noGradDepth++;
        return new NoGradScope(Environment.CurrentManagedThreadId);
    }

    internal static void ExitNoGrad() => _noGradDepth--;

    /// <summary>Whether an operation with these inputs must be recorded.</summary>
    internal static bool ShouldRecord(Tensor a) => _noGradDepth == 0 && a.RequiresGrad;

    /// <summary>Whether an operation with these inputs must be recorded.</summary>
    internal static bool ShouldRecord(Tensor a, Tensor b) => _noGradDepth == 0 && (a.RequiresGrad || b.RequiresGrad);

    /// <summary>Whether an operation with these inputs must be recorded.</summary>
    internal static bool ShouldRecord(ReadOnlySpan<Tensor> inputs)
    {
        if (_noGradDepth != 0) return false;
        foreach (var t in inputs) if (t.RequiresGrad) return true;
        return false;
    }

    /// <summary>Attaches a graph node to <paramref name="output"/>, making it require gradients.</summary>
    internal static Tensor Record(Tensor output, string opName, Tensor[] inputs, BackwardFunction backward)
    {
        output.Node = new GradNode(opName, inputs, backward);
        output.RequiresGradInternal();
        return output;
    }

    /// <summary>
    /// Records a user-defined differentiable operation: <paramref name="output"/> (a tensor the caller has just
    /// computed from <paramref name="inputs"/> outside the graph) becomes the result of an operation whose backward is
    /// <paramref name="backward"/>. Nothing is recorded (and <paramref name="output"/> is returned as is) when no input
    /// requires gradients or gradient mode is off. This is how fused kernels that compute their own exact gradient
    /// (for example the contrastive objectives) join the autograd graph.
    /// </summary>
    /// <param name="name">Operation name, used in messages.</param>
    /// <param name="inputs">The inputs, in the order of the gradients <paramref name="backward"/> returns.</param>
    /// <param name="output">The freshly computed output: a leaf that does not require gradients.</param>
    /// <param name="backward">Maps d(objective)/d(output) to one gradient per input (null where none is needed), each of its
    /// input's shape. It must not modify its argument.</param>
    /// <returns><paramref name="output"/>, now attached to the graph.</returns>
    /// <exception cref="AutogradException"><paramref name="output"/> is already part of a graph or is a leaf that requires gradients.</exception>
    public static Tensor Function(string name, IReadOnlyList<Tensor> inputs, Tensor output, Func<Tensor, Tensor?[]> backward)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(backward);
        if (!output.IsLeaf || output.RequiresGrad)
            throw new AutogradException($"Autograd.Function '{name}': the output must be a fresh tensor outside the graph (it already {(output.IsLeaf ? "requires gradients" : "has a grad_fn")}).");
        var ins = inputs.ToArray();
        foreach (var t in ins) ArgumentNullException.ThrowIfNull(t, nameof(inputs));
        if (!ShouldRecord(ins)) return output;
        return Record(output, name, ins, g =>
        {
            var r = backward(g);
            if (r is null || r.Length != ins.Length)
                throw new AutogradException($"Autograd.Function '{name}': backward returned {(r is null ? "null" : r.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))} gradients for {ins.Length} inputs.");
            for (int i = 0; i < r.Length; i++)
            {
                if (r[i] is not { } gi) continue;
                if (!ShapeUtil.SameShape(gi.Shape, ins[i].Shape))
                    throw new ShapeMismatchException($"Autograd.Function '{name}': gradient {i} has shape {Tensor.ShapeString(gi.Shape)} but its input has shape {Tensor.ShapeString(ins[i].Shape)}.");
                // User code may keep the gradient it was given: what it returns of it is passed on as a copy, so that
                // accumulating into it later never changes a tensor the function holds.
                if (ReferenceEquals(gi.Base ?? gi, g.Base ?? g)) r[i] = gi.Clone();
            }
            return r;
        });
    }

    internal static void Backward(Tensor root, Tensor? gradient, bool retainGraph)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (!root.RequiresGrad)
            throw new AutogradException($"Backward() was called on a tensor of shape {Tensor.ShapeString(root.Shape)} that does not require gradients (no input of its computation requires them, or it was computed under NoGrad).");
        if (root.Node is { Freed: true })
            throw new AutogradException($"Backward through a freed graph: the graph of '{root.Node.OpName}' was already used by a backward pass. Pass retainGraph: true to the first Backward() to run several.");
        Tensor seed;
        if (gradient is null)
        {
            if (root.Size != 1)
                throw new AutogradException($"Backward() without a gradient needs a one-element tensor; got shape {Tensor.ShapeString(root.Shape)}. Pass the gradient of the objective with respect to it.");
            seed = Tensor.Full(1f, root.ShapeArray);
        }
        else
        {
            if (!ShapeUtil.SameShape(gradient.Shape, root.Shape))
                throw new ShapeMismatchException($"Backward(): gradient of shape {Tensor.ShapeString(gradient.Shape)} does not match the tensor's shape {Tensor.ShapeString(root.Shape)}.");
            seed = gradient;
        }

        using var noGrad = NoGrad();
        // Topological order by iterative depth-first search over nodes.
        var order = new List<Tensor>();
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor t, int next)>();
        if (root.Node is not null) { stack.Push((root, 0)); visited.Add(root); }
        while (stack.Count > 0)
        {
            var (t, next) = stack.Pop();
            var inputs = t.Node!.Inputs;
            if (t.Node.Freed)
                throw new AutogradException($"Backward through a freed graph: the node '{t.Node.OpName}' (output shape {Tensor.ShapeString(t.Shape)}) was already used by a backward pass. Pass retainGraph: true to the first Backward() to run several.");
            if (next < inputs.Length)
            {
                stack.Push((t, next + 1));
                var child = inputs[next];
                if (child.Node is not null && child.RequiresGrad && visited.Add(child)) stack.Push((child, 0));
            }
            else order.Add(t);
        }

        var grads = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        if (root.Node is null) { AccumulateLeaf(root, seed); return; }
        grads[root] = seed;
        // Gradients handed to more than one consumer are cloned before anything accumulates into them.
        var seedBase = seed.Base ?? seed;
        var stored = new HashSet<Tensor>(ReferenceEqualityComparer.Instance) { seedBase };
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var t = order[i];
            if (!grads.Remove(t, out var g)) continue;
            var node = t.Node!;
            var inputs = node.Inputs;
            var inputGrads = node.Backward!(g);
            // Nothing holds a node's incoming gradient once its backward has run (the caller's seed aside): the first
            // input it is passed through to (an addition's, a reshape's) takes it as it is, any further one a copy.
            var gBase = g.Base ?? g;
            if (!ReferenceEquals(gBase, seedBase)) stored.Remove(gBase);
            if (!retainGraph) node.Free();
            for (int j = 0; j < inputs.Length; j++)
            {
                var input = inputs[j];
                var ig = j < inputGrads.Length ? inputGrads[j] : null;
                if (ig is null || !input.RequiresGrad) continue;
                if (!ShapeUtil.SameShape(ig.Shape, input.Shape))
                    throw new InvalidOperationException($"Internal error: the backward of '{node.OpName}' produced a gradient of shape {Tensor.ShapeString(ig.Shape)} for an input of shape {Tensor.ShapeString(input.Shape)}.");
                if (input.Node is null) AccumulateLeaf(input, ig);
                else if (grads.TryGetValue(input, out var existing)) Kernels.Elementwise.AddInPlace(existing.Data, ig.Data);
                else grads[input] = stored.Add(ig.Base ?? ig) ? ig : ig.Clone();
            }
        }
    }

    private static void AccumulateLeaf(Tensor leaf, Tensor g)
    {
        if (leaf.Grad is null)
        {
            var grad = Tensor.CreateUnscoped(leaf.ShapeRef, clear: false);
            g.Data.CopyTo(grad.Data);
            leaf.Grad = grad;
        }
        else Kernels.Elementwise.AddInPlace(leaf.Grad.Data, g.Data);
    }
}

/// <summary>A region in which operations do not record the autograd graph. Dispose to leave it.</summary>
public readonly struct NoGradScope : IDisposable
{
    private readonly int _threadId;

    internal NoGradScope(int threadId) => _threadId = threadId;

    /// <summary>Leaves the no-grad region.</summary>
    public void Dispose()
    {
        if (_threadId == 0) return;
        if (Environment.CurrentManagedThreadId != _threadId)
            throw new InvalidOperationException("A NoGrad scope must be disposed on the thread that opened it.");
        Autograd.ExitNoGrad();
    }
}
