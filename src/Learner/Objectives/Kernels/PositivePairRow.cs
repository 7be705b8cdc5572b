using Learner.Nn.Kernels;
using System.Numerics.Tensors;

namespace Learner.Objectives.Kernels;

/// <summary>
/// NT-Xent with labels in pytorch-metric-learning's form: one term per ordered positive pair (a, p),
/// ℓ_ap = −log[ exp(x_ap) / (exp(x_ap) + Σ_{n: y_n ≠ y_a} exp(x_an)) ] = softplus(LSE_a − x_ap), with LSE_a the
/// log-sum-exp over a's negatives; every term weighs w = 1/#positive pairs.
/// </summary>
/// <remarks>Gradients: ∂ℓ_ap/∂x_ap = −σ(LSE_a − x_ap) and ∂ℓ_ap/∂x_an = softmax_N(x_a·)_n · σ(LSE_a − x_ap), so a row
/// costs one masked softmax over its negatives plus O(|P|). An anchor with positives but no negatives has ℓ = 0 for each
/// of its pairs (which still count in the mean, as in pytorch-metric-learning). With per-pair weights (a reducer's), the
/// row's pairs are numbered from <c>offsets[a]</c> in the order of the anchor's label group, skipping the anchor: each
/// pair's term is written to <c>terms</c> when given, and pair k weighs <c>pairWeights[k]</c> instead of the common
/// weight.</remarks>
internal readonly struct PositivePairRow : ILogitRow
{
    private readonly int[] _members, _groupStart, _groupEnd; // from LabelTargets.Build
    private readonly float _weight;
    private readonly int[]? _offsets;
    private readonly double[]? _terms;
    private readonly float[]? _pairWeights;

    public PositivePairRow(int[] members, int[] groupStart, int[] groupEnd, float weight)
    {
        _members = members; _groupStart = groupStart; _groupEnd = groupEnd; _weight = weight;
    }

    /// <summary>Rows whose pairs are numbered from <paramref name="offsets"/>: each pair's unweighted term is written to
    /// <paramref name="terms"/> (or null), and each pair weighs <paramref name="pairWeights"/>[k] (or, when null, 1).</summary>
    public PositivePairRow(int[] members, int[] groupStart, int[] groupEnd, int[] offsets, double[]? terms, float[]? pairWeights)
        : this(members, groupStart, groupEnd, 1f)
    {
        _offsets = offsets; _terms = terms; _pairWeights = pairWeights;
    }

    public bool IsActive(int i) => _groupEnd[i] - _groupStart[i] > 1;

    public double Evaluate(int i, Span<float> row, bool self, float invTau, bool wantGrad, Span<float> scratch)
    {
        int g0 = _groupStart[i], g1 = _groupEnd[i];
        if (g1 - g0 <= 1) { row.Clear(); return 0; }
        // Keep the positives' logits, then mask them (and the anchor) out of the negatives' softmax.
        int np = 0;
        for (int q = g0; q < g1; q++)
        {
            int k = _members[q];
            if (k == i) continue;
            scratch[np++] = row[k];
            row[k] = float.NegativeInfinity;
        }
        row[i] = float.NegativeInfinity;
        float m = Simd.MaxNoNaN(row);
        int first = _offsets is null ? 0 : _offsets[i];
        if (float.IsNegativeInfinity(m))
        {
            if (_terms is not null) _terms.AsSpan(first, np).Clear();
            row.Clear();
            return 0;
        }
        double sum = RowKernels.ExpShiftSum(row, m);
        double lse = m + Math.Log(sum);
        double loss = 0, sigmaSum = 0;
        for (int p = 0; p < np; p++)
        {
            double z = lse - scratch[p];
            double e = Math.Exp(-Math.Abs(z));
            double term = Math.Max(z, 0) + Math.Log(1 + e);
            double sigma = z >= 0 ? 1 / (1 + e) : e / (1 + e);
            if (_terms is not null) _terms[first + p] = term;
            if (_pairWeights is not null) { double w = _pairWeights[first + p]; term *= w; sigma *= w; }
            loss += term;
            sigmaSum += sigma;
            scratch[p] = (float)sigma;
        }
        if (wantGrad)
        {
            double scale = _weight * invTau;
            TensorPrimitives.Multiply(row, (float)(scale * sigmaSum / sum), row);
            np = 0;
            for (int q = g0; q < g1; q++)
            {
                int k = _members[q];
                if (k == i) continue;
                row[k] = (float)(-scale * scratch[np++]);
            }
        }
        return _weight * loss;
    }
}
