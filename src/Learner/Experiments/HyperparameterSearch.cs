using System.Globalization;
using Learner.Nn;
using Learner.Objectives;

namespace Learner.Experiments;

/// <summary>One searched option of one objective term.</summary>
/// <param name="Term">Index of the term in the spec.</param>
/// <param name="Objective">The term's objective name.</param>
/// <param name="Option">The option name.</param>
/// <param name="Value">The value tried (as the spec grammar writes it).</param>
public readonly record struct SearchSetting(int Term, string Objective, string Option, string Value);

/// <summary>One point of a hyperparameter search: a peak learning rate and option values.</summary>
/// <param name="Index">0-based trial number.</param>
/// <param name="LearningRate">The peak learning rate.</param>
/// <param name="Settings">The option values (empty when only the learning rate is searched).</param>
public sealed record SearchTrial(int Index, double LearningRate, IReadOnlyList<SearchSetting> Settings)
{
    /// <summary>The trial as text, e.g. <c>lr=0.001, weighted-contrastive.margin=0.5</c>.</summary>
    /// <returns>The description.</returns>
    public override string ToString() => string.Join(", ",
        new[] { "lr=" + LearningRate.ToString("R", CultureInfo.InvariantCulture) }.Concat(Settings.Select(s => $"{s.Objective}.{s.Option}={s.Value}")));
}

/// <summary>Builds the trials of a <see cref="HyperparameterSearchOptions"/> for one objective spec and applies a trial.</summary>
public static class HyperparameterSearch
{
    /// <summary>The option searched for each built-in objective when <see cref="HyperparameterSearchOptions.OptionValues"/>
    /// is null: the margin of the margin losses, the temperature of the softmax losses; mse has none (only the learning rate).</summary>
    public static IReadOnlyDictionary<string, (string Option, IReadOnlyList<string> Values)> DefaultAxes { get; } =
        new Dictionary<string, (string, IReadOnlyList<string>)>(StringComparer.OrdinalIgnoreCase)
        {
            ["mse-within-patient"] = ("withinPatientWeight", new[] { "16", "64", "256" }),
            ["weighted-contrastive"] = ("margin", new[] { "0.25", "0.5", "1" }),
            ["contrastive"] = ("margin", new[] { "0.25", "0.5", "1" }),
            ["triplet"] = ("margin", new[] { "0.1", "0.2", "0.5" }),
            ["supcon"] = ("temperature", new[] { "0.05", "0.1", "0.2" }),
            ["infonce"] = ("temperature", new[] { "0.05", "0.1", "0.2" }),
            ["y-aware"] = ("temperature", new[] { "0.05", "0.1", "0.2" }),
            ["rnc"] = ("temperature", new[] { "1", "2", "4" }),
        };

