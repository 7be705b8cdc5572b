using Learner.Objectives.Options;

namespace Learner.Objectives.Miners;

/// <summary>Semi-hard mining (Schroff, Kalenichenko &amp; Philbin 2015, FaceNet): for each (anchor, positive), the nearest
/// negative farther than the positive; when there is none, the farthest negative (as TensorFlow Addons does).</summary>
internal static class SemiHardMiner
{
    /// <summary>The position (in the anchor's sorted negatives) of the negative chosen for a positive at distance
    /// <paramref name="dap"/>: the nearest one farther than it, else the farthest.</summary>
    public static int Pick(in AnchorRow anchor, float dap)
    {
        int k = anchor.CountAtMost(dap);
        return k < anchor.NegativeDistances.Length ? k : anchor.NegativeDistances.Length - 1;
    }

    /// <summary>Evaluates anchor <paramref name="a"/>'s triplets on its distance row, writing dℓ/dd into
    /// <paramref name="coef"/> (cleared first); returns (Σℓ, #triplets, #active).</summary>
    public static (double Loss, long Count, long Active) Row(int a, ReadOnlySpan<float> row, in AnchorRow anchor, float margin,
        TripletPenalty penalty, Span<float> coef)
    {
        coef.Clear();
        var negD = anchor.NegativeDistances;
        if (anchor.Positives.IsEmpty || negD.IsEmpty) return (0, 0, 0);
        double sum = 0; long active = 0;
        foreach (int p in anchor.Positives)
        {
            float dap = row[p];
            int pick = Pick(anchor, dap);
            double l = TripletPenalties.Evaluate(penalty, (double)dap - negD[pick] + margin, out double g);
            sum += l;
            if (l != 0) active++;
            coef[p] += (float)g;
            coef[anchor.Negatives[pick]] -= (float)g;
        }
        return (sum, anchor.Positives.Length, active);
    }
}
