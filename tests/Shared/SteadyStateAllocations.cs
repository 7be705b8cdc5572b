namespace Learner.Testing;

/// <summary>
/// Measures what a piece of code allocates on the calling thread once it is warm: the fewest bytes any of a few
/// repetitions allocated. Code that allocates on every call shows it in every repetition, so its minimum stays above
/// zero; a one-off allocation by the runtime on the test's thread (tiered compilation promoting a method, a first
/// call down a path the warm-up missed) appears in one repetition only and does not fail a test that means "steady
/// state allocates nothing". Linked into each test project that needs it.
/// </summary>
internal static class SteadyStateAllocations
{
    /// <summary>The fewest bytes one run of <paramref name="action"/> allocated on this thread, over
    /// <paramref name="repetitions"/> runs, after one warm-up run.</summary>
    public static long Bytes(Action action, int repetitions = 5)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentOutOfRangeException.ThrowIfLessThan(repetitions, 1);
        action();
        long fewest = long.MaxValue;
        for (int r = 0; r < repetitions && fewest > 0; r++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            action();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }
}
