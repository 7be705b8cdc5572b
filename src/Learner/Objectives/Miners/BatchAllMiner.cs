using Learner.Objectives.Options;

namespace Learner.Objectives.Miners;

/// <summary>Batch-all (Hermans, Beyer &amp; Leibe 2017): every (anchor, positive, negative) of the batch. The hinge is
/// evaluated in O((P + N) log N) per anchor from the sorted negative distances and their prefix sums; soft-plus
/// visits every triplet.</summary>
internal static class BatchAllMiner
{
    /// <summary>Evaluates anchor <paramref name="a"/>'s triplets, writing dℓ/dd into <paramref name="coef"/> (cleared
    /// first); <paramref name="scratch"/> holds at least 2(N + 1) doubles. Returns (Σℓ, #triplets, #active).</summary>
    public static (double Loss, long Count, long Active) Row(int a, ReadOnlySpan<float> row, in AnchorRow anchor, float margin,
        TripletPenalty penalty, Span<float> coef, Span<double> scratch)
    {
        coef.Clear();
        var negD = anchor.NegativeDistances;
        int nn = negD.Length;
        if (anchor.Positives.IsEmpty || nn == 0) return (0, 0, 0);
        double sum = 0; long active = 0;
        long count = (long)anchor.Positives.Length * nn;
        var acc = scratch.Slice(nn + 1, nn + 1);
        acc.Clear();
        if (penalty == TripletPenalty.Hinge)
        {
            var prefix = scratch.Slice(0, nn + 1);
            prefix[0] = 0;
            for (int q = 0; q < nn; q++) prefix[q + 1] = prefix[q] + negD[q];
            foreach (int p in anchor.Positives)
            {
                double t = (double)row[p] + margin;
                // k = #negatives with d_an < d_ap + m: exactly the active triplets of this positive.
                int lo = 0, hi = nn;
                while (lo < hi) { int mid = (lo + hi) >>> 1; if (negD[mid] < t) lo = mid + 1; else hi = mid; }
                int k = lo;
                if (k == 0) continue;
                sum += k * t - prefix[k];
                active += k;
                coef[p] += k;
                acc[0] += 1; acc[k] -= 1; // difference array: negatives 0..k−1 gain one active triplet
            }
            double c = 0;
            for (int q = 0; q < nn; q++) { c += acc[q]; if (c != 0) coef[anchor.Negatives[q]] -= (float)c; }
        }
        else
        {
            foreach (int p in anchor.Positives)
            {
                double t = (double)row[p] + margin;
                double pg = 0;
                for (int q = 0; q < nn; q++)
                {
                    double l = TripletPenalties.Evaluate(penalty, t - negD[q], out double g);
                    sum += l; pg += g; acc[q] += g;
                    if (l != 0) active++;
                }
                coef[p] += (float)pg;
            }
            for (int q = 0; q < nn; q++) coef[anchor.Negatives[q]] -= (float)acc[q];
        }
        return (sum, count, active);
    }
}
