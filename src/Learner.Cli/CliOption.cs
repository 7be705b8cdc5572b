using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Learner.Cli;

/// <summary>
/// How the commands declare their options: with a description and a default, and with numbers read in the invariant
/// culture whatever the process's culture is (System.CommandLine reads them in the current one, where
/// <c>--lr 0.5</c> means 5 under a German culture; the tool itself starts invariant, but a host that turns
/// <c>DOTNET_SYSTEM_GLOBALIZATION_INVARIANT</c> off, or the commands run in another process, would not).
/// </summary>
internal static class CliOption
{
    /// <summary>An option of <typeparamref name="T"/> with <paramref name="defaultValue"/>.</summary>
    public static Option<T> Create<T>(string name, string description, T defaultValue) =>
        Invariant(new Option<T>(name) { Description = description, DefaultValueFactory = _ => defaultValue });

    /// <summary><paramref name="option"/>, its value parsed in the invariant culture when it is a double (nullable or
    /// not: the commands' only floating-point type); other types are left to System.CommandLine.</summary>
    public static Option<T> Invariant<T>(Option<T> option)
    {
        if ((Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T)) != typeof(double)) return option;
        option.CustomParser = result =>
        {
            string text = result.Tokens[0].Value;  // the option's arity (one value) is checked before its parser runs
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)) return (T)(object)value;
            result.AddError($"{option.Name}: '{text}' is not a number (write it with a '.' as the decimal point, e.g. 0.5).");
            return default!;
        };
        return option;
    }
}
