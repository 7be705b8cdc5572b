using System.Globalization;
using Learner.Encoders;
using Learner.Nn.Serialization;
using Learner.Objectives;

namespace Learner.Training;

/// <summary>
/// Writes a pretraining checkpoint: the encoder (with its optimizer state) in <c>&lt;kind&gt;.safetensors</c>, whose
/// metadata holds the completed steps, the seed, the run state and the input normalisation; and, when the objective owns a head, the head and its
/// AdamW state in <c>head-&lt;kind&gt;-&lt;step&gt;.safetensors</c>, written first and referenced from the encoder file,
/// so a crash between the two writes never pairs mismatched files.
/// </summary>
internal sealed class PretrainingCheckpoints
{
    public const string StepKey = "pretrain.step";
    public const string SeedKey = "pretrain.seed";
    public const string HeadKey = "pretrain.head";
    public const string BestHeadKey = "pretrain.best_head";
    public const string StateKey = "pretrain.state";

    private readonly IEncoder _encoder;
    private readonly IEncoderOptimizer _optimizer;
    private readonly IObjective _objective;
    private readonly ObjectiveHeadModule? _head;
    private readonly Learner.Nn.Optim.AdamW? _headOptimizer;
    private readonly ulong _seed;
    private readonly Learner.Data.ScanNormalization _normalization;

    public PretrainingCheckpoints(IEncoder encoder, IEncoderOptimizer optimizer, IObjective objective, ObjectiveHeadModule? head, Learner.Nn.Optim.AdamW? headOptimizer, ulong seed, Learner.Data.ScanNormalization normalization)
    {
        (_encoder, _optimizer, _objective, _head, _headOptimizer, _seed, _normalization) = (encoder, optimizer, objective, head, headOptimizer, seed, normalization);
    }

    /// <summary>The first non-finite tensor of everything a checkpoint holds: the encoder's parameters and buffers, its
    /// optimizer's state, the objective head and its AdamW state (those named <c>head:…</c>); null when all are finite.</summary>
    public NonFiniteTensor? FindNonFinite()
    {
        var bad = _encoder.FindNonFiniteTensor() ?? _optimizer.FindNonFiniteState();
        if (bad is null && _head is not null)
            bad = ModuleEncoder.FindNonFinite(_head, HeadPrefix) ?? (_headOptimizer is null ? null : ModuleEncoder.FindNonFinite(_head, _headOptimizer, HeadPrefix));
        return bad;
    }

    /// <summary>Prefix of the objective head's tensors in <see cref="FindNonFinite"/> reports.</summary>
    public const string HeadPrefix = "head:";

    /// <summary>Writes <c>&lt;kind&gt;.safetensors</c> (kind "last" or "best") into <paramref name="directory"/>; returns its path.</summary>
    /// <exception cref="TrainingDivergedException">A tensor to be written is not finite; nothing is written.</exception>
    public string SaveTo(string directory, string kind, long completedSteps, PretrainingRunState state)
    {
        if (FindNonFinite() is { } bad)
            throw new TrainingDivergedException(Math.Max(0, completedSteps - 1), "state", bad.Name,
                $"Refusing to write the checkpoint '{kind}' after step {completedSteps}: {bad}. The run has diverged; the previous checkpoint is intact.");
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, kind + ".safetensors");
        var meta = new Dictionary<string, string>
        {
            [StepKey] = completedSteps.ToString(CultureInfo.InvariantCulture),
            [SeedKey] = _seed.ToString(CultureInfo.InvariantCulture),
            [StateKey] = state.ToJson(),
            ["pretrain.objective"] = _objective.Name,
            ["pretrain.encoder"] = _encoder.Name,
            [Learner.Data.ScanNormalization.MetadataKey] = _normalization.ToString(),
        };
        string? headName = null;
        if (_head is not null)
        {
            // The head file is written first under a name unique to its step, so that the pair (encoder file, head file)
            // referenced by the encoder file's metadata is always consistent, whenever a crash happens.
            headName = $"head-{kind}-{completedSteps.ToString("D9", CultureInfo.InvariantCulture)}.safetensors";
            Checkpoint.Save(Path.Combine(directory, headName), _head, _headOptimizer, null, new Dictionary<string, string> { [StepKey] = meta[StepKey] });
            meta[HeadKey] = headName;
            if (kind == "best") state.BestHead = headName;
            if (state.BestHead is not null) meta[BestHeadKey] = state.BestHead;
        }
        _encoder.Save(path, _optimizer, meta);
        if (_head is not null)
        {
            string? previous = kind == "best" ? state.PreviousBestHead : state.LastHead;
            if (kind == "best") state.PreviousBestHead = headName; else state.LastHead = headName;
            // Only a head file of this writer, by name, inside the folder: names come from checkpoint metadata on resume.
            if (previous is not null && previous != headName && previous != state.BestHead && previous != state.LastHead
                && IsFileName(previous) && previous.StartsWith("head-", StringComparison.Ordinal) && previous.EndsWith(".safetensors", StringComparison.Ordinal))
                TryDelete(Path.Combine(directory, previous));
        }
        return path;
    }

    /// <summary>True when <paramref name="name"/> is a plain file name: no folder, no separator, not rooted, not "." or "..".</summary>
    public static bool IsFileName(string? name) =>
        !string.IsNullOrEmpty(name) && name is not "." and not ".." && name.IndexOfAny(['/', '\\', ':', '\0']) < 0
        && !Path.IsPathRooted(name) && Path.GetFileName(name) == name && name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0;

    /// <summary>Checks that a companion-file name read from checkpoint metadata names a file inside the checkpoint's folder.</summary>
    /// <param name="checkpointPath">The checkpoint the name was read from.</param>
    /// <param name="key">The metadata key (or state field) it was read from.</param>
    /// <param name="name">The value.</param>
    /// <returns><paramref name="name"/>.</returns>
    /// <exception cref="InvalidDataException">It is not a plain file name.</exception>
    public static string CheckFileName(string checkpointPath, string key, string name)
    {
        if (!IsFileName(name))
            throw new InvalidDataException($"'{checkpointPath}': the metadata entry '{key}' is '{name}', which is not a file name inside the run folder (a checkpoint names its companion files by name only: no folder, separator, '..' or rooted path); the checkpoint is damaged or crafted.");
        return name;
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
