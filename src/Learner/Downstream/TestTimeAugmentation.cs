namespace Learner.Downstream;

/// <summary>Test-time augmentation of the embeddings that change prediction reads (<see cref="Embedder"/>,
/// <see cref="Experiments.ExperimentOptions.TestTimeAugmentation"/>): the same encoder, several views of each scan, their
/// embeddings averaged.</summary>
public enum TestTimeAugmentation
{
    /// <summary>Each scan embedded once, as it is (the default).</summary>
    None,

    /// <summary>Each scan's embedding is the mean of its own and its left–right mirror image's (<see cref="Data.Augment.Flip"/>);
    /// twice the embedding cost. For images, clips and volumes; refused for feature vectors.</summary>
    Flip,
}
