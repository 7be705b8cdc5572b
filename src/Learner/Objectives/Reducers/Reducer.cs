namespace Learner.Objectives.Reducers;

/// <summary>The factor a <see cref="Reduction"/> applies to the sum of item losses (and to its gradient).</summary>
internal static class Reducer
{
    /// <summary>The scale for <paramref name="count"/> items of which <paramref name="active"/> are non-zero.</summary>
    public static double Scale(Reduction reduction, long count, long active) => reduction switch
    {
        Reduction.Sum => 1.0,
        Reduction.Mean => count > 0 ? 1.0 / count : 0.0,
        Reduction.MeanOverActive => active > 0 ? 1.0 / active : 0.0,
        _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Unknown reduction."),
    };
}
