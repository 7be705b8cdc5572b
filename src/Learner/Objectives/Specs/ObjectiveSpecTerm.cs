using System.Globalization;
using System.Text;

namespace Learner.Objectives;

/// <summary>
/// One term of an <see cref="ObjectiveSpec"/>: <c>[weight '*'] name ['(' key=value, … ')']</c>. Immutable, with value
/// equality: the name is canonicalised to lower case, option keys compare case-insensitively, values compare as written
/// (trimmed), and option order matters (it is kept as written, so <see cref="ToString"/> round-trips).
/// </summary>
public sealed class ObjectiveSpecTerm : IEquatable<ObjectiveSpecTerm>
{
    private readonly KeyValuePair<string, string>[] _options;

    /// <summary>Creates a term.</summary>
    /// <param name="name">The recipe or objective name: a letter, then letters, digits and '-' (canonicalised to lower case).</param>
    /// <param name="weight">The weight λ: finite and ≥ 0 (1 builds the plain objective when the spec has one term).</param>
    /// <param name="options">Option overrides, key (an options property name, case-insensitive) to value text; null for none.
    /// Keys are identifiers and distinct; values are non-empty and contain none of <c>, ( ) = </c>.</param>
    /// <exception cref="ObjectiveSpecException">The name, the weight, a key or a value is malformed, or a key repeats; the
    /// message names it.</exception>
    public ObjectiveSpecTerm(string name, double weight = 1, IReadOnlyList<KeyValuePair<string, string>>? options = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!IsName(name))
            throw new ObjectiveSpecException($"Objective spec term name '{name}' is invalid: expected a letter followed by letters, digits or '-'.", null, null, name, null);
        Name = name.ToLowerInvariant();
        if (!double.IsFinite(weight) || !(weight >= 0))
            throw new ObjectiveSpecException($"Objective spec term '{Name}' has the weight {weight.ToString("R", CultureInfo.InvariantCulture)}: expected a finite number ≥ 0.", null, null, Name, null);
        Weight = weight == 0 ? 0 : weight; // -0 reads as 0
        _options = options is null ? Array.Empty<KeyValuePair<string, string>>() : new KeyValuePair<string, string>[options.Count];
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < _options.Length; i++)
        {
            string key = options![i].Key ?? throw new ObjectiveSpecException($"Objective spec term '{Name}' has an option with a null key.", null, null, Name, null);
            string value = (options[i].Value ?? throw new ObjectiveSpecException($"Objective spec term '{Name}' option '{key}' has a null value.", null, null, Name, key)).Trim();
            key = key.Trim();
            if (!IsKey(key))
                throw new ObjectiveSpecException($"Objective spec term '{Name}' has the option key '{key}': expected a letter or '_' followed by letters, digits or '_'.", null, null, Name, key);
            if (!IsValue(value))
                throw new ObjectiveSpecException($"Objective spec term '{Name}' option '{key}' has the value '{value}': expected non-empty text without ',', '(', ')' or '='.", null, null, Name, key);
            if (!seen.Add(key))
                throw new ObjectiveSpecException($"Objective spec term '{Name}' sets the option '{key}' twice.", null, null, Name, key);
            _options[i] = new KeyValuePair<string, string>(key, value);
        }
    }

    /// <summary>The recipe or objective name, lower case.</summary>
    public string Name { get; }

    /// <summary>The weight λ (finite, ≥ 0; default 1).</summary>
    public double Weight { get; }

    /// <summary>The option overrides in the order written: key (case-insensitive property name) and value text.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Options => _options;

    /// <summary>Deconstructs the term into its name, weight and options.</summary>
    /// <param name="name">The name.</param>
    /// <param name="weight">The weight.</param>
    /// <param name="options">The options.</param>
    public void Deconstruct(out string name, out double weight, out IReadOnlyList<KeyValuePair<string, string>> options)
    {
        name = Name;
        weight = Weight;
        options = Options;
    }

    /// <summary>The canonical text of the term: the weight and '*' unless it is 1, the name, then the options (if any)
    /// as <c>(key=value, key=value)</c>. <see cref="ObjectiveSpec.Parse"/> reads it back to an equal term.</summary>
    /// <returns>The canonical text.</returns>
    public override string ToString()
    {
        var sb = new StringBuilder();
        if (Weight != 1) sb.Append(Weight.ToString("R", CultureInfo.InvariantCulture)).Append('*');
        sb.Append(Name);
        if (_options.Length > 0)
        {
            sb.Append('(');
            for (int i = 0; i < _options.Length; i++)
            {
                if (i > 0) sb.Append(", ");
                sb.Append(_options[i].Key).Append('=').Append(_options[i].Value);
            }
            sb.Append(')');
        }
        return sb.ToString();
    }

    /// <inheritdoc />
    public bool Equals(ObjectiveSpecTerm? other)
    {
        if (ReferenceEquals(this, other)) return true;
        if (other is null || Name != other.Name || !Weight.Equals(other.Weight) || _options.Length != other._options.Length) return false;
        for (int i = 0; i < _options.Length; i++)
            if (!string.Equals(_options[i].Key, other._options[i].Key, StringComparison.OrdinalIgnoreCase)
                || !string.Equals(_options[i].Value, other._options[i].Value, StringComparison.Ordinal))
                return false;
        return true;
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ObjectiveSpecTerm);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Name, StringComparer.Ordinal);
        h.Add(Weight);
        foreach (var o in _options)
        {
            h.Add(o.Key, StringComparer.OrdinalIgnoreCase);
            h.Add(o.Value, StringComparer.Ordinal);
        }
        return h.ToHashCode();
    }

    /// <summary>Whether two terms are equal (see <see cref="Equals(ObjectiveSpecTerm?)"/>).</summary>
    /// <param name="left">A term, or null.</param>
    /// <param name="right">A term, or null.</param>
    /// <returns>True if equal.</returns>
    public static bool operator ==(ObjectiveSpecTerm? left, ObjectiveSpecTerm? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Whether two terms differ.</summary>
    /// <param name="left">A term, or null.</param>
    /// <param name="right">A term, or null.</param>
    /// <returns>True if not equal.</returns>
    public static bool operator !=(ObjectiveSpecTerm? left, ObjectiveSpecTerm? right) => !(left == right);

    internal static bool IsName(string s)
    {
        if (s.Length == 0 || !char.IsAsciiLetter(s[0])) return false;
        foreach (char c in s)
            if (!char.IsAsciiLetterOrDigit(c) && c != '-') return false;
        return true;
    }

    internal static bool IsKey(string s)
    {
        if (s.Length == 0 || !(char.IsAsciiLetter(s[0]) || s[0] == '_')) return false;
        foreach (char c in s)
            if (!char.IsAsciiLetterOrDigit(c) && c != '_') return false;
        return true;
    }

    internal static bool IsValue(string s) => s.Length > 0 && s.IndexOfAny(ForbiddenInValue) < 0;

    internal static readonly char[] ForbiddenInValue = { ',', '(', ')', '=' };
}