    /// <summary>The trials for <paramref name="spec"/>: <see cref="HyperparameterSearchOptions.Trials"/> distinct points of
    /// the learning rates × option axes, in grid order or a seeded random order.</summary>
    /// <param name="spec">The objective spec.</param>
    /// <param name="options">The search settings.</param>
    /// <param name="seed">Seed of the random order.</param>
    /// <returns>The trials (empty when <c>Trials</c> is 0).</returns>
    /// <exception cref="ArgumentException">The space has fewer points than <c>Trials</c> (the message names the
    /// objective and the size), so that every objective gets the same number of trials.</exception>
    public static IReadOnlyList<SearchTrial> Trials(ObjectiveSpec spec, HyperparameterSearchOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Trials == 0) return Array.Empty<SearchTrial>();
        var axes = new List<(int Term, string Objective, string Option, IReadOnlyList<string> Values)>();
        for (int t = 0; t < spec.Terms.Count; t++)
        {
            var term = spec.Terms[t];
            foreach (var (option, values) in AxesOf(term.Name, options))
            {
                if (term.Options.Any(o => string.Equals(o.Key, option, StringComparison.OrdinalIgnoreCase))) continue; // the spec fixes it
                if (IsWeight(option) && spec.Terms.Count == 1) continue; // a lone term's weight only rescales the loss
                axes.Add((t, term.Name, option, values));
            }
        }
        long size = options.LearningRates.Count;
        foreach (var a in axes) size *= a.Values.Count;
        if (size < options.Trials)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The search space of '{spec}' has {size} points ({options.LearningRates.Count} learning rates{string.Concat(axes.Select(a => $" × {a.Values.Count} {a.Objective}.{a.Option}"))}), fewer than Search.Trials = {options.Trials}; every objective must get the same number of trials: add learning rates or option values, or lower Trials."),
                nameof(options));
        var order = new long[size];
        for (long i = 0; i < size; i++) order[i] = i;
        if (options.Strategy == SearchStrategy.Random) new Rng(seed).Fork(0x5EA7C4).Shuffle(order.AsSpan());
        var trials = new SearchTrial[options.Trials];
        for (int k = 0; k < trials.Length; k++)
        {
            long code = order[k];
            var settings = new SearchSetting[axes.Count];
            for (int a = axes.Count - 1; a >= 0; a--)
            {
                int n = axes[a].Values.Count;
                settings[a] = new SearchSetting(axes[a].Term, axes[a].Objective, axes[a].Option, axes[a].Values[(int)(code % n)]);
                code /= n;
            }
            trials[k] = new SearchTrial(k, options.LearningRates[(int)code], settings);
        }
        return trials;
    }

    /// <summary>The pseudo-option that searches a term's weight in a composite (e.g. λ of <c>mse+λ·weighted-contrastive</c>:
    /// <c>OptionValues["weighted-contrastive.weight"] = ["0.1", "0.3", "1"]</c>). It is not an axis of a one-term spec,
    /// where a weight would only rescale the loss (so <c>weighted-contrastive</c> alone and <c>mse+weighted-contrastive</c>
    /// can share one <c>OptionValues</c>).</summary>
    public const string WeightAxis = "weight";

    private static bool IsWeight(string option) => string.Equals(option, WeightAxis, StringComparison.OrdinalIgnoreCase);

    /// <summary>The spec with the trial's option values added to its terms (the <see cref="WeightAxis"/> value replaces
    /// the term's weight).</summary>
    /// <param name="spec">The spec.</param>
    /// <param name="trial">The trial.</param>
    /// <returns>The spec to build for the trial.</returns>
    public static ObjectiveSpec Apply(ObjectiveSpec spec, SearchTrial trial)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(trial);
        if (trial.Settings.Count == 0) return spec;
        var terms = spec.Terms.Select((term, t) =>
        {
            var mine = trial.Settings.Where(s => s.Term == t).ToArray();
            double weight = term.Weight;
            foreach (var w in mine.Where(s => IsWeight(s.Option)))
                if (!double.TryParse(w.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out weight) || !(weight > 0) || !double.IsFinite(weight))
                    throw new ArgumentException($"Search value '{w.Value}' for {w.Objective}.{WeightAxis} is not a finite number > 0.", nameof(trial));
            var extra = mine.Where(s => !IsWeight(s.Option)).Select(s => new KeyValuePair<string, string>(s.Option, s.Value)).ToArray();
            return extra.Length == 0 && weight == term.Weight ? term : new ObjectiveSpecTerm(term.Name, weight, term.Options.Concat(extra).ToArray());
        }).ToArray();
        return new ObjectiveSpec(terms);
    }

    private static IEnumerable<(string Option, IReadOnlyList<string> Values)> AxesOf(string objective, HyperparameterSearchOptions options)
    {
        if (options.OptionValues is null)
        {
            if (DefaultAxes.TryGetValue(objective, out var axis)) yield return axis;
            yield break;
        }
        foreach (var (key, values) in options.OptionValues.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            int dot = key.IndexOf('.', StringComparison.Ordinal);
            if (string.Equals(key[..dot], objective, StringComparison.OrdinalIgnoreCase)) yield return (key[(dot + 1)..], values);
        }
    }
}
