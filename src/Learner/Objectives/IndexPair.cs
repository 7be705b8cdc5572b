namespace Learner.Objectives;

/// <summary>A pair of batch rows, whether a sampler marked it positive (to be pulled together), and the health-score
/// gap the sampler measured between the two scans.</summary>
/// <param name="First">Index of the first row.</param>
/// <param name="Second">Index of the second row.</param>
/// <param name="Positive">True for a positive (similar) pair, false for a negative (dissimilar) one.</param>
/// <param name="ScoreGap">|score(First) − score(Second)| as the sampler computed it (in double precision, then rounded to
/// float), or NaN when unknown. Objectives that weight pairs by their health difference use it when it is finite and
/// fall back to the batch's <see cref="EmbeddingBatch.Scores"/> otherwise.</param>
public readonly record struct IndexPair(int First, int Second, bool Positive, float ScoreGap = float.NaN);
