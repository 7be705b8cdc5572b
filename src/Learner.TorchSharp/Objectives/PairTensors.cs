using Learner.Objectives;
using static TorchSharp.torch;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.TorchSharp.Objectives;

/// <summary>The pair selections of the pairwise objectives as device tensors.</summary>
internal static class PairTensors
{
    /// <summary>The sampler's pairs as index vectors and their Positive flags.</summary>
    public static (TTensor First, TTensor Second, TTensor Positive) Upload(TorchSharpObjective owner, ReadOnlySpan<IndexPair> pairs)
    {
        var first = new long[pairs.Length];
        var second = new long[pairs.Length];
        var positive = new bool[pairs.Length];
        for (int p = 0; p < pairs.Length; p++) { first[p] = pairs[p].First; second[p] = pairs[p].Second; positive[p] = pairs[p].Positive; }
        long[] shape = { pairs.Length };
        return (tensor(first, shape).to(owner.Device), tensor(second, shape).to(owner.Device), tensor(positive, shape).to(owner.Device));
    }

    /// <summary>The all-pairs selection (i &lt; j, of different patients when <paramref name="patients"/> is not empty)
    /// as a host B×B mask, row-major, and its number of pairs.</summary>
    public static (bool[] Mask, int Count) AllPairs(int n, ReadOnlySpan<int> patients)
    {
        var mask = new bool[(long)n * n];
        int count = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                if (patients.IsEmpty || patients[i] != patients[j]) { mask[(long)i * n + j] = true; count++; }
        return (mask, count);
    }
}
