using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Learner.Nn.Modules;
using Learner.Nn.Optim;

namespace Learner.Nn.Serialization;

/// <summary>What <see cref="Checkpoint.Load"/> found and did.</summary>
/// <param name="MissingKeys">Module state keys the checkpoint lacks (left unchanged; always empty with strict loading).</param>
/// <param name="UnexpectedKeys">Checkpoint keys the module does not have (ignored; always empty with strict loading).</param>
/// <param name="Metadata">The checkpoint's metadata, the reserved <c>learner.*</c> entries included.</param>
public sealed record CheckpointLoadResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys, IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// Training checkpoints in the safetensors format, readable from Python (<c>safetensors.torch.load_file</c>).
/// </summary>
/// <remarks>
/// <para>Layout: the module's parameters and buffers under their dotted names (<c>0.weight</c>, <c>layer1.bn.running_mean</c>);
/// optimizer buffers under <c>optim.&lt;i&gt;.&lt;buffer&gt;</c> (i = the optimizer's flat parameter index, buffer =
/// PyTorch's name such as <c>exp_avg</c>); metadata entries <c>learner.format</c>, <c>learner.module</c>,
/// <c>learner.optimizer</c> (JSON: kind, hyper-parameters, group rates, step counts) and <c>learner.scheduler</c>
/// (JSON: kind, step, base rates), plus the caller's own metadata. Keys beginning with <c>optim.</c> and metadata keys
/// beginning with <c>learner.</c> are reserved.</para>
/// <para>Loading checks everything — file integrity, missing, unexpected and mis-shaped keys, the optimizer's and
/// scheduler's state — before changing anything, so a failed load leaves the model, optimizer and scheduler as they were.</para>
/// </remarks>
public static class Checkpoint
{
    /// <summary>The prefix of optimizer-state tensors.</summary>
    public const string OptimizerPrefix = "optim.";

    /// <summary>The prefix of metadata keys reserved for Learner.</summary>
    public const string ReservedMetadataPrefix = "learner.";

    /// <summary>The format identifier stored under <c>learner.format</c>.</summary>
    public const string FormatId = "learner-checkpoint/1";

    private const string FormatKey = "learner.format";
    private const string ModuleKey = "learner.module";
    private const string OptimizerKey = "learner.optimizer";
    private const string SchedulerKey = "learner.scheduler";

    /// <summary>Saves <paramref name="module"/>'s state and, optionally, the optimizer's and scheduler's, atomically.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="module">The model.</param>
    /// <param name="optimizer">Its optimizer, or null.</param>
    /// <param name="scheduler">Its learning-rate schedule, or null.</param>
    /// <param name="metadata">Extra string metadata (keys must not begin with <c>learner.</c>).</param>
    /// <exception cref="ArgumentException">A module key collides with the optimizer prefix, or a metadata key is reserved.</exception>
    public static void Save(string path, Module module, Optimizer? optimizer = null, ILrScheduler? scheduler = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(module);
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var kv in module.StateEntries())
        {
            if (kv.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
                throw new ArgumentException($"The module state key '{kv.Key}' begins with the reserved prefix '{OptimizerPrefix}'; rename the sub-module.", nameof(module));
            tensors.Add(kv);
        }
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        if (metadata is not null)
            foreach (var kv in metadata)
            {
                if (kv.Key.StartsWith(ReservedMetadataPrefix, StringComparison.Ordinal))
                    throw new ArgumentException($"The metadata key '{kv.Key}' begins with the reserved prefix '{ReservedMetadataPrefix}'.", nameof(metadata));
                meta[kv.Key] = kv.Value;
            }
        meta[FormatKey] = FormatId;
        meta[ModuleKey] = module.GetType().FullName ?? module.GetType().Name;
        if (optimizer is not null)
        {
            var state = optimizer.GetState();
            meta[OptimizerKey] = OptimizerJson(state);
            for (int i = 0; i < state.Parameters.Count; i++)
                foreach (var b in state.Parameters[i].Buffers)
                    tensors.Add(new($"{OptimizerPrefix}{i.ToString(CultureInfo.InvariantCulture)}.{b.Key}", b.Value));
        }
        if (scheduler is not null) meta[SchedulerKey] = SchedulerJson(scheduler.GetState());
        Safetensors.Save(path, tensors, meta);
    }

