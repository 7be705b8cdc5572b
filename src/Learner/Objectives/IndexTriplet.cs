namespace Learner.Objectives;

/// <summary>An (anchor, positive, negative) triplet of batch rows.</summary>
/// <param name="Anchor">Index of the anchor row.</param>
/// <param name="Positive">Index of a row that should lie closer to the anchor.</param>
/// <param name="Negative">Index of a row that should lie farther from the anchor.</param>
public readonly record struct IndexTriplet(int Anchor, int Positive, int Negative);
