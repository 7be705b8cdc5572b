namespace Learner.Objectives.Options;

/// <summary>One component of a composite, by registry name.</summary>
/// <param name="Objective">The component's registry name (e.g. "mse").</param>
/// <param name="Weight">Its weight λ (finite, ≥ 0).</param>
/// <param name="Options">Its options, or null for the defaults.</param>
/// <param name="Name">Its name in logs; null for the registry name.</param>
public sealed record CompositeTermOptions(string Objective, double Weight, ObjectiveOptions? Options = null, string? Name = null);

/// <summary>Options of a composite objective built through <see cref="ObjectiveRegistry"/> ("composite").</summary>
public sealed record CompositeOptions : ObjectiveOptions
{
    /// <summary>The components.</summary>
    public IReadOnlyList<CompositeTermOptions> Terms { get; init; } = Array.Empty<CompositeTermOptions>();

    /// <inheritdoc />
    public override void Validate()
    {
        if (Terms is null || Terms.Count == 0)
            throw new ArgumentException("CompositeOptions.Terms must hold at least one term.", nameof(Terms));
        for (int i = 0; i < Terms.Count; i++)
        {
            var t = Terms[i] ?? throw new ArgumentException($"CompositeOptions.Terms[{i}] is null.", nameof(Terms));
            if (string.IsNullOrWhiteSpace(t.Objective))
                throw new ArgumentException($"CompositeOptions.Terms[{i}].Objective must name a registered objective.", nameof(Terms));
            if (!(t.Weight >= 0) || !double.IsFinite(t.Weight))
                throw new ArgumentOutOfRangeException(nameof(Terms), t.Weight, $"CompositeOptions.Terms[{i}].Weight must be finite and ≥ 0, got {t.Weight}.");
            t.Options?.Validate();
        }
    }
}
