using Learner.Objectives.Reducers;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>
/// A <see cref="ReducerBase"/> applied to terms computed on a device. A <see cref="CountReducer"/> gives two factors from
/// the counts (no copy of the terms); any other reducer is handed the selected terms once per call: they are copied to
/// the host in row-major order (the order in which the managed pair engine and triplet list hand them to the reducer),
/// weighed by <see cref="ReducerBase.Weights"/>, and the weights uploaded as a constant tensor, so that the loss
/// Σ_k w_k·ℓ_k back-propagates w_k = ∂L/∂ℓ_k into each term, as the reducer contract states.
/// </summary>
internal static class DeviceReduction
{
    /// <summary>Each selected term's weight as a detached float32 tensor of the terms' shape (0 outside the selection).</summary>
    /// <param name="reducer">A reducer that is not a count reducer.</param>
    /// <param name="terms">The terms (any shape, float32).</param>
    /// <param name="selected">Which entries are terms (bool, the terms' shape), or null for all.</param>
    /// <param name="positive">Which entries are positive-pair terms (bool, the terms' shape), or null when every term is
    /// of <paramref name="other"/>'s kind.</param>
    /// <param name="other">The kind of every term that is not a positive pair.</param>
    /// <returns>The weights.</returns>
    public static TTensor Weights(ReducerBase reducer, TTensor terms, TTensor? selected, TTensor? positive, TermKind other)
    {
        using var _ = no_grad();
        var flat = selected is null ? terms.detach().flatten() : terms.detach().masked_select(selected);
        var host = flat.to_type(ScalarType.Float64).cpu().contiguous().data<double>().ToArray();
        var kinds = new TermKind[host.Length];
        if (positive is null) kinds.AsSpan().Fill(other);
        else
        {
            var flags = (selected is null ? positive.flatten() : positive.masked_select(selected)).cpu().contiguous().data<bool>().ToArray();
            for (int k = 0; k < kinds.Length; k++) kinds[k] = flags[k] ? TermKind.PositivePair : other;
        }
        var w = new double[host.Length];
        reducer.Weights(host, kinds, w);
        var wf = new float[w.Length];
        for (int k = 0; k < w.Length; k++) wf[k] = (float)w[k];
        var values = tensor(wf, new long[] { wf.Length }).to(terms.device);
        if (selected is null) return values.reshape(terms.shape);
        return zeros_like(terms).masked_scatter(selected, values);
    }

    /// <summary>The positive and negative parts Σ_{k positive} w_k·ℓ_k and Σ_{k negative} w_k·ℓ_k of a pair objective.</summary>
    /// <param name="reducer">The reducer.</param>
    /// <param name="loss">The pair terms (any shape; 0 outside the selection).</param>
    /// <param name="posMask">The selected positive pairs (bool).</param>
    /// <param name="negMask">The selected negative pairs (bool).</param>
    /// <param name="count">The number of selected pairs.</param>
    /// <param name="active">Of them, the non-zero terms.</param>
    /// <param name="posCount">The selected positive pairs' number.</param>
    /// <returns>The two parts (scalar tensors).</returns>
    public static (TTensor Positive, TTensor Negative) PairParts(ReducerBase reducer, TTensor loss, TTensor posMask, TTensor negMask, long count, int active, int posCount)
    {
        var pos = posMask.to_type(ScalarType.Float32);
        var neg = negMask.to_type(ScalarType.Float32);
        if (reducer is CountReducer counts)
        {
            // The positive pairs' active count costs a device sync: only a reducer with two factors reads it.
            var (ps, ns) = counts.Scales(new TermCounts(count, active, posCount, counts.Uniform ? 0 : DeviceOps.ActiveCount(loss, posMask)));
            return ((loss * pos).sum().Times(ps), (loss * neg).sum().Times(ns));
        }
        var weighted = loss * Weights(reducer, loss, posMask.logical_or(negMask), posMask, TermKind.NegativePair);
        return ((weighted * pos).sum(), (weighted * neg).sum());
    }

    /// <summary>Σ_k w_k·ℓ_k over the per-anchor (NT-Xent: per-positive-pair) terms of a softmax objective, by a reducer
    /// that is not the fused mean or sum (those stay in each objective's own expression).</summary>
    /// <param name="reducer">The reducer.</param>
    /// <param name="terms">The terms (any shape; read where <paramref name="selected"/>).</param>
    /// <param name="selected">Which entries are terms, or null for all.</param>
    /// <param name="kind">The terms' kind.</param>
    /// <returns>The loss (a scalar tensor).</returns>
    public static TTensor Anchors(ReducerBase reducer, TTensor terms, TTensor? selected, TermKind kind)
    {
        var w = Weights(reducer, terms, selected, null, kind);
        // Entries outside the selection weigh 0; mask them so that a non-finite value there cannot leak in.
        return (selected is null ? terms * w : terms.masked_fill(selected.logical_not(), DeviceScalars.ZeroF) * w).sum();
    }

    /// <summary>Whether a per-anchor reducer is the built-in mean or sum, which the device objectives fold into one factor.</summary>
    public static bool Fused(ReducerBase reducer) => reducer is MeanReducer or SumReducer;

    /// <summary>Σ_k w_k·ℓ_k over triplet terms.</summary>
    /// <param name="reducer">The reducer.</param>
    /// <param name="terms">The triplet terms (any shape; 0 outside the selection).</param>
    /// <param name="selected">Which entries are triplets, or null for all.</param>
    /// <param name="count">The number of triplets.</param>
    /// <param name="active">Of them, the non-zero terms.</param>
    /// <returns>The loss (a scalar tensor).</returns>
    public static TTensor Triplets(ReducerBase reducer, TTensor terms, TTensor? selected, long count, int active)
    {
        if (reducer is CountReducer counts) return terms.sum().Times(counts.Scales(new TermCounts(count, active, 0, 0)).Other);
        return (terms * Weights(reducer, terms, selected, null, TermKind.Triplet)).sum();
    }
}
