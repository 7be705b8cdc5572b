using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Learner.Nn;

/// <summary>
/// A dense, contiguous, row-major float32 tensor with optional reverse-mode automatic differentiation.
/// </summary>
/// <remarks>
/// <para>Storage is always contiguous. <see cref="Reshape"/> returns a view sharing storage; other shape
/// operations copy. Differentiable operations live in <see cref="Ops"/> (and as operators and instance methods
/// here); each records a node on the autograd graph when an input requires gradients and gradient mode is on
/// (see <see cref="Autograd.NoGrad"/>).</para>
/// <para>Tensors created inside a <see cref="TensorScope"/> are released when the scope ends.</para>
/// </remarks>
[DebuggerDisplay("{ToString(),nq}")]
public partial class Tensor
{
    private float[]? _storage;
    private readonly int[] _shape;
    private readonly int _size;
    private bool _requiresGrad;

    /// <summary>Creates a tensor over <paramref name="data"/> (not copied) with the given shape.</summary>
    /// <param name="data">The storage; its length must equal the product of <paramref name="shape"/>.</param>
    /// <param name="shape">The shape; an empty shape makes a scalar.</param>
    /// <exception cref="ShapeMismatchException">The data length does not match the shape.</exception>
    public Tensor(float[] data, params int[] shape) : this(data ?? throw new ArgumentNullException(nameof(data)), CheckShape(shape), register: true, owner: null)
    {
        if (data.Length != _size)
            throw new ShapeMismatchException($"Data of length {data.Length} does not match shape {ShapeString(shape)} ({_size} elements).");
    }

    internal Tensor(float[] storage, int[] shape, bool register, Tensor? owner)
    {
        _storage = storage;
        _shape = shape;
        _size = checked((int)ShapeUtil.Product(shape));
        Base = owner;
        if (register && TensorScope.Current is not null)
        {
            Scoped = true;
            TensorScope.Register(this);
        }
    }

    private static int[] CheckShape(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (int d in shape)
            if (d < 0) throw new ShapeMismatchException($"Shape {ShapeString(shape)} has a negative dimension.");
        long p = ShapeUtil.Product(shape);
        if (p > Array.MaxLength) throw new ShapeMismatchException($"Shape {ShapeString(shape)} has {p} elements, more than an array can hold.");
        return (int[])shape.Clone();
    }

    // ------------------------------------------------------------------ factories

    /// <summary>Creates a tensor of zeros.</summary>
    /// <param name="shape">The shape.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Zeros(params int[] shape) { var s = CheckShape(shape); return new Tensor(BufferPool.Rent(checked((int)ShapeUtil.Product(s)), clear: true), s, true, null); }

