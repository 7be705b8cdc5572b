using System.Globalization;

namespace Learner.Objectives;

/// <summary>The recursive-descent reader of the <see cref="ObjectiveSpec"/> grammar; errors carry the position.</summary>
internal ref struct ObjectiveSpecParser
{
    private readonly string _text;
    private int _pos;
    private int _termNumber;

    private ObjectiveSpecParser(string text)
    {
        _text = text;
        _pos = 0;
        _termNumber = 0;
    }

    /// <summary>Parses <paramref name="text"/>, or returns the error (never throws for bad input).</summary>
    public static IReadOnlyList<ObjectiveSpecTerm>? Parse(string text, out ObjectiveSpecException? error)
    {
        var p = new ObjectiveSpecParser(text);
        return p.ParseSpec(out error);
    }

    private IReadOnlyList<ObjectiveSpecTerm>? ParseSpec(out ObjectiveSpecException? error)
    {
        var terms = new List<ObjectiveSpecTerm>();
        SkipWhitespace();
        if (_pos == _text.Length)
        {
            _termNumber = 1;
            error = Error("an objective name (the spec is empty)", null);
            return null;
        }
        while (true)
        {
            _termNumber++;
            var term = ParseTerm(out error);
            if (term is null) return null;
            terms.Add(term);
            SkipWhitespace();
            if (_pos == _text.Length) break;
            if (_text[_pos] != '+')
            {
                error = Error("'+' or the end of the spec", term.Name);
                return null;
            }
            _pos++;
            SkipWhitespace();
        }
        error = null;
        return terms;
    }

    private ObjectiveSpecTerm? ParseTerm(out ObjectiveSpecException? error)
    {
        SkipWhitespace();
        double weight = 1;
        int weightStart = _pos;
        int numberEnd = ScanNumber(_pos);
        if (numberEnd > _pos)
        {
            int after = SkipWhitespace(numberEnd);
            if (after < _text.Length && _text[after] == '*')
            {
                string number = _text[_pos..numberEnd];
                if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out weight) || !double.IsFinite(weight) || !(weight >= 0))
                {
                    error = Error($"a weight that is a finite number ≥ 0, found '{number}'", null, weightStart, found: false);
                    return null;
                }
                _pos = SkipWhitespace(after + 1);
            }
        }

        int nameStart = _pos;
        if (_pos >= _text.Length || !char.IsAsciiLetter(_text[_pos]))
        {
            error = Error(weight == 1 && _pos == weightStart ? "a weight or an objective name" : "an objective name", null);
            return null;
        }
        while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] == '-')) _pos++;
        string name = _text[nameStart.._pos].ToLowerInvariant();

        var options = new List<KeyValuePair<string, string>>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        SkipWhitespace();
        if (_pos < _text.Length && _text[_pos] == '(')
        {
            _pos++;
            while (true)
            {
                SkipWhitespace();
                int keyStart = _pos;
                if (_pos >= _text.Length || !(char.IsAsciiLetter(_text[_pos]) || _text[_pos] == '_'))
                {
                    error = Error("an option name (key=value)", name);
                    return null;
                }
                while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] == '_')) _pos++;
                string key = _text[keyStart.._pos];
                SkipWhitespace();
                if (_pos >= _text.Length || _text[_pos] != '=')
                {
                    error = Error($"'=' after the option '{key}'", name, option: key);
                    return null;
                }
                _pos++;
                SkipWhitespace();
                int valueStart = _pos;
                while (_pos < _text.Length && Array.IndexOf(ObjectiveSpecTerm.ForbiddenInValue, _text[_pos]) < 0) _pos++;
                string value = _text[valueStart.._pos].Trim();
                if (value.Length == 0)
                {
                    error = Error($"a value for the option '{key}'", name, valueStart, option: key);
                    return null;
                }
                if (_pos < _text.Length && _text[_pos] is '(' or '=')
                {
                    error = Error($"',' or ')' after the value of the option '{key}' (values cannot hold '(' or '='; nested options are not supported)", name, option: key);
                    return null;
                }
                if (!seen.Add(key))
                {
                    error = Error($"each option once, but '{key}' is set twice", name, keyStart, option: key, found: false);
                    return null;
                }
                options.Add(new KeyValuePair<string, string>(key, value));
                if (_pos >= _text.Length)
                {
                    error = Error("',' or ')' to close the options", name);
                    return null;
                }
                if (_text[_pos] == ')') { _pos++; break; }
                _pos++; // ','
            }
        }
        error = null;
        return new ObjectiveSpecTerm(name, weight, options);
    }

    // The end of an optional sign, digits with at most one '.', and an optional exponent starting at i (i when none).
    private int ScanNumber(int i)
    {
        int start = i;
        if (i < _text.Length && _text[i] is '+' or '-') i++;
        int digits = 0;
        bool dot = false;
        while (i < _text.Length && (char.IsAsciiDigit(_text[i]) || (_text[i] == '.' && !dot)))
        {
            if (_text[i] == '.') dot = true; else digits++;
            i++;
        }
        if (digits == 0) return start;
        if (i < _text.Length && _text[i] is 'e' or 'E')
        {
            int j = i + 1;
            if (j < _text.Length && _text[j] is '+' or '-') j++;
            int expDigits = 0;
            while (j < _text.Length && char.IsAsciiDigit(_text[j])) { j++; expDigits++; }
            if (expDigits > 0) i = j;
        }
        return i;
    }

    private void SkipWhitespace() => _pos = SkipWhitespace(_pos);

    private int SkipWhitespace(int i)
    {
        while (i < _text.Length && char.IsWhiteSpace(_text[i])) i++;
        return i;
    }

    private ObjectiveSpecException Error(string expected, string? term, int? at = null, string? option = null, bool found = true)
    {
        int pos = at ?? _pos;
        string where = term is null ? $"term {_termNumber}" : $"term {_termNumber} '{term}'";
        string foundText = !found ? "" : pos >= _text.Length ? ", found the end of the spec" : $", found '{_text[pos]}'";
        return new ObjectiveSpecException(
            $"Objective spec '{_text}' is invalid at position {pos} ({where}): expected {expected}{foundText}.",
            _text, pos, term, option);
    }
}
