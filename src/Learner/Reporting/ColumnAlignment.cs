namespace Learner.Reporting;

/// <summary>How the cells of a <see cref="TextTable"/> column are aligned in markdown (<c>---</c> or <c>---:</c>).</summary>
public enum ColumnAlignment
{
    /// <summary>Left-aligned (text); the markdown delimiter cell is <c>---</c>.</summary>
    Left,

    /// <summary>Right-aligned (numbers); the markdown delimiter cell is <c>---:</c>.</summary>
    Right,
}