    /// <summary>Loads a checkpoint into <paramref name="module"/> and, optionally, the optimizer and scheduler.</summary>
    /// <param name="path">The checkpoint.</param>
    /// <param name="module">The model; its keys and shapes must match.</param>
    /// <param name="optimizer">An optimizer over the model's parameters to restore, or null to ignore the saved optimizer state.</param>
    /// <param name="scheduler">A schedule to restore, or null.</param>
    /// <param name="strict">When true, missing and unexpected keys are errors; when false they are reported in the result.
    /// Mis-shaped keys are always errors.</param>
    /// <returns>Missing and unexpected keys, and the metadata.</returns>
    /// <exception cref="CheckpointException">The file is corrupted, or the checkpoint does not fit the model, optimizer or
    /// schedule; the message lists every missing, unexpected and mis-shaped key with its shapes. Nothing is modified.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static CheckpointLoadResult Load(string path, Module module, Optimizer? optimizer = null, ILrScheduler? scheduler = null, bool strict = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(module);
        var file = Safetensors.Load(path);
        var meta = file.Metadata;

        // 1. Module keys: collect every problem.
        var targets = module.StateEntries().ToList();
        var targetNames = new HashSet<string>(targets.Select(t => t.Key), StringComparer.Ordinal);
        var missing = new List<string>();
        var misshaped = new List<string>();
        var copies = new List<(Tensor Source, Tensor Target)>();
        foreach (var (name, target) in targets)
        {
            if (!file.Tensors.TryGetValue(name, out var source)) { missing.Add($"{name} {Tensor.ShapeString(target.Shape)}"); continue; }
            if (!ShapeUtil.SameShape(source.Shape, target.Shape))
                misshaped.Add($"{name}: checkpoint {Tensor.ShapeString(source.Shape)}, module {Tensor.ShapeString(target.Shape)}");
            else copies.Add((source, target));
        }
        var unexpected = new List<string>();
        foreach (var e in file.Entries)
            if (!targetNames.Contains(e.Name) && !e.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
                unexpected.Add($"{e.Name} {Tensor.ShapeString(e.Shape)}");
        if (misshaped.Count > 0 || strict && (missing.Count > 0 || unexpected.Count > 0))
            throw new CheckpointException(path, DescribeMismatch(module, meta, missing, unexpected, misshaped, strict));

        // 2. Optimizer state.
        OptimizerState? optimizerState = null;
        if (optimizer is not null)
        {
            if (!meta.TryGetValue(OptimizerKey, out var json))
                throw new CheckpointException(path, "the checkpoint holds no optimizer state (it was saved without an optimizer)", OptimizerKey);
            optimizerState = ParseOptimizerState(path, json, file);
            var problems = optimizer.FindStateProblems(optimizerState);
            if (problems.Count > 0)
                throw new CheckpointException(path, $"the saved optimizer state does not fit this {optimizer.Kind} optimizer:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", problems), OptimizerKey);
        }

        // 3. Scheduler state.
        LrSchedulerState? schedulerState = null;
        if (scheduler is not null)
        {
            if (!meta.TryGetValue(SchedulerKey, out var json))
                throw new CheckpointException(path, "the checkpoint holds no learning-rate schedule state (it was saved without a scheduler)", SchedulerKey);
            schedulerState = ParseSchedulerState(path, json);
            string? problem = scheduler is LrScheduler ls ? ls.FindStateProblem(schedulerState) : null;
            if (problem is not null) throw new CheckpointException(path, problem, SchedulerKey);
        }

