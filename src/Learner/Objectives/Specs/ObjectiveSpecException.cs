namespace Learner.Objectives;

/// <summary>
/// An objective spec (see <see cref="ObjectiveSpec"/>) that cannot be parsed, names an unknown objective or option,
/// gives an option a value it cannot take, or cannot be built for the cohort at hand. The message quotes the whole
/// spec and names the term, the option and what was expected; <see cref="Spec"/>, <see cref="Position"/>,
/// <see cref="Term"/> and <see cref="Option"/> carry the same facts for programs.
/// </summary>
public sealed class ObjectiveSpecException : ArgumentException
{
    /// <summary>Creates the exception with a message only.</summary>
    /// <param name="message">What is wrong, naming the spec.</param>
    public ObjectiveSpecException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and the error it wraps.</summary>
    /// <param name="message">What is wrong, naming the spec.</param>
    /// <param name="innerException">The underlying error (e.g. an options record's validation error).</param>
    public ObjectiveSpecException(string message, Exception? innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with every detail.</summary>
    /// <param name="message">What is wrong, naming the spec.</param>
    /// <param name="spec">The whole spec text.</param>
    /// <param name="position">The 0-based character position of the error in <paramref name="spec"/>, or null.</param>
    /// <param name="term">The offending term's objective name, or null.</param>
    /// <param name="option">The offending option's key, or null.</param>
    /// <param name="innerException">The underlying error, or null.</param>
    public ObjectiveSpecException(string message, string? spec, int? position, string? term, string? option, Exception? innerException = null)
        : base(message, innerException)
    {
        Spec = spec;
        Position = position;
        Term = term;
        Option = option;
    }

    /// <summary>The whole spec text, when known.</summary>
    public string? Spec { get; }

    /// <summary>The 0-based character position of a parse error in <see cref="Spec"/>, or null for other errors.</summary>
    public int? Position { get; }

    /// <summary>The objective name of the offending term, when the error concerns one term.</summary>
    public string? Term { get; }

    /// <summary>The key of the offending option, when the error concerns one option.</summary>
    public string? Option { get; }
}
