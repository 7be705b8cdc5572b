using System.Globalization;
using Learner.Encoders;
using Learner.Nn.Serialization;
using Learner.Objectives;

namespace Learner.Training;

/// <summary>
/// Writes a pretraining checkpoint: the encoder (with its optimizer state) in <c>&lt;kind&gt;.safetensors</c>, whose
/// metadata holds the completed steps, the seed and the run state; and, when the objective owns a head, the head and its
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

    public PretrainingCheckpoints(IEncoder encoder, IEncoderOptimizer optimizer, IObjective objective, ObjectiveHeadModule? head, Learner.Nn.Optim.AdamW? headOptimizer, ulong seed)
    {
        (_encoder, _optimizer, _objective, _head, _headOptimizer, _seed) = (encoder, optimizer, objective, head, headOptimizer, seed);
    }

    /// <summary>Writes <c>&lt;kind&gt;.safetensors</c> (kind "last" or "best") into <paramref name="directory"/>; returns its path.</summary>
    public string SaveTo(string directory, string kind, long completedSteps, PretrainingRunState state)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, kind + ".safetensors");
        var meta = new Dictionary<string, string>
        {
            [StepKey] = completedSteps.ToString(CultureInfo.InvariantCulture),
            [SeedKey] = _seed.ToString(CultureInfo.InvariantCulture),
            [StateKey] = state.ToJson(),
            ["pretrain.objective"] = _objective.Name,
            ["pretrain.encoder"] = _encoder.Name,
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
            if (previous is not null && previous != headName && previous != state.BestHead && previous != state.LastHead)
                TryDelete(Path.Combine(directory, previous));
        }
        return path;
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
