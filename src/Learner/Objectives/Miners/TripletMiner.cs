namespace Learner.Objectives.Miners;

/// <summary>
/// Mines (anchor, positive, negative) triplets from a batch — pytorch-metric-learning's miner in the triplet case.
/// Its triplets feed any objective that reads <see cref="EmbeddingBatch.Triplets"/> (a <see cref="TripletLoss"/> with
/// <see cref="Options.TripletSelection.Provided"/>, or your own) through <see cref="MinedObjective"/>.
/// </summary>
/// <remarks>Derive and implement <see cref="Mine"/> to write your own. Miners are not thread-safe (they may keep
/// workspaces).</remarks>
public abstract class TripletMiner
{
    /// <summary>The batch fields <see cref="Mine"/> needs (usually the coarse labels).</summary>
    public virtual BatchFields Requires => BatchFields.Labels;

    /// <summary>Appends the batch's triplets to <paramref name="triplets"/> (cleared by the caller).</summary>
    /// <param name="batch">The batch (embeddings and metadata; already checked by <see cref="BatchContract.Batch"/>).</param>
    /// <param name="triplets">Receives the triplets (indices into the batch).</param>
    public abstract void Mine(in EmbeddingBatch batch, List<IndexTriplet> triplets);
}

/// <summary>
/// Mines pairs from a batch — pytorch-metric-learning's miner in the pair case. Its pairs (each with its positive flag)
/// feed any objective that reads <see cref="EmbeddingBatch.Pairs"/> (<see cref="ContrastiveLoss"/> with
/// <see cref="Options.ContrastiveOptions.UseProvidedPairs"/>, <see cref="PairPenaltyLoss"/>, or your own) through
/// <see cref="MinedObjective"/>.
/// </summary>
/// <remarks>Derive and implement <see cref="Mine"/> to write your own.</remarks>
public abstract class PairMiner
{
    /// <summary>The batch fields <see cref="Mine"/> needs (usually the coarse labels).</summary>
    public virtual BatchFields Requires => BatchFields.Labels;

    /// <summary>Appends the batch's pairs to <paramref name="pairs"/> (cleared by the caller).</summary>
    /// <param name="batch">The batch (embeddings and metadata; already checked by <see cref="BatchContract.Batch"/>).</param>
    /// <param name="pairs">Receives the pairs (indices into the batch, with their positive flags).</param>
    public abstract void Mine(in EmbeddingBatch batch, List<IndexPair> pairs);
}
