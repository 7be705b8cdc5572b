using Learner.Data;
using Learner.Objectives;
using Learner.Objectives.Options;

namespace Learner.Tests.Objectives.Specs;

/// <summary>How a <see cref="ToyObjective"/> scales its loss.</summary>
public enum ToyMode
{
    /// <summary>The plain sum of squares.</summary>
    Plain,
    /// <summary>The sum of squares, doubled.</summary>
    Doubled,
}

/// <summary>Options of an objective registered only in an <see cref="ObjectiveRegistry"/> (no recipe).</summary>
public sealed record ToyOptions : ObjectiveOptions
{
    /// <summary>Multiplies the loss (&gt; 0).</summary>
    public float Scale { get; init; } = 1f;

    /// <summary>An integer option.</summary>
    public int Power { get; init; } = 2;

    /// <summary>An enum option.</summary>
    public ToyMode Mode { get; init; }

    /// <summary>A nullable option.</summary>
    public double? Cap { get; init; }

    /// <summary>A delegate: cannot be set from text.</summary>
    public Func<double, double>? Hook { get; init; }

    /// <summary>A list: cannot be set from text.</summary>
    public IReadOnlyList<int> Items { get; init; } = Array.Empty<int>();

    /// <inheritdoc />
    public override void Validate() => Positive(Scale, nameof(Scale));
}

/// <summary>L = scale·Σ e² (doubled in <see cref="ToyMode.Doubled"/>): a real objective with a real gradient, whose
/// options the tests inspect.</summary>
public sealed class ToyObjective(ToyOptions? options) : IObjective
{
    /// <summary>The options it was created with (null: the factory got none).</summary>
    public ToyOptions? Options { get; } = options;

    /// <inheritdoc />
    public string Name => "toy";

    /// <inheritdoc />
    public BatchFields Requires => BatchFields.None;

    /// <inheritdoc />
    public IReadOnlyList<ObjectiveParameter> Parameters => Array.Empty<ObjectiveParameter>();

    /// <inheritdoc />
    public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        var o = Options ?? new ToyOptions();
        double factor = o.Scale * (o.Mode == ToyMode.Doubled ? 2 : 1), loss = 0;
        var e = batch.Embeddings;
        for (int i = 0; i < e.Length; i++)
        {
            loss += factor * e[i] * e[i];
            if (!gradEmbeddings.IsEmpty) gradEmbeddings[i] = (float)(2 * factor * e[i]);
        }
        return new ObjectiveResult(loss, batch.Count, ObjectiveTerms.Empty);
    }
}

/// <summary>Cohorts for the spec tests.</summary>
internal static class SpecCohorts
{
    /// <summary>Scans without scores, with coarse labels 0..2.</summary>
    public static LongitudinalDataset LabelOnly()
    {
        var scans = new List<Scan>();
        for (int p = 0; p < 6; p++)
            for (int v = 0; v < 3; v++)
                scans.Add(new Scan($"s{p}-{v}", $"p{p}", v, score: null, coarseLabel: (p + v) % 3));
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    /// <summary>The mean and scale LearnerExperiment derives from a dataset (its own arithmetic, repeated here).</summary>
    public static (float Mean, float Scale) ExperimentMoments(LongitudinalDataset ds)
    {
        var scores = ds.Scans.Select(s => s.Score!.Value).ToArray();
        double mean = scores.Average(), std = Math.Sqrt(scores.Select(v => (v - mean) * (v - mean)).Average());
        return ((float)mean, (float)(std > 0 ? std : 1));
    }
}
