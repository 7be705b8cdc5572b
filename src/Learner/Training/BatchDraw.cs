namespace Learner.Training;

/// <summary>What one <see cref="IPretrainingBatchSource.Draw"/> wrote.</summary>
/// <param name="Scans">Scans written (the step's batch size B; ≥ 1).</param>
/// <param name="Pairs">Pairs written (0 when the source draws none: pair objectives then use every in-batch pair).</param>
/// <param name="Triplets">Triplets written.</param>
public readonly record struct BatchDraw(int Scans, int Pairs, int Triplets);
