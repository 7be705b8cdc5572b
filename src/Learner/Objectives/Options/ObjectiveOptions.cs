namespace Learner.Objectives.Options;

/// <summary>Base of every objective's options: an immutable record validated before use.</summary>
public abstract record ObjectiveOptions
{
    /// <summary>Checks every option.</summary>
    /// <exception cref="ArgumentException">An option is out of range; the message and ParamName name it.</exception>
    public abstract void Validate();

    /// <summary>Throws when <paramref name="value"/> is not finite and &gt; 0.</summary>
    protected void Positive(double value, string option)
    {
        if (!(value > 0) || !double.IsFinite(value))
            throw new ArgumentOutOfRangeException(option, value, FormattableString.Invariant($"{GetType().Name}.{option} must be a finite number > 0, got {value}."));
    }

    /// <summary>Throws when <paramref name="value"/> is not finite and ≥ 0.</summary>
    protected void NonNegative(double value, string option)
    {
        if (!(value >= 0) || !double.IsFinite(value))
            throw new ArgumentOutOfRangeException(option, value, FormattableString.Invariant($"{GetType().Name}.{option} must be a finite number ≥ 0, got {value}."));
    }

    /// <summary>Throws when <paramref name="value"/> is not finite.</summary>
    protected void Finite(double value, string option)
    {
        if (!double.IsFinite(value))
            throw new ArgumentOutOfRangeException(option, value, FormattableString.Invariant($"{GetType().Name}.{option} must be finite, got {value}."));
    }

    /// <summary>Throws when an enum value is undefined.</summary>
    protected void Defined<TEnum>(TEnum value, string option) where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
            throw new ArgumentOutOfRangeException(option, value, $"{GetType().Name}.{option} has the undefined value {value}.");
    }
}
