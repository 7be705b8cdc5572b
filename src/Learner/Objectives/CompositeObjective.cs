using System.Numerics.Tensors;
using Learner.Objectives.Kernels;

namespace Learner.Objectives;

/// <summary>One weighted component of a <see cref="CompositeObjective"/>.</summary>
/// <param name="Name">The term's name in logs (e.g. "mse", "weighted-contrastive").</param>
/// <param name="Objective">The component objective.</param>
/// <param name="Weight">Its weight λ (finite, ≥ 0).</param>
public sealed record CompositeTerm(string Name, IObjective Objective, double Weight);

/// <summary>
/// A weighted sum of objectives, L = Σ_k λ_k L_k (the paper's MSE + contrastive pretraining), reporting each term's
/// unweighted value. Gradients are the weighted sums of the components' gradients; gradients of parameters owned by
/// components (e.g. the MSE head) are scaled by their component's weight in place. The composite owns its components:
/// disposing it disposes those that are <see cref="IDisposable"/> (e.g. objectives computed on a GPU).
/// </summary>
public sealed class CompositeObjective : IObjective, IDetailReporting, IDisposable
{
    private readonly CompositeTerm[] _terms;
    private readonly Workspace<float> _scratchE = new(), _scratchV = new();
    private readonly ObjectiveParameter[] _parameters;
    private readonly ObjectiveTerm[] _reported;
    private readonly List<ObjectiveTerm> _parts = new();
    private readonly List<(int Term, string Part, string Name)> _partNames = new();

    /// <summary>Creates the composite.</summary>
    /// <param name="terms">The components (at least one; names unique; weights finite and ≥ 0).</param>
    /// <exception cref="ArgumentException">No term, a duplicate name, or a bad weight (named).</exception>
    public CompositeObjective(IEnumerable<CompositeTerm> terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        _terms = terms.ToArray();
        if (_terms.Length == 0) throw new ArgumentException("A composite objective needs at least one term.", nameof(terms));
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in _terms)
        {
            ArgumentNullException.ThrowIfNull(t, nameof(terms));
            ArgumentNullException.ThrowIfNull(t.Objective, nameof(terms));
            if (string.IsNullOrWhiteSpace(t.Name)) throw new ArgumentException("Composite term names must be non-empty.", nameof(terms));
            if (!names.Add(t.Name)) throw new ArgumentException($"Composite term name '{t.Name}' is used twice.", nameof(terms));
            if (!(t.Weight >= 0) || !double.IsFinite(t.Weight))
                throw new ArgumentOutOfRangeException(nameof(terms), t.Weight, $"Composite term '{t.Name}': Weight must be finite and ≥ 0, got {t.Weight}.");
        }
        _parameters = _terms.SelectMany(t => t.Objective.Parameters).ToArray();
        _reported = new ObjectiveTerm[_terms.Length];
    }

    /// <summary>Creates the composite from (name, objective, weight) terms.</summary>
    /// <param name="terms">The components.</param>
    public CompositeObjective(params CompositeTerm[] terms) : this((IEnumerable<CompositeTerm>)terms) { }

    /// <summary>The components.</summary>
    public IReadOnlyList<CompositeTerm> Terms => _terms;

    /// <summary>Disposes the components that are <see cref="IDisposable"/>.</summary>
    public void Dispose()
    {
        foreach (var t in _terms) (t.Objective as IDisposable)?.Dispose();
    }

    /// <inheritdoc />
    public string Name => "composite";

    /// <summary>Forwarded to every component that is <see cref="IDetailReporting"/>; true when none is.</summary>
    public bool ReportsDetails
    {
        get { foreach (var t in _terms) if (t.Objective is IDetailReporting r && !r.ReportsDetails) return false; return true; }
        set { foreach (var t in _terms) if (t.Objective is IDetailReporting r) r.ReportsDetails = value; }
    }

    /// <inheritdoc />
    public BatchFields Requires
    {
        get { var f = BatchFields.None; foreach (var t in _terms) f |= t.Objective.Requires; return f; }
    }

    /// <inheritdoc />
    public BatchFields RequiresGiven(BatchFields available)
    {
        var f = BatchFields.None;
        foreach (var t in _terms) f |= t.Objective.RequiresGiven(available);
        return f;
    }

    /// <inheritdoc />
    public BatchFields Reads
    {
        get { var f = BatchFields.None; foreach (var t in _terms) f |= t.Objective.Reads; return f; }
    }

    /// <inheritdoc />
    public IReadOnlyList<ObjectiveParameter> Parameters => _parameters;

    /// <summary>Computes the loss and its gradient with respect to the embeddings (no second view gradient).</summary>
    /// <param name="batch">The batch.</param>
    /// <param name="gradEmbeddings">Receives d(loss)/d(embeddings), B×D (overwritten); empty to compute the value only.</param>
    /// <returns>The loss and its terms.</returns>
    public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings) => Compute(batch, gradEmbeddings, default);

    /// <inheritdoc />
    public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
    {
        int len = batch.Embeddings.Length;
        BatchContract.Gradient(gradEmbeddings, len, nameof(gradEmbeddings));
        BatchContract.Gradient(gradSecondView, len, nameof(gradSecondView));
        var ge = gradEmbeddings.IsEmpty ? Span<float>.Empty : _scratchE.Get(len);
        var gv = gradSecondView.IsEmpty ? Span<float>.Empty : _scratchV.Get(len);
        gradEmbeddings.Clear();
        gradSecondView.Clear();
        double total = 0; int active = 0;
        var reported = _reported;
        _parts.Clear();
        var mining = default(MiningStatistics);
        for (int k = 0; k < _terms.Length; k++)
        {
            var t = _terms[k];
            var r = t.Objective.Compute(batch, ge, gv);
            total += t.Weight * r.Loss;
            active += r.ActiveCount;
            reported[k] = new ObjectiveTerm(t.Name, r.Loss, t.Weight);
            mining += r.Mining;
            foreach (var p in r.Parts) _parts.Add(new ObjectiveTerm(PartName(k, p.Name), p.Value, p.Weight * t.Weight));
            float w = (float)t.Weight;
            if (!ge.IsEmpty) TensorPrimitives.MultiplyAdd(ge, w, gradEmbeddings, gradEmbeddings);
            if (!gv.IsEmpty) TensorPrimitives.MultiplyAdd(gv, w, gradSecondView, gradSecondView);
            var parameters = t.Objective.Parameters;
            for (int q = 0; q < parameters.Count; q++) TensorPrimitives.Multiply(parameters[q].Gradient.Data, w, parameters[q].Gradient.Data);
        }
        // ObjectiveTerms holds up to two terms inline and copies longer lists, so the result never aliases these buffers.
        return new ObjectiveResult(total, active, new ObjectiveTerms(reported))
        {
            Parts = new ObjectiveTerms(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_parts)),
            Mining = mining,
        };
    }

    /// <summary>A component's part "x.positive" is reported as "&lt;term name&gt;.positive"; the names are composed
    /// once per (term, part) and reused.</summary>
    private string PartName(int term, string part)
    {
        foreach (var (t, p, name) in _partNames)
            if (t == term && (ReferenceEquals(p, part) || p == part)) return name;
        int dot = part.LastIndexOf('.');
        string composed = dot < 0 ? _terms[term].Name : _terms[term].Name + part[dot..];
        _partNames.Add((term, part, composed));
        return composed;
    }
}
