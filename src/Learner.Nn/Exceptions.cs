namespace Learner.Nn;

/// <summary>Thrown when tensor shapes or ranks are incompatible for an operation. The message names the operation and the shapes.</summary>
public sealed class ShapeMismatchException : ArgumentException
{
    /// <summary>Creates the exception with a message that names the operation and the offending shapes.</summary>
    /// <param name="message">The message.</param>
    public ShapeMismatchException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="inner">The inner exception.</param>
    public ShapeMismatchException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Thrown for misuse of automatic differentiation: a backward through a freed graph, a backward from a
/// tensor that does not require gradients, a non-scalar root without an explicit gradient, and similar.</summary>
public sealed class AutogradException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public AutogradException(string message) : base(message) { }
}

/// <summary>Thrown when a tensor that is checked for finiteness holds NaN or infinity. The message names the
/// operation or tensor and the first offending flat index.</summary>
public sealed class NonFiniteValueException : ArithmeticException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="index">The first offending flat index.</param>
    public NonFiniteValueException(string message, long index) : base(message) { Index = index; }

    /// <summary>The flat (row-major) index of the first non-finite element found.</summary>
    public long Index { get; }
}
