namespace Learner.Objectives;

/// <summary>The value of an objective on one batch.</summary>
/// <param name="Loss">The (weighted, total) loss.</param>
/// <param name="ActiveCount">How many pairs, triplets or anchors contributed a non-zero term (for logging mining
/// behaviour); for the MSE baseline, the batch size.</param>
/// <param name="Terms">Each named term: one for a single objective, one per component for a composite; Σ weight·value =
/// <paramref name="Loss"/>. Owned by the result: a later call does not change it.</param>
public readonly record struct ObjectiveResult(double Loss, int ActiveCount, ObjectiveTerms Terms)
{
    /// <summary>Sub-terms of a single objective that add up to its loss, e.g. "contrastive.positive" and
    /// "contrastive.negative" for the pair objectives; for a composite, every component's sub-terms, named
    /// "component.positive" etc. and carrying the component's weight. Empty when the objective has none.</summary>
    public ObjectiveTerms Parts { get; init; }

    /// <summary>What the objective visited on this batch (pairs, triplets, anchors, and how many were active).</summary>
    public MiningStatistics Mining { get; init; }
}

/// <summary>One named term of an objective's value.</summary>
/// <param name="Name">The term's name (the objective's registry name, or the name given to a composite component).</param>
/// <param name="Value">The term's unweighted value.</param>
/// <param name="Weight">The weight the term enters the total with.</param>
public readonly record struct ObjectiveTerm(string Name, double Value, double Weight);

/// <summary>What an objective visited on one batch — the mining statistics of a step. Counts that do not apply stay 0.</summary>
public readonly record struct MiningStatistics
{
    /// <summary>Pairs visited (sampler pairs, or every in-batch pair the selection keeps; for softmax objectives with
    /// labels, the ordered positive pairs).</summary>
    public long Pairs { get; init; }

    /// <summary>Of <see cref="Pairs"/>, the positive ones.</summary>
    public long PositivePairs { get; init; }

    /// <summary>Triplets visited (mined or provided).</summary>
    public long Triplets { get; init; }

    /// <summary>Anchors (rows) that contributed a term.</summary>
    public long Anchors { get; init; }

    /// <summary>Items with a non-zero term: the result's <see cref="ObjectiveResult.ActiveCount"/>.</summary>
    public long Active { get; init; }

    /// <summary>The element-wise sum (for a composite).</summary>
    /// <param name="a">The first.</param>
    /// <param name="b">The second.</param>
    /// <returns>The sum.</returns>
    public static MiningStatistics operator +(MiningStatistics a, MiningStatistics b) => new()
    {
        Pairs = a.Pairs + b.Pairs, PositivePairs = a.PositivePairs + b.PositivePairs, Triplets = a.Triplets + b.Triplets,
        Anchors = a.Anchors + b.Anchors, Active = a.Active + b.Active,
    };
}
