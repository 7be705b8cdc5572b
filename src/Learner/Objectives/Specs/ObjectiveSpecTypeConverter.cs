using System.ComponentModel;
using System.Globalization;

namespace Learner.Objectives;

/// <summary>Converts between <see cref="ObjectiveSpec"/> and its grammar string, so that configuration binding
/// (<c>IConfiguration.Get&lt;ObjectiveSpec[]&gt;()</c>) and other <see cref="TypeConverter"/> users read specs directly.</summary>
public sealed class ObjectiveSpecTypeConverter : TypeConverter
{
    /// <inheritdoc />
    public override bool CanConvertFrom(ITypeDescriptorContext? context, Type sourceType)
        => sourceType == typeof(string) || base.CanConvertFrom(context, sourceType);

    /// <inheritdoc />
    public override bool CanConvertTo(ITypeDescriptorContext? context, Type? destinationType)
        => destinationType == typeof(string) || base.CanConvertTo(context, destinationType);

    /// <summary>Parses a grammar string (see <see cref="ObjectiveSpec.Parse"/>).</summary>
    /// <param name="context">Unused.</param>
    /// <param name="culture">Unused: the grammar is culture-invariant.</param>
    /// <param name="value">The spec text.</param>
    /// <returns>The spec.</returns>
    /// <exception cref="ObjectiveSpecException">The text is not a valid spec.</exception>
    public override object? ConvertFrom(ITypeDescriptorContext? context, CultureInfo? culture, object value)
        => value is string s ? ObjectiveSpec.Parse(s) : base.ConvertFrom(context, culture, value);

    /// <summary>Writes a spec's canonical text (see <see cref="ObjectiveSpec.ToString"/>).</summary>
    /// <param name="context">Unused.</param>
    /// <param name="culture">Unused: the grammar is culture-invariant.</param>
    /// <param name="value">The spec.</param>
    /// <param name="destinationType">string.</param>
    /// <returns>The text.</returns>
    public override object? ConvertTo(ITypeDescriptorContext? context, CultureInfo? culture, object? value, Type destinationType)
        => destinationType == typeof(string) && value is ObjectiveSpec spec ? spec.ToString() : base.ConvertTo(context, culture, value, destinationType);
}
