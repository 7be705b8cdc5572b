using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Learner.Objectives.Miners;

/// <summary>Batch-hard mining (Hermans, Beyer &amp; Leibe 2017): per anchor, its farthest positive and nearest negative.</summary>
internal static class BatchHardMiner
{
    /// <summary>Mines anchor <paramref name="a"/>'s row of (ranking) distances; −1 when it has no positive or no
    /// negative. The row is scratch: its entry for the anchor itself is overwritten.</summary>
    public static (int Positive, int Negative) Mine(int a, Span<float> row, ReadOnlySpan<int> labels)
    {
        int la = labels[a];
        row[a] = float.NegativeInfinity; // never the farthest positive, and never a negative (same label)
        float dp = float.NegativeInfinity, dn = float.PositiveInfinity;
        int n = row.Length, j = 0;
        ref float r = ref MemoryMarshal.GetReference(row);
        ref int l = ref MemoryMarshal.GetReference(labels);
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var lav = Vector512.Create(la);
            var maxAcc = Vector512.Create(float.NegativeInfinity);
            var minAcc = Vector512.Create(float.PositiveInfinity);
            for (; j <= n - 16; j += 16)
            {
                var v = Vector512.LoadUnsafe(ref r, (nuint)j);
                var same = Vector512.Equals(Vector512.LoadUnsafe(ref l, (nuint)j), lav).AsSingle();
                maxAcc = Vector512.Max(maxAcc, Vector512.ConditionalSelect(same, v, Vector512.Create(float.NegativeInfinity)));
                minAcc = Vector512.Min(minAcc, Vector512.ConditionalSelect(same, Vector512.Create(float.PositiveInfinity), v));
            }
            for (int k = 0; k < 16; k++) { dp = Math.Max(dp, maxAcc[k]); dn = Math.Min(dn, minAcc[k]); }
        }
        for (; j < n; j++)
        {
            float v = row[j];
            if (labels[j] == la) { if (v > dp) dp = v; }
            else if (v < dn) dn = v;
        }
        if (float.IsNegativeInfinity(dp) || float.IsPositiveInfinity(dn)) return (-1, -1);
        // First index attaining each extreme (deterministic tie-break).
        int hp = -1, hn = -1;
        for (int k = 0; k < n && (hp < 0 || hn < 0); k++)
        {
            float v = row[k];
            if (labels[k] == la) { if (hp < 0 && v == dp) hp = k; }
            else if (hn < 0 && v == dn) hn = k;
        }
        return (hp, hn);
    }
}
