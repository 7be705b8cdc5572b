namespace Learner.Objectives;

/// <summary>The value of an objective on one batch.</summary>
/// <param name="Loss">The (weighted, total) loss.</param>
/// <param name="ActiveCount">How many pairs, triplets or anchors contributed a non-zero term (for logging mining
/// behaviour); for the MSE baseline, the batch size.</param>
/// <param name="Terms">Each named term: one for a single objective, one per component for a composite. The memory
/// belongs to the objective and is overwritten by its next call: copy it to keep it.</param>
public readonly record struct ObjectiveResult(double Loss, int ActiveCount, ReadOnlyMemory<ObjectiveTerm> Terms);

/// <summary>One named term of an objective's value.</summary>
/// <param name="Name">The term's name (the objective's registry name, or the name given to a composite component).</param>
/// <param name="Value">The term's unweighted value.</param>
/// <param name="Weight">The weight the term enters the total with.</param>
public readonly record struct ObjectiveTerm(string Name, double Value, double Weight);
