using Learner.Objectives.Distances;
using Learner.Objectives.Kernels;
using Learner.Objectives.Miners;
using Learner.Objectives.Options;

namespace Learner.Objectives;

/// <summary>
/// The loss of one pair as a function of its distance, written by you: <see cref="PairPenaltyLoss"/> runs it over the
/// pairs (the sampler's or a miner's, or every pair of the batch) on the fused pair engine, with a distance and a
/// reduction, and pushes the gradient back exactly.
/// </summary>
/// <remarks>Rows of the batch are evaluated in parallel: <see cref="Evaluate"/> must be a pure function (no shared
/// mutable state).</remarks>
public abstract class PairPenalty
{
    /// <summary>ℓ(d) of a pair and dℓ/dd.</summary>
    /// <param name="distance">The pair's distance.</param>
    /// <param name="positive">Whether the pair is a positive (same label, or the sampler's flag).</param>
    /// <param name="gradient">Receives dℓ/dd.</param>
    /// <returns>ℓ (0 for a pair that does not contribute).</returns>
    public abstract double Evaluate(double distance, bool positive, out double gradient);
}

/// <summary>Options of <see cref="PairPenaltyLoss"/>: which pairs, which distance, which reduction.</summary>
public sealed record PairPenaltyOptions : ObjectiveOptions
{
    /// <summary>The distance (default cosine).</summary>
    public DistanceKind Distance { get; init; } = DistanceKind.Cosine;

    /// <summary>Use the batch's pairs (a sampler's or a miner's) when it has them; otherwise (or when false) every pair
    /// i &lt; j of the batch, positive when the coarse labels agree.</summary>
    public bool UseProvidedPairs { get; init; } = true;

    /// <summary>With all-pairs selection and patient ids present, skip pairs of scans of the same patient.</summary>
    public bool InterPatientOnly { get; init; }

    /// <summary>The reduction over pairs (default mean).</summary>
    public Reducers.Reduction Reduction { get; init; } = Reducers.Reduction.Mean;

    /// <inheritdoc />
    public override void Validate()
    {
        Defined(Distance, nameof(Distance));
        Defined(Reduction, nameof(Reduction));
    }
}

/// <summary>
/// A pair objective made of your <see cref="PairPenalty"/>: ℓ(d(i, j), positive) over the selected pairs, reduced by
/// <see cref="PairPenaltyOptions.Reduction"/> (or a <see cref="Reducers.ReducerBase"/> you pass), with the loss split into its positive and negative parts. The distance
/// is the options' or one you pass (e.g. a <see cref="CustomDistance"/>); the pairs are the batch's (e.g. from a
/// <see cref="MinedObjective"/>) or every pair.
/// </summary>
public sealed class PairPenaltyLoss : ObjectiveBase<PairPenaltyOptions>
{
    private readonly PairPenalty _penalty;
    private readonly PairDistance _distance;
    private readonly PairLossEngine _engine = new();
    private readonly Workspace<int> _labels = new();

    /// <summary>Creates the objective.</summary>
    /// <param name="name">Its name (in logs and results).</param>
    /// <param name="penalty">The per-pair loss.</param>
    /// <param name="options">Options; null for the defaults.</param>
    /// <param name="distance">A distance replacing <see cref="PairPenaltyOptions.Distance"/>, or null.</param>
    /// <param name="reducer">A reducer replacing <see cref="PairPenaltyOptions.Reduction"/>, or null.</param>
    /// <exception cref="ArgumentException">A reducer was passed while the options' <c>Reduction</c> names another, non-default reduction.</exception>
    public PairPenaltyLoss(string name, PairPenalty penalty, PairPenaltyOptions? options = null, PairDistance? distance = null,
        Reducers.ReducerBase? reducer = null) : base(name, options)
    {
        _penalty = penalty ?? throw new ArgumentNullException(nameof(penalty));
        _distance = distance ?? PairDistance.Create(Options.Distance);
        Reducer = Reducers.ReducerBase.Resolve(reducer, Options.Reduction, "PairPenaltyOptions.Reduction");
    }

    /// <summary>The reducer over the pair terms (the options' reduction unless one was passed).</summary>
    public Reducers.ReducerBase Reducer { get; }

    /// <inheritdoc />
    public override BatchFields Requires => Options.UseProvidedPairs ? BatchFields.None : BatchFields.Labels;

    /// <inheritdoc />
    public override BatchFields RequiresGiven(BatchFields available)
        => Options.UseProvidedPairs && available.HasFlag(BatchFields.Pairs) ? BatchFields.None : BatchFields.Labels;

    /// <inheritdoc />
    public override BatchFields Reads => (Options.UseProvidedPairs ? BatchFields.Pairs : BatchFields.None) | BatchFields.Labels
        | (Options.InterPatientOnly ? BatchFields.PatientIds : BatchFields.None);

    /// <inheritdoc />
    protected override (double Loss, int Active) ComputeCore(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        var selection = PairSelection.For(batch, Options.UseProvidedPairs, Options.InterPatientOnly, Name);
        int[] labels = System.Array.Empty<int>();
        if (selection.AllPairs)
        {
            BatchContract.Labels(batch, $"{Name} (all pairs; or give EmbeddingBatch.Pairs)").CopyTo(_labels.Get(batch.Count));
            labels = _labels.Array;
        }
        gradSecondView.Clear();
        return Report(_engine.Run(new Adapter(_penalty, labels), _distance, batch, selection, Reducer, gradEmbeddings));
    }

    private readonly struct Adapter : IPairPenalty
    {
        private readonly PairPenalty _penalty;
        private readonly int[] _labels;

        public Adapter(PairPenalty penalty, int[] labels) { _penalty = penalty; _labels = labels; }

        public bool IsPositive(int i, int j, bool positiveFlag, float providedGap) => _labels.Length == 0 ? positiveFlag : _labels[i] == _labels[j];

        public double Evaluate(int i, int j, bool positive, float providedGap, double distance, out double grad)
            => _penalty.Evaluate(distance, positive, out grad);
    }
}
