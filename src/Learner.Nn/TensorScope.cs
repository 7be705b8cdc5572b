namespace Learner.Nn;

/// <summary>
/// A region whose temporary tensors are released together. Every tensor created on this thread while the scope is
/// the innermost one is owned by it; disposing the scope returns their storage to a pool for reuse and marks them
/// disposed (further use throws <see cref="ObjectDisposedException"/>). Call <see cref="Keep{T}"/> for a tensor
/// that must outlive the scope. Parameters, their gradients and optimizer state are never owned by a scope.
/// </summary>
/// <example>
/// <code>
/// for (int step = 0; step &lt; steps; step++)
/// {
///     using var scope = TensorScope.Begin();
///     var loss = Ops.Mean(Ops.Square(model.Forward(x) - y));
///     loss.Backward();
///     optimizer.Step();
///     lossValue = loss.Item();
/// }
/// </code>
/// </example>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;
    private readonly TensorScope? _parent;
    private readonly List<Tensor> _owned = new();
    private readonly int _threadId;
    private bool _disposed;

    private TensorScope()
    {
        _parent = _current;
        _threadId = Environment.CurrentManagedThreadId;
        _current = this;
    }

    /// <summary>Opens a scope on the current thread; it becomes the innermost scope until disposed.</summary>
    /// <returns>The scope.</returns>
    public static TensorScope Begin() => new();

    /// <summary>The innermost open scope on this thread, if any.</summary>
    public static TensorScope? Current => _current;

    /// <summary>Number of tensors the scope currently owns.</summary>
    public int OwnedCount => _owned.Count;

    internal static void Register(Tensor t) => _current?._owned.Add(t);

    /// <summary>Removes <paramref name="tensor"/> (and the tensor whose storage it views) from this scope and its
    /// enclosing scopes, so it survives them. Its autograd history is kept; detach it if the graph is not needed.</summary>
    /// <typeparam name="T">Tensor type.</typeparam>
    /// <param name="tensor">The tensor to keep.</param>
    /// <returns>The same tensor.</returns>
    public T Keep<T>(T tensor) where T : Tensor
    {
        ArgumentNullException.ThrowIfNull(tensor);
        Tensor? t = tensor;
        while (t is not null)
        {
            for (var s = this; s is not null; s = s._parent) s._owned.Remove(t);
            t.Scoped = false;
            t = t.Base;
        }
        return tensor;
    }

    /// <summary>Releases every tensor the scope owns and restores the enclosing scope.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        if (Environment.CurrentManagedThreadId != _threadId)
            throw new InvalidOperationException("A TensorScope must be disposed on the thread that began it.");
        if (!ReferenceEquals(_current, this))
            throw new InvalidOperationException("TensorScopes must be disposed in reverse order of creation (an inner scope is still open).");
        _disposed = true;
        _current = _parent;
        // Views first, so that owners release storage only once nobody in this scope views it.
        foreach (var t in _owned) if (t.Scoped) t.Release();
        _owned.Clear();
    }
}
