namespace Learner.Objectives.Miners;

/// <summary>Batch-hard mining (Hermans, Beyer &amp; Leibe 2017): per anchor, its farthest positive and nearest negative.</summary>
internal static class BatchHardMiner
{
    /// <summary>Mines anchor <paramref name="a"/>'s row of distances; −1 when it has no positive or no negative.</summary>
    public static (int Positive, int Negative) Mine(int a, ReadOnlySpan<float> row, ReadOnlySpan<int> labels)
    {
        int la = labels[a];
        int hp = -1, hn = -1;
        float dp = float.NegativeInfinity, dn = float.PositiveInfinity;
        for (int j = 0; j < row.Length; j++)
        {
            float v = row[j];
            if (labels[j] == la)
            {
                if (j != a && v > dp) { dp = v; hp = j; }
            }
            else if (v < dn) { dn = v; hn = j; }
        }
        return hp < 0 || hn < 0 ? (-1, -1) : (hp, hn);
    }
}
