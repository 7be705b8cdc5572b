namespace Learner.Metrics;

/// <summary>Average ranks ("fractional ranking", scipy's <c>rankdata(method='average')</c>).</summary>
internal static class Ranking
{
    /// <summary>Writes the 1-based average ranks of <paramref name="values"/> into <paramref name="ranks"/>; ties share the mean of their ranks.</summary>
    public static void AverageRanks(ReadOnlySpan<double> values, Span<double> ranks)
    {
        int n = values.Length;
        var order = new int[n];
        var keys = values.ToArray();
        for (int i = 0; i < n; i++) order[i] = i;
        Array.Sort(keys, order);
        int start = 0;
        while (start < n)
        {
            int end = start + 1;
            while (end < n && keys[end] == keys[start]) end++;
            double rank = 0.5 * (start + 1 + end); // mean of start+1 .. end
            for (int t = start; t < end; t++) ranks[order[t]] = rank;
            start = end;
        }
    }
}
