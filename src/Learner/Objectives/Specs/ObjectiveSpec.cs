using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;

namespace Learner.Objectives;

/// <summary>
/// A pretraining objective written as text: one or more weighted terms, each a recipe or objective name with optional
/// option overrides. <see cref="ObjectiveRecipes.Build"/> turns it into an <see cref="IObjective"/>.
/// <para>Grammar (whitespace is allowed around every token):</para>
/// <code>
/// spec   := term ( '+' term )*
/// term   := [ weight '*' ] name [ '(' option ( ',' option )* ')' ]
/// option := key '=' value
/// </code>
/// <para><c>weight</c> is an invariant-culture finite number ≥ 0 (<c>0.5</c>, <c>1e-2</c>; default 1). <c>name</c> is a
/// registered recipe or objective name (a letter, then letters, digits and '-'; case-insensitive, kept in lower case).
/// <c>key</c> is a property of the objective's options record (case-insensitive, e.g. <c>marginByGap</c> for
/// <c>WeightedContrastiveOptions.MarginByGap</c>); <c>value</c> is a bool, an integer, an invariant-culture number or an
/// enum member name (case-insensitive), and cannot hold <c>, ( ) =</c>.</para>
/// <para>Examples: <c>mse</c>, <c>mse+0.5*weighted-contrastive</c>,
/// <c>weighted-contrastive(marginByGap=true, marginSlope=1)</c>, <c>0.3*mse+supcon(temperature=0.07)</c>.</para>
/// <para>The spec is immutable with value equality; <see cref="ToString"/> gives the canonical form (weights of 1 left
/// out, ", " between options, " + " between terms), and <c>Parse(spec.ToString())</c> equals <c>spec</c>. In JSON a spec
/// is the grammar string or <c>{"terms":[{"name":…,"weight":…,"options":{…}}]}</c> (see
/// <see cref="ObjectiveSpecJsonConverter"/>); in configuration it is the grammar string: bind strings and
/// <see cref="Parse"/> each (the configuration binder silently drops collection elements it cannot convert, so specs are
/// deliberately not bindable as objects).</para>
/// </summary>
[JsonConverter(typeof(ObjectiveSpecJsonConverter))]
public sealed class ObjectiveSpec : IEquatable<ObjectiveSpec>
{
    private readonly ObjectiveSpecTerm[] _terms;

    /// <summary>Creates a spec from its terms.</summary>
    /// <param name="terms">The terms, at least one (none null).</param>
    /// <exception cref="ObjectiveSpecException">No term was given, or one is null.</exception>
    public ObjectiveSpec(IEnumerable<ObjectiveSpecTerm> terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        _terms = terms.ToArray();
        if (_terms.Length == 0) throw new ObjectiveSpecException("An objective spec needs at least one term.");
        for (int i = 0; i < _terms.Length; i++)
            if (_terms[i] is null) throw new ObjectiveSpecException($"Objective spec term {i + 1} is null.");
    }

    /// <summary>Creates a spec from its terms.</summary>
    /// <param name="terms">The terms, at least one.</param>
    public ObjectiveSpec(params ObjectiveSpecTerm[] terms) : this((IEnumerable<ObjectiveSpecTerm>)terms) { }

    /// <summary>The terms, in the order written.</summary>
    public IReadOnlyList<ObjectiveSpecTerm> Terms => _terms;

    /// <summary>Whether the spec builds a composite: several terms, or one term whose weight is not 1.</summary>
    public bool IsComposite => _terms.Length > 1 || _terms[0].Weight != 1;

