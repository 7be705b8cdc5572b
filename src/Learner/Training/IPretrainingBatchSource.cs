using Learner.Data;
using Learner.Nn;
using Learner.Objectives;

namespace Learner.Training;

/// <summary>
/// What one pretraining step sees: the scans to load and embed, and the sampler pairs and triplets over them (as row
/// indices into those scans). The <see cref="Pretrainer"/> sizes its buffers once from <see cref="MaxScans"/>,
/// <see cref="MaxPairs"/> and <see cref="MaxTriplets"/> and calls <see cref="Draw"/> once per step.
/// </summary>
/// <remarks>
/// <para>Determinism contract: what <see cref="Draw"/> writes must depend only on the generator it receives and on the
/// epoch last passed to <see cref="BeginEpoch"/> — never on earlier draws. The pretrainer draws step s with
/// <c>new Rng(Seed).Fork(s)</c> and calls <see cref="BeginEpoch"/> at the first step of every epoch and at the first
/// step of a resumed run, which is what makes a resumed run bit-identical to an uninterrupted one.</para>
/// <para>Built-ins: <see cref="PatientBatchSource"/> (P × K batches; pair objectives use every in-batch pair),
/// <see cref="InterPatientPairSource"/> (LEARNER's inter-patient pairs with a coarse-to-fine curriculum) and
/// <see cref="TripletBatchSource"/>. <see cref="BatchSourceOptions"/> builds one from a declarative choice.</para>
/// <para>Threading: with <see cref="PretrainingOptions.PrefetchBatches"/> (the default) <see cref="BeginEpoch"/> and
/// <see cref="Draw"/> are called on the prefetch thread, one step ahead — step s + 1 is drawn while step s computes, so
/// the draw for a step happens before the progress callback of the step before it. A source must therefore not rely
/// on state set from the training thread between steps (a source fed back from the progress callback, say with the
/// current loss, must turn prefetching off); the calls themselves never overlap.</para>
/// </remarks>
public interface IPretrainingBatchSource
{
    /// <summary>The most scans one step can hold (the embedding buffer's row count); ≥ 1.</summary>
    int MaxScans { get; }

    /// <summary>The most sampler pairs one step can hold; 0 for a source that draws none.</summary>
    int MaxPairs { get; }

    /// <summary>The most sampler triplets one step can hold; 0 for a source that draws none.</summary>
    int MaxTriplets { get; }

    /// <summary>The sampler fields this source's batches carry (what an objective's
    /// <see cref="IObjective.RequiresGiven"/> is asked with): <see cref="BatchFields.Pairs"/> when it draws pairs,
    /// <see cref="BatchFields.Triplets"/> when it draws triplets.</summary>
    BatchFields Provides => ProvidedBy(MaxPairs, MaxTriplets);

    /// <summary>The sampler fields of a source drawing at most <paramref name="maxPairs"/> pairs and
    /// <paramref name="maxTriplets"/> triplets a step (the one rule behind <see cref="Provides"/> and
    /// <see cref="BatchSourceOptions.Provides"/>).</summary>
    /// <param name="maxPairs">Pairs per step (0 for none).</param>
    /// <param name="maxTriplets">Triplets per step (0 for none).</param>
    /// <returns>The fields.</returns>
    static BatchFields ProvidedBy(int maxPairs, int maxTriplets)
        => (maxPairs > 0 ? BatchFields.Pairs : BatchFields.None) | (maxTriplets > 0 ? BatchFields.Triplets : BatchFields.None);

    /// <summary>Moves any curriculum to <paramref name="epoch"/> (0-based). Called before the first draw of each epoch and
    /// before the first draw of a resumed run; a source without a curriculum ignores it.</summary>
    /// <param name="epoch">The epoch.</param>
    void BeginEpoch(int epoch);

    /// <summary>Draws one step.</summary>
    /// <param name="scans">Receives the dataset indices of the step's scans (room for <see cref="MaxScans"/>).</param>
    /// <param name="pairs">Receives the step's pairs as indices into <paramref name="scans"/> (room for <see cref="MaxPairs"/>).</param>
    /// <param name="triplets">Receives the step's triplets as indices into <paramref name="scans"/> (room for <see cref="MaxTriplets"/>).</param>
    /// <param name="rng">The step's generator: every random choice draws from it.</param>
    /// <returns>How many scans, pairs and triplets were written (the scan count ≥ 1 and ≤ <see cref="MaxScans"/>).</returns>
    BatchDraw Draw(Span<int> scans, Span<IndexPair> pairs, Span<IndexTriplet> triplets, Rng rng);

    /// <summary>A source of the same kind and settings over another dataset (the validation set), at epoch 0.</summary>
    /// <param name="dataset">The dataset.</param>
    /// <returns>The new source; it shares no mutable state with this one.</returns>
    IPretrainingBatchSource ForDataset(LongitudinalDataset dataset);
}
