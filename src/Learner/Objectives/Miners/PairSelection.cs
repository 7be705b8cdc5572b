namespace Learner.Objectives.Miners;

/// <summary>
/// Which pairs a pairwise objective visits: the sampler's explicit pairs, or every pair i &lt; j of the batch
/// (optionally only pairs of different patients). Positive/negative is decided by the objective.
/// </summary>
internal readonly ref struct PairSelection
{
    private readonly ReadOnlySpan<int> _patients;

    private PairSelection(ReadOnlySpan<IndexPair> pairs, ReadOnlySpan<int> patients, bool all)
    {
        Explicit = pairs; _patients = patients; AllPairs = all;
    }

    /// <summary>True: every pair i &lt; j (filtered by <see cref="Includes"/>); false: <see cref="Explicit"/>.</summary>
    public bool AllPairs { get; }

    /// <summary>The explicit pairs (validated indices).</summary>
    public ReadOnlySpan<IndexPair> Explicit { get; }

    /// <summary>Chooses the pairs for a batch.</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="useProvided">Use <see cref="EmbeddingBatch.Pairs"/> when present.</param>
    /// <param name="interPatientOnly">With all pairs and patient ids present, skip same-patient pairs.</param>
    /// <param name="objective">Name for messages.</param>
    public static PairSelection For(in EmbeddingBatch batch, bool useProvided, bool interPatientOnly, string objective)
    {
        var selected = BatchContract.SelectedPairs(batch, useProvided);
        if (!selected.IsEmpty) return new PairSelection(selected, default, all: false);
        var patients = interPatientOnly ? BatchContract.OptionalPatients(batch, objective) : default;
        return new PairSelection(default, patients, all: true);
    }

    /// <summary>Whether the all-pairs selection includes (i, j), i &lt; j.</summary>
    public bool Includes(int i, int j) => _patients.IsEmpty || _patients[i] != _patients[j];

    /// <summary>Whether the all-pairs selection filters by patient.</summary>
    public bool FiltersPatients => !_patients.IsEmpty;

    /// <summary>Patient id of row i (only when <see cref="FiltersPatients"/>).</summary>
    public int Patient(int i) => _patients[i];
}
