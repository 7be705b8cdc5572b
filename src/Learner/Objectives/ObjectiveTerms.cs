using System.Collections;

namespace Learner.Objectives;

/// <summary>
/// The named terms of one <see cref="ObjectiveResult"/>: an immutable list owned by the result (a later call of the
/// objective does not change it). One or two terms are held inline, so a single objective reports its term and its
/// positive/negative parts without allocating.
/// </summary>
public readonly struct ObjectiveTerms : IReadOnlyList<ObjectiveTerm>
{
    private readonly ObjectiveTerm _first, _second;
    private readonly ObjectiveTerm[]? _many;

    /// <summary>One term.</summary>
    /// <param name="term">The term.</param>
    public ObjectiveTerms(ObjectiveTerm term) { _first = term; _second = default; _many = null; Count = 1; }

    /// <summary>Two terms.</summary>
    /// <param name="first">The first.</param>
    /// <param name="second">The second.</param>
    public ObjectiveTerms(ObjectiveTerm first, ObjectiveTerm second) { _first = first; _second = second; _many = null; Count = 2; }

    /// <summary>Any number of terms (copied).</summary>
    /// <param name="terms">The terms.</param>
    public ObjectiveTerms(ReadOnlySpan<ObjectiveTerm> terms)
    {
        Count = terms.Length;
        _first = terms.Length > 0 ? terms[0] : default;
        _second = terms.Length > 1 ? terms[1] : default;
        _many = terms.Length > 2 ? terms.ToArray() : null;
    }

    /// <summary>No terms.</summary>
    public static ObjectiveTerms Empty => default;

    /// <summary>The number of terms.</summary>
    public int Count { get; }

    /// <summary>Term <paramref name="index"/>.</summary>
    /// <param name="index">0 ≤ index &lt; <see cref="Count"/>.</param>
    /// <returns>The term.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The index is outside the list.</exception>
    public ObjectiveTerm this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"The result has {Count} terms.");
            return _many is not null ? _many[index] : index == 0 ? _first : _second;
        }
    }

    /// <summary>The terms as a new array.</summary>
    /// <returns>The array.</returns>
    public ObjectiveTerm[] ToArray()
    {
        var a = new ObjectiveTerm[Count];
        for (int i = 0; i < a.Length; i++) a[i] = this[i];
        return a;
    }

    /// <summary>A copy of <paramref name="terms"/>.</summary>
    /// <param name="terms">The terms.</param>
    public static implicit operator ObjectiveTerms(ObjectiveTerm[] terms) => new(terms);

    /// <summary>Enumerates the terms without allocating.</summary>
    /// <returns>The enumerator.</returns>
    public Enumerator GetEnumerator() => new(this);

    IEnumerator<ObjectiveTerm> IEnumerable<ObjectiveTerm>.GetEnumerator() { foreach (var t in this) yield return t; }

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable<ObjectiveTerm>)this).GetEnumerator();

    /// <summary>The enumerator of <see cref="ObjectiveTerms"/>.</summary>
    public struct Enumerator
    {
        private readonly ObjectiveTerms _terms;
        private int _index;

        internal Enumerator(ObjectiveTerms terms) { _terms = terms; _index = -1; }

        /// <summary>The current term.</summary>
        public readonly ObjectiveTerm Current => _terms[_index];

        /// <summary>Advances to the next term.</summary>
        /// <returns>False past the last term.</returns>
        public bool MoveNext() => ++_index < _terms.Count;
    }
}
