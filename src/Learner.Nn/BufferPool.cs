namespace Learner.Nn;

/// <summary>
/// Exact-length pool of float buffers. Tensors released by a <see cref="TensorScope"/> return their storage here,
/// and new tensors of the same length reuse it, so a training step with fixed shapes allocates no tensor storage
/// once warm. Bounded: beyond <see cref="MaxPooledElements"/> returned buffers are left to the garbage collector.
/// </summary>
internal static class BufferPool
{
    /// <summary>Upper bound on the total number of pooled elements (256 Mi floats = 1 GiB).</summary>
    internal const long MaxPooledElements = 256L * 1024 * 1024;

    private static readonly Dictionary<int, Stack<float[]>> Buckets = new();
    private static readonly object Gate = new();
    private static long _pooled;

    /// <summary>Rents a buffer of exactly <paramref name="length"/> elements; zeroed when <paramref name="clear"/>.</summary>
    internal static float[] Rent(int length, bool clear)
    {
        if (length == 0) return Array.Empty<float>();
        float[]? buffer = null;
        lock (Gate)
        {
            if (Buckets.TryGetValue(length, out var stack) && stack.Count > 0)
            {
                buffer = stack.Pop();
                _pooled -= length;
            }
        }
        if (buffer is null) return clear ? new float[length] : GC.AllocateUninitializedArray<float>(length);
        if (clear) Array.Clear(buffer);
        return buffer;
    }

    /// <summary>Returns a buffer to the pool. The caller must hold no other reference to it.</summary>
    internal static void Return(float[] buffer)
    {
        if (buffer.Length == 0) return;
        lock (Gate)
        {
            if (_pooled + buffer.Length > MaxPooledElements) return;
            if (!Buckets.TryGetValue(buffer.Length, out var stack)) Buckets[buffer.Length] = stack = new Stack<float[]>();
            stack.Push(buffer);
            _pooled += buffer.Length;
        }
    }

    /// <summary>Drops every pooled buffer.</summary>
    internal static void Clear()
    {
        lock (Gate) { Buckets.Clear(); _pooled = 0; }
    }

    /// <summary>Number of elements currently held by the pool.</summary>
    internal static long PooledElements { get { lock (Gate) return _pooled; } }
}
