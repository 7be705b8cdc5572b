namespace Learner.Objectives;

/// <summary>A pair of batch rows, and whether a sampler marked it positive (to be pulled together).</summary>
/// <param name="First">Index of the first row.</param>
/// <param name="Second">Index of the second row.</param>
/// <param name="Positive">True for a positive (similar) pair, false for a negative (dissimilar) one.</param>
public readonly record struct IndexPair(int First, int Second, bool Positive);