    /// <summary>Creates a tensor of ones.</summary>
    /// <param name="shape">The shape.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>Creates a tensor filled with <paramref name="value"/>.</summary>
    /// <param name="value">The fill value.</param>
    /// <param name="shape">The shape.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = Empty(shape);
        t.Data.Fill(value);
        return t;
    }

    /// <summary>Creates a tensor whose contents are unspecified (fast; fill it before reading).</summary>
    /// <param name="shape">The shape.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Empty(params int[] shape) { var s = CheckShape(shape); return new Tensor(BufferPool.Rent(checked((int)ShapeUtil.Product(s)), clear: false), s, true, null); }

    /// <summary>Creates a scalar (rank-0) tensor.</summary>
    /// <param name="value">The value.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Scalar(float value) => Full(value, Array.Empty<int>());

    /// <summary>Creates a tensor by copying <paramref name="values"/>.</summary>
    /// <param name="values">The values, row-major.</param>
    /// <param name="shape">The shape.</param>
    /// <returns>The tensor.</returns>
    public static Tensor FromSpan(ReadOnlySpan<float> values, params int[] shape)
    {
        var t = Empty(shape);
        if (values.Length != t._size)
            throw new ShapeMismatchException($"{values.Length} values do not fill shape {ShapeString(shape)} ({t._size} elements).");
        values.CopyTo(t.Data);
        return t;
    }

    /// <summary>Creates a tensor of uniform values in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    /// <param name="rng">The generator.</param>
    /// <param name="low">Lower bound.</param>
    /// <param name="high">Upper bound.</param>
    /// <param name="shape">The shape.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Uniform(Rng rng, float low, float high, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var t = Empty(shape);
        rng.FillUniform(t.Data, low, high);
        return t;
    }

    /// <summary>Creates a tensor of normal values.</summary>
    /// <param name="rng">The generator.</param>
    /// <param name="mean">Mean.</param>
    /// <param name="std">Standard deviation.</param>
    /// <param name="shape">The shape.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Normal(Rng rng, float mean, float std, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var t = Empty(shape);
        rng.FillNormal(t.Data, mean, std);
        return t;
    }

    /// <summary>Creates a 1-D tensor 0, 1, …, <paramref name="count"/> − 1.</summary>
    /// <param name="count">Number of elements.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Arange(int count)
    {
        var t = Empty(count);
        var d = t.Data;
        for (int i = 0; i < d.Length; i++) d[i] = i;
        return t;
    }

    /// <summary>Creates a tensor not owned by any <see cref="TensorScope"/> (for parameters, gradients, optimizer state).</summary>
    internal static Tensor CreateUnscoped(int[] shape, bool clear) => new(BufferPool.Rent(checked((int)ShapeUtil.Product(shape)), clear), (int[])shape.Clone(), register: false, owner: null);

    /// <summary>Creates a tensor owned by the current scope with pooled storage, without validating the shape array (which it takes over).</summary>
    internal static Tensor CreateOwned(int[] shape, bool clear) => new(BufferPool.Rent(checked((int)ShapeUtil.Product(shape)), clear), shape, register: true, owner: null);

    // ------------------------------------------------------------------ shape and data

    /// <summary>The shape (one entry per axis).</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>A copy of the shape as an array.</summary>
    public int[] ShapeArray => (int[])_shape.Clone();

    internal int[] ShapeRef => _shape;

    /// <summary>The number of axes.</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements.</summary>
    public int Size => _size;

    /// <summary>The length of axis <paramref name="axis"/>; negative axes count from the end.</summary>
    /// <param name="axis">The axis.</param>
    /// <returns>The length.</returns>
    public int Dim(int axis) => _shape[ShapeUtil.NormalizeAxis(axis, _shape.Length, "Dim")];

    /// <summary>The elements, row-major. Writing through this span bypasses autograd.</summary>
    /// <exception cref="ObjectDisposedException">The tensor was released by its scope.</exception>
    public Span<float> Data
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (_storage ?? ThrowDisposed()).AsSpan(0, _size);
    }

    /// <summary>The storage array (length ≥ <see cref="Size"/>). Internal: kernels index it directly.</summary>
    internal float[] Storage => _storage ?? ThrowDisposed();

    /// <summary>Whether the tensor's storage has been released by its scope.</summary>
    public bool IsDisposed => _storage is null;

    /// <summary>The tensor whose storage this view shares, or null when the tensor owns its storage.</summary>
    internal Tensor? Base { get; }

    /// <summary>Whether a scope currently owns this tensor.</summary>
    internal bool Scoped { get; set; }

    internal void Release()
    {
        var s = _storage;
        _storage = null;
        Node = null;
        Grad = null;
        if (s is not null && Base is null) BufferPool.Return(s);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private float[] ThrowDisposed() => throw new ObjectDisposedException(nameof(Tensor), $"The tensor of shape {ShapeString(_shape)} was released by its TensorScope; call scope.Keep(tensor) to keep it.");

    /// <summary>The value of a one-element tensor.</summary>
    /// <returns>The value.</returns>
    /// <exception cref="ShapeMismatchException">The tensor has more than one element.</exception>
    public float Item()
    {
        if (_size != 1) throw new ShapeMismatchException($"Item() needs a one-element tensor, got shape {ShapeString(_shape)}.");
        return Data[0];
    }

    /// <summary>Reads the element at the given multi-index.</summary>
    /// <param name="index">One index per axis.</param>
    [IndexerName("At")]
    public float this[params int[] index]
    {
        get => Data[ShapeUtil.FlatIndex(_shape, index)];
        set => Data[ShapeUtil.FlatIndex(_shape, index)] = value;
    }

    /// <summary>Copies the elements to a new array.</summary>
    /// <returns>The array.</returns>
    public float[] ToArray() => Data.ToArray();

    /// <summary>A copy with the same values and shape, detached from the autograd graph.</summary>
    /// <returns>The copy.</returns>
    public Tensor Clone()
    {
        var t = CreateOwned(ShapeArray, clear: false);
        Data.CopyTo(t.Data);
        return t;
    }

    /// <summary>A tensor sharing this tensor's storage but detached from the autograd graph.</summary>
    /// <returns>The detached view.</returns>
    public Tensor Detach() => new(Storage, _shape, register: true, owner: Base ?? this);

    /// <summary>Copies <paramref name="source"/>'s values into this tensor (no autograd).</summary>
    /// <param name="source">A tensor of the same shape.</param>
    public void CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!ShapeUtil.SameShape(_shape, source._shape))
            throw new ShapeMismatchException($"CopyFrom: shape {ShapeString(source._shape)} does not match {ShapeString(_shape)}.");
        source.Data.CopyTo(Data);
    }

    /// <summary>The flat (row-major) index of the first element that is NaN or infinite, or -1 when every element is finite.</summary>
    /// <returns>The index, or -1.</returns>
    public int IndexOfNonFinite() => Kernels.Simd.IndexOfNonFinite(Data);

    /// <summary>Throws <see cref="NonFiniteValueException"/> naming <paramref name="what"/> and the first index if any element is NaN or infinite.</summary>
    /// <param name="what">What the tensor is, for the message.</param>
    /// <returns>This tensor.</returns>
    public Tensor CheckFinite(string what = "tensor")
    {
        var d = Data;
        int bad = Kernels.Simd.IndexOfNonFinite(d);
        if (bad >= 0)
        {
            string idx = ShapeUtil.UnflattenString(_shape, bad);
            throw new NonFiniteValueException($"{what} of shape {ShapeString(_shape)} holds {d[bad].ToString(CultureInfo.InvariantCulture)} at index {idx}.", bad);
        }
        return this;
    }

    // ------------------------------------------------------------------ autograd

    /// <summary>Whether gradients are accumulated for this tensor. Only leaves (tensors no operation produced) can be set.</summary>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (Node is not null && !value)
                throw new AutogradException("RequiresGrad cannot be cleared on a tensor produced by an operation; use Detach().");
            _requiresGrad = value;
        }
    }

    /// <summary>The accumulated gradient of a leaf after <see cref="Backward(Tensor?, bool)"/>, or null.</summary>
    public Tensor? Grad { get; internal set; }

    /// <summary>The graph node that produced this tensor, or null for a leaf.</summary>
    internal GradNode? Node { get; set; }

    /// <summary>Whether this tensor is a leaf of the autograd graph (not produced by a recorded operation).</summary>
    public bool IsLeaf => Node is null;

    /// <summary>A label used in messages (parameters carry their qualified name).</summary>
    public string? Name { get; set; }

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor.</summary>
    /// <param name="requiresGrad">The flag.</param>
    /// <returns>This tensor.</returns>
    public Tensor RequireGrad(bool requiresGrad = true) { RequiresGrad = requiresGrad; return this; }

    /// <summary>Clears the accumulated gradient.</summary>
    public void ZeroGrad() => Grad?.Data.Clear();

    /// <summary>Back-propagates from this tensor, accumulating into <see cref="Grad"/> of every leaf that requires gradients.</summary>
    /// <param name="gradient">d(objective)/d(this); may be omitted for a one-element tensor (taken as 1).</param>
    /// <param name="retainGraph">Keep the graph so that another backward can run through it.</param>
    public void Backward(Tensor? gradient = null, bool retainGraph = false) => Autograd.Backward(this, gradient, retainGraph);

    // ------------------------------------------------------------------ formatting

    /// <summary>Formats a shape as in messages, e.g. <c>[2, 3]</c>.</summary>
    /// <param name="shape">The shape.</param>
    /// <returns>The text.</returns>
    public static string FormatShape(ReadOnlySpan<int> shape) => ShapeString(shape);

    internal static string ShapeString(ReadOnlySpan<int> shape)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < shape.Length; i++) { if (i > 0) sb.Append(", "); sb.Append(shape[i]); }
        return sb.Append(']').ToString();
    }

    /// <summary>A short description: shape, and the first values.</summary>
    /// <returns>The description.</returns>
    public override string ToString()
    {
        if (_storage is null) return $"Tensor{ShapeString(_shape)} (disposed)";
        var sb = new StringBuilder($"Tensor{ShapeString(_shape)}");
        if (Node is not null) sb.Append(" grad_fn=").Append(Node.OpName);
        else if (_requiresGrad) sb.Append(" requires_grad");
        sb.Append(" {");
        int n = Math.Min(_size, 8);
        for (int i = 0; i < n; i++) { if (i > 0) sb.Append(", "); sb.Append(_storage[i].ToString("G6", CultureInfo.InvariantCulture)); }
        if (_size > n) sb.Append(", …");
        return sb.Append('}').ToString();
    }
}

public partial class Tensor
{
    internal void RequiresGradInternal() => _requiresGrad = true;
}
