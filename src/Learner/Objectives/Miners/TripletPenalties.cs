using Learner.Objectives.Options;

namespace Learner.Objectives.Miners;

/// <summary>The triplet penalty φ(v) on the violation v = d(a,p) − d(a,n) + margin, and φ'(v).</summary>
internal static class TripletPenalties
{
    /// <summary>φ(v) and φ'(v) (hinge: max(0, v), subgradient 0 at v = 0; soft-plus: log(1 + eˣ), σ(v)).</summary>
    public static double Evaluate(TripletPenalty penalty, double v, out double grad)
    {
        if (penalty == TripletPenalty.Hinge)
        {
            if (v > 0) { grad = 1; return v; }
            grad = 0; return 0;
        }
        // Stable soft-plus: max(v, 0) + log(1 + e^{−|v|}).
        double e = Math.Exp(-Math.Abs(v));
        grad = v >= 0 ? 1 / (1 + e) : e / (1 + e);
        return Math.Max(v, 0) + Math.Log(1 + e);
    }
}
