namespace Learner.Objectives.Kernels;

/// <summary>Supervised-contrastive targets: uniform over the anchor's positives P(i) = {k ≠ i : y_k = y_i};
/// anchors without positives get weight 0, the others 1/#anchors-with-positives.</summary>
internal readonly struct LabelTargets : ISoftmaxTargets
{
    private readonly int[] _members;      // row indices grouped by label
    private readonly int[] _groupStart;   // per row: start of its label group in _members
    private readonly int[] _groupEnd;     // per row: end (exclusive)
    private readonly float _weight;

    public LabelTargets(int[] members, int[] groupStart, int[] groupEnd, float weight)
    {
        _members = members; _groupStart = groupStart; _groupEnd = groupEnd; _weight = weight;
    }

    /// <summary>Groups rows by label into the workspaces; returns the number of anchors with at least one positive.</summary>
    public static int Build(ReadOnlySpan<int> labels, int n, Workspace<int> keys, Workspace<int> members, Workspace<int> start, Workspace<int> end)
    {
        var k = keys.Get(n);
        var m = members.Get(n);
        var s = start.Get(n);
        var e = end.Get(n);
        for (int i = 0; i < n; i++) { k[i] = labels[i]; m[i] = i; }
        k.Sort(m);
        int valid = 0;
        for (int g = 0; g < n;)
        {
            int h = g + 1;
            while (h < n && k[h] == k[g]) h++;
            for (int p = g; p < h; p++) { s[m[p]] = g; e[m[p]] = h; }
            if (h - g > 1) valid += h - g;
            g = h;
        }
        return valid;
    }

    public float AnchorWeight(int i) => _groupEnd[i] - _groupStart[i] > 1 ? _weight : 0f;

    public double TargetDot(int i, ReadOnlySpan<float> logits, Span<float> scratch)
    {
        int g0 = _groupStart[i], g1 = _groupEnd[i];
        double s = 0;
        for (int p = g0; p < g1; p++) { int k = _members[p]; if (k != i) s += logits[k]; }
        return s / (g1 - g0 - 1);
    }

    public void SubtractTargets(int i, Span<float> row, float scale, ReadOnlySpan<float> scratch)
    {
        int g0 = _groupStart[i], g1 = _groupEnd[i];
        float v = scale / (g1 - g0 - 1);
        for (int p = g0; p < g1; p++) { int k = _members[p]; if (k != i) row[k] -= v; }
    }
}
