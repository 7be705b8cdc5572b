using System.Globalization;
using System.Reflection;
using Learner.Objectives.Options;

namespace Learner.Objectives;

/// <summary>Applies a term's text overrides to an options record: clones it through the record's copy semantics and
/// sets the named properties by reflection, converting each text to the property's type.</summary>
internal static class OptionOverrides
{
    /// <summary>The public settable (set or init) instance properties of <paramref name="optionsType"/>, by name (case-insensitive).</summary>
    public static IReadOnlyDictionary<string, PropertyInfo> Properties(Type optionsType)
    {
        var map = new Dictionary<string, PropertyInfo>(StringComparer.OrdinalIgnoreCase);
        foreach (var p in optionsType.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (p.SetMethod is { IsPublic: true } && p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract")
                map[p.Name] = p;
        return map;
    }

    /// <summary>Whether a property of this type can be set from text.</summary>
    public static bool IsSettable(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type.IsEnum || type == typeof(bool) || type == typeof(string) || type == typeof(int) || type == typeof(long)
            || type == typeof(uint) || type == typeof(ulong) || type == typeof(float) || type == typeof(double) || type == typeof(decimal);
    }

    /// <summary>Names of the options of <paramref name="optionsType"/> that can be set from text, camel-cased, sorted.</summary>
    public static string SettableList(Type optionsType)
        => string.Join(", ", Properties(optionsType).Values.Where(p => IsSettable(p.PropertyType)).Select(p => CamelCase(p.Name)).Order(StringComparer.Ordinal));

    /// <summary>A copy of <paramref name="options"/> with the overrides applied (not validated).</summary>
    public static ObjectiveOptions Apply(ObjectiveOptions options, IReadOnlyList<KeyValuePair<string, string>> overrides, string spec, string term)
    {
        var type = options.GetType();
        var clone = type.GetMethod("<Clone>$", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes)
            ?? throw new ObjectiveSpecException($"Objective spec '{spec}' term '{term}': its options type {type.Name} is not a record, so its options cannot be overridden.", spec, null, term, null);
        var copy = (ObjectiveOptions)clone.Invoke(options, null)!;
        var properties = Properties(type);
        foreach (var (key, text) in overrides)
        {
            if (!properties.TryGetValue(key, out var property))
                throw new ObjectiveSpecException(
                    $"Objective spec '{spec}' term '{term}' has the unknown option '{key}'; the options of {term} ({type.Name}) that can be set are: {SettableList(type)}.",
                    spec, null, term, key);
            if (!IsSettable(property.PropertyType))
                throw new ObjectiveSpecException(
                    $"Objective spec '{spec}' term '{term}' option '{key}' ({type.Name}.{property.Name}, of type {TypeName(property.PropertyType)}) cannot be set from text; set it in code. The options that can be set are: {SettableList(type)}.",
                    spec, null, term, key);
            if (!TryConvert(text, property.PropertyType, out object? value, out string expected))
                throw new ObjectiveSpecException(
                    $"Objective spec '{spec}' term '{term}' option '{key}' has the value '{text}', which is not {expected}.",
                    spec, null, term, key);
            property.SetValue(copy, value);
        }
        return copy;
    }

    // Converts the text to the property type; "null" converts to null for nullable and string properties.
    private static bool TryConvert(string text, Type type, out object? value, out string expected)
    {
        var underlying = Nullable.GetUnderlyingType(type);
        var t = underlying ?? type;
        var inv = CultureInfo.InvariantCulture;
        expected = t.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(t))} (case-insensitive)"
            : t == typeof(bool) ? "true or false"
            : t == typeof(float) || t == typeof(double) || t == typeof(decimal) ? $"a number ({TypeName(t)}, invariant culture, e.g. 0.5 or 1e-2)"
            : t == typeof(string) ? "text"
            : $"an integer ({TypeName(t)})";
        value = null;
        if ((underlying is not null || t == typeof(string)) && text.Equals("null", StringComparison.OrdinalIgnoreCase)) return true;
        bool ok;
        if (t.IsEnum)
        {
            string? member = Enum.GetNames(t).FirstOrDefault(n => n.Equals(text, StringComparison.OrdinalIgnoreCase));
            ok = member is not null;
            if (ok) value = Enum.Parse(t, member!);
        }
        else if (t == typeof(string)) { value = text; ok = true; }
        else if (t == typeof(bool)) { ok = bool.TryParse(text, out var v); value = v; }
        else if (t == typeof(int)) { ok = int.TryParse(text, NumberStyles.Integer, inv, out var v); value = v; }
        else if (t == typeof(long)) { ok = long.TryParse(text, NumberStyles.Integer, inv, out var v); value = v; }
        else if (t == typeof(uint)) { ok = uint.TryParse(text, NumberStyles.Integer, inv, out var v); value = v; }
        else if (t == typeof(ulong)) { ok = ulong.TryParse(text, NumberStyles.Integer, inv, out var v); value = v; }
        else if (t == typeof(float)) { ok = float.TryParse(text, NumberStyles.Float, inv, out var v); value = v; }
        else if (t == typeof(double)) { ok = double.TryParse(text, NumberStyles.Float, inv, out var v); value = v; }
        else if (t == typeof(decimal)) { ok = decimal.TryParse(text, NumberStyles.Float, inv, out var v); value = v; }
        else ok = false;
        if (!ok) value = null;
        return ok;
    }

    internal static string CamelCase(string name) => name.Length == 0 ? name : char.ToLowerInvariant(name[0]) + name[1..];

    private static string TypeName(Type t)
    {
        var u = Nullable.GetUnderlyingType(t);
        if (u is not null) return TypeName(u) + "?";
        if (!t.IsGenericType) return t.Name;
        string baseName = t.Name[..t.Name.IndexOf('`')];
        return $"{baseName}<{string.Join(", ", t.GetGenericArguments().Select(TypeName))}>";
    }
}
