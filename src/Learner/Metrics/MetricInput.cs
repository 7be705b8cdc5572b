using System.Globalization;

namespace Learner.Metrics;

/// <summary>Argument checks shared by the metrics; every failure names the argument, the index and the value.</summary>
internal static class MetricInput
{
    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    public static void SameLength(int expected, int actual, string expectedName, string actualName)
    {
        if (expected != actual)
            throw new ArgumentException($"'{actualName}' has {actual} elements but '{expectedName}' has {expected}; they must have the same length.", actualName);
    }

    public static void ClassCount(int classCount)
    {
        if (classCount < 1)
            throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "The class count must be at least 1.");
    }

    public static void Labels(ReadOnlySpan<int> labels, int classCount, string name)
    {
        for (int i = 0; i < labels.Length; i++)
        {
            int v = labels[i];
            if ((uint)v >= (uint)classCount)
                throw new ArgumentException($"'{name}'[{i}] = {v} is outside the class range 0..{classCount - 1}.", name);
        }
    }

    public static void Finite(ReadOnlySpan<double> values, string name)
    {
        for (int i = 0; i < values.Length; i++)
            if (!double.IsFinite(values[i]))
                throw new ArgumentException($"'{name}'[{i}] = {F(values[i])} is not finite.", name);
    }

    public static void Finite(ReadOnlySpan<float> values, string name)
    {
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                throw new ArgumentException($"'{name}'[{i}] = {F(values[i])} is not finite.", name);
    }

    public static int[] ToIndices(ReadOnlySpan<Learner.Data.ChangeLabel> labels, string name)
    {
        var result = new int[labels.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            var l = labels[i];
            if (!Enum.IsDefined(l))
                throw new ArgumentException($"'{name}'[{i}] = {(int)l} is not a defined {nameof(Learner.Data.ChangeLabel)}.", name);
            result[i] = (int)l;
        }
        return result;
    }
}
