using System.Reflection;
using System.Text.RegularExpressions;

namespace Learner.Compare;

/// <summary>
/// One timed workload: <see cref="Setup"/> builds the inputs (untimed) and returns the action that is timed.
/// Names are "area/case", e.g. "gemm/1024x1024x1024", and must match the names the Python side uses.
/// </summary>
public sealed record Workload(string Name, string Description, Func<Action> Setup);

/// <summary>
/// All workloads of the tool. Each area adds its own in a static class with a
/// <c>public static void Register(WorkloadRegistry registry)</c> method anywhere in this assembly; <see cref="Discover"/>
/// finds those classes by reflection, so adding an area is a one-file change.
/// </summary>
public sealed class WorkloadRegistry
{
    private readonly List<Workload> _workloads = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>Every registered workload, in registration order.</summary>
    public IReadOnlyList<Workload> All => _workloads;

    /// <summary>Adds a workload; its name must be new.</summary>
    public void Add(string name, string description, Func<Action> setup)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"Workload '{name}' is registered twice.");
        _workloads.Add(new Workload(name, description, setup));
    }

    /// <summary>Workloads whose names match any pattern ('*' matches any run of characters), in the order of the patterns, then of registration.</summary>
    public IReadOnlyList<Workload> Select(IEnumerable<string> patterns)
    {
        var selected = new List<Workload>();
        foreach (string pattern in patterns)
        {
            var regex = new Regex("^" + Regex.Escape(pattern).Replace("\\*", ".*") + "$");
            var hits = _workloads.Where(w => regex.IsMatch(w.Name)).ToList();
            if (hits.Count == 0) throw new ArgumentException($"No workload matches '{pattern}'. Run 'list' to see the names.");
            foreach (var w in hits) if (!selected.Contains(w)) selected.Add(w);
        }
        return selected;
    }

    /// <summary>A registry filled by every static <c>Register(WorkloadRegistry)</c> method in this assembly.</summary>
    public static WorkloadRegistry Discover()
    {
        var registry = new WorkloadRegistry();
        var registrars = typeof(WorkloadRegistry).Assembly.GetTypes()
            .Where(t => t.IsAbstract && t.IsSealed) // static classes
            .Select(t => t.GetMethod("Register", BindingFlags.Public | BindingFlags.Static, new[] { typeof(WorkloadRegistry) }))
            .Where(m => m is not null)
            .OrderBy(m => m!.DeclaringType!.FullName, StringComparer.Ordinal);
        foreach (var method in registrars) method!.Invoke(null, new object[] { registry });
        return registry;
    }
}
