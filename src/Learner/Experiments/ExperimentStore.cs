using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Learner.Experiments;

/// <summary>What one outer fold of one run produced: the fold record and the held-out predictions pooled into the row.</summary>
internal sealed record FoldOutcome
{
    public required ExperimentFold Fold { get; init; }

    public required int[] Truth { get; init; }

    public required int[] Predicted { get; init; }

    public required int[] PairPatients { get; init; }

    public required double[] Distances { get; init; }

    public required double[] Gaps { get; init; }

    /// <summary>The patient of every alignment pair (same order as <see cref="Distances"/>).</summary>
    public required int[] AlignmentPatients { get; init; }

    public required double[] Losses { get; init; }
}

/// <summary>A trial's outcome, saved beside its checkpoint so that a resumed fold does not pretrain it again.</summary>
internal sealed record TrialRecord(int Index, string Settings, double Score, double Seconds, double[] Losses);

/// <summary>The experiment's run folder: one folder per objective × seed × fold (and trial), finished folds as JSON.</summary>
internal sealed class ExperimentStore(string root)
{
    private static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    public string Root { get; } = Path.GetFullPath(root);

    public string FoldDirectory(string objective, int seed, int fold) =>
        Path.Combine(Root, "runs", Slug(objective), $"seed-{seed}", $"fold-{fold}");

    public static string TrialDirectory(string foldDirectory, int trial) => trial < 0 ? foldDirectory : Path.Combine(foldDirectory, $"trial-{trial}");

    public FoldOutcome? TryLoadFold(string objective, int seed, int fold)
    {
        string file = Path.Combine(FoldDirectory(objective, seed, fold), "fold.json");
        if (!File.Exists(file)) return null;
        try { return JsonSerializer.Deserialize<FoldOutcome>(File.ReadAllText(file), Json); }
        catch (JsonException e) { throw new InvalidDataException($"'{file}' (a finished fold of a previous run) is not valid JSON: {e.Message}; delete it to recompute the fold.", e); }
    }

    public void SaveFold(string objective, int seed, FoldOutcome outcome)
    {
        string dir = FoldDirectory(objective, seed, outcome.Fold.Index);
        Directory.CreateDirectory(dir);
        WriteAtomic(Path.Combine(dir, "fold.json"), JsonSerializer.Serialize(outcome, Json));
    }

    public static TrialRecord? TryLoadTrial(string trialDirectory)
    {
        string file = Path.Combine(trialDirectory, "trial.json");
        if (!File.Exists(file) || !File.Exists(Path.Combine(trialDirectory, "last.safetensors"))) return null;
        try { return JsonSerializer.Deserialize<TrialRecord>(File.ReadAllText(file), Json); }
        catch (JsonException e) { throw new InvalidDataException($"'{file}' (a finished trial of a previous run) is not valid JSON: {e.Message}; delete it to recompute the trial.", e); }
    }

    public static void SaveTrial(string trialDirectory, TrialRecord record)
    {
        Directory.CreateDirectory(trialDirectory);
        WriteAtomic(Path.Combine(trialDirectory, "trial.json"), JsonSerializer.Serialize(record, Json));
    }

    /// <summary>A folder name for an objective spec: its readable characters plus a hash of the whole spec (specs that
    /// differ only in punctuation still get distinct folders).</summary>
    public static string Slug(string objective)
    {
        var sb = new StringBuilder();
        foreach (char c in objective.ToLowerInvariant()) sb.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '_');
        string readable = sb.Length > 48 ? sb.ToString(0, 48) : sb.ToString();
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(objective)))[..8];
        return $"{readable}-{hash}";
    }

    private static void WriteAtomic(string path, string text)
    {
        string temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
