namespace Learner.Objectives;

/// <summary>Thrown when a batch does not fit an objective: missing or mis-sized metadata, an index out of range,
/// a wrongly sized gradient buffer. The message names the field and the offending value.</summary>
public sealed class ObjectiveInputException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message, naming the field and the value.</param>
    /// <param name="field">The offending field.</param>
    public ObjectiveInputException(string message, string field) : base(message, field) { Field = field; }

    /// <summary>The offending batch field or argument.</summary>
    public string Field { get; }
}

/// <summary>Thrown when an embedding (or a score) fed to an objective is NaN or infinite. The message names the
/// input, the row and the column.</summary>
public sealed class NonFiniteEmbeddingException : ArithmeticException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="input">Which input ("embeddings", "second view", "scores").</param>
    /// <param name="row">The offending row.</param>
    /// <param name="column">The offending column (0 for per-row scalars).</param>
    /// <param name="value">The offending value.</param>
    public NonFiniteEmbeddingException(string input, int row, int column, float value)
        : base($"Objective input '{input}' holds {value.ToString(System.Globalization.CultureInfo.InvariantCulture)} at row {row}, column {column}; objectives need finite values.")
    {
        Input = input; Row = row; Column = column;
    }

    /// <summary>The input that holds the value.</summary>
    public string Input { get; }

    /// <summary>The offending row (batch index).</summary>
    public int Row { get; }

    /// <summary>The offending column.</summary>
    public int Column { get; }
}
