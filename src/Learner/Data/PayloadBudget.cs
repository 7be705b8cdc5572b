namespace Learner.Data;

/// <summary>
/// The bytes that payload caches may hold together. Every <see cref="PayloadCache"/> claims what it stores here as well
/// as from its own budget, so the datasets of one process (several cohorts, a manifest read twice) share one limit
/// instead of each holding up to the default. A cache that is collected gives its bytes back (its finalizer), so a
/// long-lived process does not fill the budget with the payloads of datasets it no longer holds.
/// </summary>
internal sealed class PayloadBudget
{
    private static readonly Lazy<PayloadBudget> ProcessBudget = new(() => new PayloadBudget(PayloadCache.DefaultBudgetBytes));
    private long _held;

    /// <summary>Creates a budget of <paramref name="limitBytes"/>.</summary>
    public PayloadBudget(long limitBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limitBytes);
        LimitBytes = limitBytes;
    }

    /// <summary>The process's budget: <see cref="PayloadCache.DefaultBudgetBytes"/> as read at its first use.</summary>
    public static PayloadBudget Process => ProcessBudget.Value;

    /// <summary>The most bytes held together.</summary>
    public long LimitBytes { get; }

    /// <summary>Bytes held now by every cache that claims from this budget.</summary>
    public long HeldBytes => Interlocked.Read(ref _held);

    /// <summary>Claims <paramref name="bytes"/>; false (nothing claimed) when that would exceed the limit.</summary>
    public bool TryClaim(long bytes)
    {
        long after = Interlocked.Add(ref _held, bytes);
        if (after <= LimitBytes) return true;
        Interlocked.Add(ref _held, -bytes);
        return false;
    }

    /// <summary>Gives back <paramref name="bytes"/> claimed earlier.</summary>
    public void Release(long bytes) => Interlocked.Add(ref _held, -bytes);
}