    /// <summary>Parses the grammar in the type's summary.</summary>
    /// <param name="text">The spec text, e.g. <c>"mse+0.5*weighted-contrastive(marginByGap=true)"</c>.</param>
    /// <returns>The spec.</returns>
    /// <exception cref="ObjectiveSpecException">The text does not follow the grammar; the message quotes it and names the
    /// position, the term and what was expected.</exception>
    public static ObjectiveSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var terms = ObjectiveSpecParser.Parse(text, out var error);
        return terms is null ? throw error! : new ObjectiveSpec(terms);
    }

    /// <summary>Parses the grammar, without throwing for malformed text.</summary>
    /// <param name="text">The spec text, or null.</param>
    /// <param name="spec">The spec, or null when <paramref name="text"/> is null or malformed.</param>
    /// <returns>True if parsed.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out ObjectiveSpec? spec)
        => TryParse(text, out spec, out _);

    /// <summary>Parses the grammar, without throwing, and gives the reason when the text is malformed.</summary>
    /// <param name="text">The spec text, or null.</param>
    /// <param name="spec">The spec, or null when <paramref name="text"/> is null or malformed.</param>
    /// <param name="error">Why it is malformed (the exception <see cref="Parse"/> would throw), or null.</param>
    /// <returns>True if parsed.</returns>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out ObjectiveSpec? spec, out ObjectiveSpecException? error)
    {
        spec = null;
        if (text is null)
        {
            error = new ObjectiveSpecException("The objective spec is null.");
            return false;
        }
        var terms = ObjectiveSpecParser.Parse(text, out error);
        if (terms is null) return false;
        spec = new ObjectiveSpec(terms);
        return true;
    }

    /// <summary>Parses a list of specs separated by ',' or ';' outside parentheses (e.g. the CLI's
    /// <c>--objectives "mse, weighted-contrastive(marginByGap=true, marginSlope=1), mse+weighted-contrastive"</c>): the
    /// grammar has no other use for those characters there, so the split is unambiguous.</summary>
    /// <param name="text">The list.</param>
    /// <returns>The specs in order (at least one).</returns>
    /// <exception cref="ObjectiveSpecException">An item is empty or malformed; the message quotes the list, numbers the item
    /// and carries the item's own parse error.</exception>
    public static IReadOnlyList<ObjectiveSpec> ParseList(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var items = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            if (i < text.Length && text[i] == '(') depth++;
            else if (i < text.Length && text[i] == ')') depth = Math.Max(0, depth - 1);
            else if (i == text.Length || (depth == 0 && text[i] is ',' or ';'))
            {
                items.Add(text[start..i]);
                start = i + 1;
            }
        }
        var specs = new List<ObjectiveSpec>(items.Count);
        for (int k = 0; k < items.Count; k++)
        {
            if (!TryParse(items[k], out var spec, out var error))
                throw new ObjectiveSpecException($"Objective list '{text}' item {k + 1}: {error!.Message}", text, null, null, null, error);
            specs.Add(spec);
        }
        return specs;
    }

    /// <summary>Checks, without a cohort, that every term names a recipe of <paramref name="recipes"/> or an objective of
    /// <paramref name="registry"/>, and that every option exists, takes its value and passes the options' validation. It
    /// resolves each term against <see cref="ObjectiveContext.ForValidation"/> (D = 8, score mean 0, standard deviation 1),
    /// so settings can be validated before any data is loaded; building on a real cohort may still fail for a cohort
    /// without health scores.</summary>
    /// <param name="recipes">The recipes (e.g. <see cref="ObjectiveRecipes.Default"/>).</param>
    /// <param name="registry">The objectives the spec will be built with.</param>
    /// <exception cref="ObjectiveSpecException">The first problem found, naming the spec, the term and the option.</exception>
    public void Validate(ObjectiveRecipes recipes, ObjectiveRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(recipes);
        ArgumentNullException.ThrowIfNull(registry);
        recipes.ResolveAll(this, ObjectiveContext.ForValidation(), registry);
    }

    /// <summary>The canonical text: the terms' canonical forms (see <see cref="ObjectiveSpecTerm.ToString"/>) joined by
    /// " + ". <see cref="Parse"/> reads it back to an equal spec.</summary>
    /// <returns>The canonical text.</returns>
    public override string ToString() => string.Join(" + ", _terms.Select(t => t.ToString()));

    /// <inheritdoc />
    public bool Equals(ObjectiveSpec? other) => other is not null && (ReferenceEquals(this, other) || _terms.AsSpan().SequenceEqual(other._terms));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ObjectiveSpec);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var t in _terms) h.Add(t);
        return h.ToHashCode();
    }

    /// <summary>Whether two specs are equal (same terms in the same order).</summary>
    /// <param name="left">A spec, or null.</param>
    /// <param name="right">A spec, or null.</param>
    /// <returns>True if equal.</returns>
    public static bool operator ==(ObjectiveSpec? left, ObjectiveSpec? right) => left is null ? right is null : left.Equals(right);

    /// <summary>Whether two specs differ.</summary>
    /// <param name="left">A spec, or null.</param>
    /// <param name="right">A spec, or null.</param>
    /// <returns>True if not equal.</returns>
    public static bool operator !=(ObjectiveSpec? left, ObjectiveSpec? right) => !(left == right);
}
