using System.Globalization;

namespace Learner.Nn;

/// <summary>
/// Reads the <c>LEARNER_*</c> environment variables that size the library's memory (the tensor pool, the payload
/// cache): one parser, so every such variable accepts and rejects the same spellings with the same message.
/// </summary>
public static class EnvironmentSettings
{
    /// <summary>
    /// The size in bytes that a whole number of mebibytes ≥ 0 in <paramref name="value"/> names, or null when the value
    /// is null or blank (the caller's default applies).
    /// </summary>
    /// <param name="variable">The variable's name, for the message.</param>
    /// <param name="value">Its value, as read from the environment.</param>
    /// <returns>The size in bytes, or null for "not set".</returns>
    /// <exception cref="InvalidOperationException">The value is not a whole number of mebibytes ≥ 0 (signs, fractions,
    /// units and sizes past 8 EiB are refused), naming the variable and the value.</exception>
    public static long? Mebibytes(string variable, string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        if (!long.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long mb) || mb > long.MaxValue >> 20)
            throw new InvalidOperationException($"{variable} = '{value}' is not a whole number of mebibytes ≥ 0.");
        return mb << 20;
    }
}
