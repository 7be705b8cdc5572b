namespace Learner.Reporting;

/// <summary>A column of a <see cref="TextTable"/>: its header text (literal; escaped on rendering) and alignment.</summary>
public sealed record TextColumn
{
    /// <summary>Creates a column.</summary>
    /// <param name="header">The header text, taken literally (a <c>|</c> or a newline in it is escaped on rendering); may be empty.</param>
    /// <param name="alignment">The alignment of the column's cells.</param>
    /// <exception cref="ArgumentNullException">The header is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The alignment is not a defined value.</exception>
    public TextColumn(string header, ColumnAlignment alignment = ColumnAlignment.Left)
    {
        ArgumentNullException.ThrowIfNull(header);
        if (!Enum.IsDefined(alignment)) throw new ArgumentOutOfRangeException(nameof(alignment), alignment, $"Unknown alignment for column '{header}'.");
        Header = header;
        Alignment = alignment;
    }

    /// <summary>The header text, literal.</summary>
    public string Header { get; }

    /// <summary>The alignment of the column's cells.</summary>
    public ColumnAlignment Alignment { get; }

    /// <summary>A left-aligned column (text).</summary>
    /// <param name="header">The header text.</param>
    /// <returns>The column.</returns>
    public static TextColumn Left(string header) => new(header, ColumnAlignment.Left);

    /// <summary>A right-aligned column (numbers).</summary>
    /// <param name="header">The header text.</param>
    /// <returns>The column.</returns>
    public static TextColumn Right(string header) => new(header, ColumnAlignment.Right);
}
