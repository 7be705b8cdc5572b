using System.Collections.Concurrent;
using System.Reflection;
using System.Reflection.Emit;
using Learner.TorchSharp.Objectives;
using TorchSharp;
using static TorchSharp.torch;

namespace Learner.TorchSharp.Tests;

/// <summary>TorchSharp 0.107 does not keep a <see cref="Scalar"/> argument alive through its native call: a temporary
/// (the <c>0</c> in <c>t.ne(0)</c>, the <c>2f</c> in <c>2f * t</c>) can be finalised mid-call, and libtorch then reads a
/// freed scalar ("Unknown scalar type", or a crash). The device code therefore creates no temporary scalars: constants
/// are <see cref="DeviceScalars"/> fields, alive for the process, and a value known only at run time goes through a
/// <see cref="DeviceScalars"/> operation that holds it in a <c>using</c> local.</summary>
public class ScalarLifetimeTests
{
    [Fact]
    public void The_device_code_converts_no_number_to_a_temporary_scalar()
    {
        var sites = ScalarSites(typeof(DeviceScalars).Assembly);
        File.WriteAllLines(Path.Combine(Path.GetTempPath(), "learner-scalar-sites.txt"), sites.Select(s => s.ToString()));
        sites.Should().NotBeEmpty("the scan sees DeviceScalars' own conversions");
        sites.Where(s => s.Type != nameof(DeviceScalars)).Should().BeEmpty(
            "a number converted to a Scalar on the way into a TorchSharp call is a temporary that may be finalised during the call; use a DeviceScalars field or operation");
        sites.Where(s => s.Method != ".cctor" && (s.Kind == "inside TorchSharp" || !s.StoredInLocal)).Should().BeEmpty(
            "DeviceScalars' operations hold their scalar in a using local");
    }

    [TorchSharpFact]
    public void Scalar_operations_survive_garbage_collections_in_the_middle_of_the_call()
    {
        // Reproduced ~260 times per 3.2 M calls of t.ne(0) under frequent collections before the device code kept its
        // scalars alive; here a second thread collects and finalises without pause while the ops that used temporaries
        // run for a bounded time.
        using var half = randn(8, 8);
        using var z = cat(new[] { half, half }, 0);       // coincident rows: the exact recomputation runs too
        using var mask = ones(16, 16, ScalarType.Bool);
        int expected = -1;
        var (calls, error) = CollectionStress.Run(TimeSpan.FromSeconds(3), () =>
        {
            using var scope = NewDisposeScope();
            var d = DeviceOps.Matrix(z, Learner.Objectives.Distances.DistanceKind.Euclidean);
            int active = DeviceOps.ActiveCount(d, mask);
            if (expected < 0) expected = active;
            if (active != expected) throw new InvalidOperationException($"ActiveCount gave {active}, then {expected}");
        });
        error.Should().BeNull($"no scalar may be freed during a call ({calls} calls)");
        calls.Should().BeGreaterThan(100);
    }

    internal sealed record Site(string Type, string Method, string Callee, string Kind, bool StoredInLocal);

    private static readonly Dictionary<short, OpCode> Opcodes = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Every call in <paramref name="assembly"/> that makes a <see cref="Scalar"/>: an implicit conversion,
    /// <c>ToScalar()</c> (with whether a stloc keeps the result), or a TorchSharp
    /// method that itself converts a number argument to a temporary scalar (<c>t * 2.0</c>, <c>t.add(1)</c>).</summary>
    internal static List<Site> ScalarSites(Assembly assembly)
    {
        var sites = new List<Site>();
        foreach (var type in assembly.GetTypes())
        {
            var owner = type;
            while (owner.DeclaringType is { } outer) owner = outer;             // closures, iterators: the outer type
            foreach (var method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
                foreach (var (callee, stored) in Calls(method))
                {
                    string name = $"{callee.DeclaringType?.Name}::{callee.Name}({string.Join(", ", callee.GetParameters().Select(p => p.ParameterType.Name))})";
                    if (MakesScalar(callee) is { } kind) sites.Add(new Site(owner.Name, method.Name, name, kind, stored));
                    else if (callee.Module == typeof(Scalar).Module && MakesTemporaryScalar(callee)) sites.Add(new Site(owner.Name, method.Name, name, "inside TorchSharp", false));
                }
        }
        return sites;
    }

    private static string? MakesScalar(MethodBase callee) =>
        callee.DeclaringType == typeof(Scalar) && callee.Name == "op_Implicit" ? "implicit"
        : callee.Name == "ToScalar" && callee.DeclaringType?.Namespace == "TorchSharp" ? "ToScalar"
        : null;

    private static readonly ConcurrentDictionary<MethodBase, bool> TemporaryInside = new();

    /// <summary>Whether a TorchSharp method converts a number to a scalar that no local holds (the temporary whose
    /// finaliser may run during the native call).</summary>
    private static bool MakesTemporaryScalar(MethodBase method, int depth = 0)
    {
        if (TemporaryInside.TryGetValue(method, out var known)) return known;
        if (depth > 4) return false;
        TemporaryInside[method] = false;   // while being decided (recursion)
        bool temporary = Calls(method).Any(c => MakesScalar(c.Callee) is "implicit" or "ToScalar" ? !c.StoredInLocal
            : c.Callee.Module == typeof(Scalar).Module && c.Callee.DeclaringType != typeof(Scalar) && MakesTemporaryScalar(c.Callee, depth + 1));
        return TemporaryInside[method] = temporary;
    }

    /// <summary>The methods <paramref name="method"/>'s IL calls, each with whether a stloc follows the call.</summary>
    private static List<(MethodBase Callee, bool StoredInLocal)> Calls(MethodBase method)
    {
        var calls = new List<(MethodBase, bool)>();
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception) { return calls; }
        if (il is null) return calls;
        var typeArgs = method.DeclaringType is { IsGenericType: true } t ? t.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (int i = 0; i < il.Length;)
        {
            var op = Opcodes[il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i]];
            int at = i + op.Size, next = at + OperandSize(op, il, at);
            if (op == OpCodes.Call || op == OpCodes.Callvirt || op == OpCodes.Newobj)
            {
                MethodBase? callee = null;
                try { callee = method.Module.ResolveMethod(BitConverter.ToInt32(il, at), typeArgs, methodArgs); }
                catch (Exception) { }
                if (callee is not null)
                {
                    bool stored = next < il.Length && (il[next] is >= 0x0A and <= 0x0D or 0x13 || (il[next] == 0xFE && next + 1 < il.Length && il[next + 1] == 0x0E));
                    calls.Add((callee, stored));   // stloc.0-3, stloc.s, stloc
                }
            }
            i = next;
        }
        return calls;
    }

    private static int OperandSize(OpCode op, byte[] il, int at) => op.OperandType switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, at),
        _ => 4,
    };
}
