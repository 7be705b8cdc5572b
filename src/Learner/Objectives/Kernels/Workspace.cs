namespace Learner.Objectives.Kernels;

/// <summary>A grow-only buffer owned by an objective: reused across calls so steady-state training allocates nothing.</summary>
internal sealed class Workspace<T>
{
    private T[] _buffer = System.Array.Empty<T>();

    /// <summary>A span of exactly <paramref name="length"/> elements (contents unspecified unless <paramref name="clear"/>).</summary>
    public Span<T> Get(int length, bool clear = false)
    {
        if (_buffer.Length < length) _buffer = new T[length];
        var s = _buffer.AsSpan(0, length);
        if (clear) s.Clear();
        return s;
    }

    /// <summary>The underlying array (at least the last requested length).</summary>
    public T[] Array => _buffer;
}