        // 4. Apply. The scheduler first: a third-party ILrScheduler may still reject its state, and nothing else has changed yet.
        if (schedulerState is not null)
        {
            try { scheduler!.SetState(schedulerState); }
            catch (ArgumentException ex) { throw new CheckpointException(path, ex.Message, SchedulerKey, inner: ex); }
        }
        foreach (var (source, target) in copies) source.Data.CopyTo(target.Data);
        if (optimizerState is not null) optimizer!.ApplyState(optimizerState);
        return new CheckpointLoadResult(missing, unexpected, meta);
    }

    private static string DescribeMismatch(Module module, IReadOnlyDictionary<string, string> meta, List<string> missing, List<string> unexpected, List<string> misshaped, bool strict)
    {
        var sb = new StringBuilder("the checkpoint does not fit the module ").Append(module.GetType().Name);
        if (meta.TryGetValue(ModuleKey, out var saved) && saved != (module.GetType().FullName ?? module.GetType().Name))
            sb.Append(" (it was saved from ").Append(saved).Append(')');
        sb.Append(':');
        void List(string title, List<string> keys)
        {
            if (keys.Count == 0) return;
            sb.Append(Environment.NewLine).Append("  ").Append(title).Append(" (").Append(keys.Count).Append("):");
            foreach (var k in keys) sb.Append(Environment.NewLine).Append("    ").Append(k);
        }
        if (strict) List("missing keys", missing);
        if (strict) List("unexpected keys", unexpected);
        List("mis-shaped keys", misshaped);
        return sb.ToString();
    }

    // ------------------------------------------------------------------ optimizer and scheduler metadata

    private static string OptimizerJson(OptimizerState state)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("kind", state.Kind);
            w.WriteStartObject("hyperparameters");
            foreach (var kv in state.Hyperparameters) w.WriteNumber(kv.Key, kv.Value);
            w.WriteEndObject();
            w.WriteStartArray("groups");
            foreach (var g in state.Groups)
            {
                w.WriteStartObject();
                w.WriteNumber("params", g.ParameterCount);
                w.WriteNumber("lr", g.LearningRate);
                w.WriteNumber("weight_decay", g.WeightDecay);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("steps");
            foreach (var p in state.Parameters) w.WriteNumberValue(p.Step);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static OptimizerState ParseOptimizerState(string path, string json, SafetensorsContent file)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
            var root = doc.RootElement;
            string kind = root.GetProperty("kind").GetString() ?? throw new FormatException("'kind' is null");
            var hyper = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var p in root.GetProperty("hyperparameters").EnumerateObject()) hyper[p.Name] = p.Value.GetDouble();
            var groups = new List<ParameterGroupState>();
            foreach (var g in root.GetProperty("groups").EnumerateArray())
                groups.Add(new ParameterGroupState(g.GetProperty("params").GetInt32(), g.GetProperty("lr").GetDouble(), g.GetProperty("weight_decay").GetDouble()));
            var steps = root.GetProperty("steps").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var buffers = new Dictionary<string, Tensor>[steps.Length];
            for (int i = 0; i < steps.Length; i++) buffers[i] = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var e in file.Entries)
            {
                if (!e.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)) continue;
                string rest = e.Name[OptimizerPrefix.Length..];
                int dot = rest.IndexOf('.');
                if (dot <= 0 || !int.TryParse(rest.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index >= steps.Length || dot == rest.Length - 1)
                    throw new CheckpointException(path, $"the optimizer tensor name does not match '{OptimizerPrefix}<index>.<buffer>' for one of the {steps.Length} saved parameters", e.Name);
                buffers[index][rest[(dot + 1)..]] = file.Tensors[e.Name];
            }
            var parameters = new ParameterState[steps.Length];
            for (int i = 0; i < steps.Length; i++) parameters[i] = new ParameterState(steps[i], buffers[i]);
            return new OptimizerState(kind, hyper, groups, parameters);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException(path, $"the optimizer state metadata is malformed: {ex.Message}", OptimizerKey, inner: ex);
        }
    }

    private static string SchedulerJson(LrSchedulerState state)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("kind", state.Kind);
            w.WriteNumber("step", state.StepCount);
            w.WriteStartArray("base_lrs");
            foreach (var lr in state.BaseLearningRates) w.WriteNumberValue(lr);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static LrSchedulerState ParseSchedulerState(string path, string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 4 });
            var root = doc.RootElement;
            return new LrSchedulerState(
                root.GetProperty("kind").GetString() ?? throw new FormatException("'kind' is null"),
                root.GetProperty("step").GetInt64(),
                root.GetProperty("base_lrs").EnumerateArray().Select(e => e.GetDouble()).ToArray());
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException(path, $"the learning-rate schedule metadata is malformed: {ex.Message}", SchedulerKey, inner: ex);
        }
    }
}
