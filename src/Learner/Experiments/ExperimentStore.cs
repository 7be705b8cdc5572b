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

    /// <summary>Visit level (empty in the transductive mode): truth, prediction, patient, distance and |Δscore| of each
    /// held-out consecutive-visit pair.</summary>
    public int[] VisitTruth { get; init; } = Array.Empty<int>();

    public int[] VisitPredicted { get; init; } = Array.Empty<int>();

    public int[] VisitPatients { get; init; } = Array.Empty<int>();

    public double[] VisitDistances { get; init; } = Array.Empty<double>();

    public double[] VisitGaps { get; init; } = Array.Empty<double>();

    /// <summary>Health-score probe (empty in the transductive mode and in folds saved before the probe existed): the
    /// score, the probe's prediction and the patient of each held-out scan with a finite score.</summary>
    public double[] ProbeScores { get; init; } = Array.Empty<double>();

    public double[] ProbePredictions { get; init; } = Array.Empty<double>();

    public int[] ProbePatients { get; init; } = Array.Empty<int>();

    /// <summary>The same for each held-out visit with a finite score (its pooled embedding, the mean of its scores).</summary>
    public double[] VisitProbeScores { get; init; } = Array.Empty<double>();

    public double[] VisitProbePredictions { get; init; } = Array.Empty<double>();

    public int[] VisitProbePatients { get; init; } = Array.Empty<int>();
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

    /// <summary>Records what the run folder was written with (every resolved setting and a fingerprint of the data) on
    /// a fresh run; on a resume, checks the folder was written with the same, so that no fold computed under other
    /// settings or on other data is reused.</summary>
    /// <exception cref="InvalidDataException">Resuming with other settings or data (the message names the first
    /// difference), or a folder without the record.</exception>
    public void CheckOrWriteSettings(IReadOnlyList<KeyValuePair<string, string>> settings, string dataFingerprint, bool resume)
    {
        string file = Path.Combine(Root, "experiment-state.json");
        var current = new SettingsRecord(settings.Select(kv => new[] { kv.Key, kv.Value }).ToArray(), dataFingerprint);
        if (!resume || !File.Exists(file))
        {
            if (resume && Directory.Exists(Path.Combine(Root, "runs")))
                throw new InvalidDataException($"'{Root}' holds runs but no experiment-state.json, so it cannot be checked that they were made with these settings; start the experiment again without resume (or in a new folder).");
            Directory.CreateDirectory(Root);
            WriteAtomic(file, JsonSerializer.Serialize(current, Json));
            return;
        }
        SettingsRecord? saved;
        try { saved = JsonSerializer.Deserialize<SettingsRecord>(File.ReadAllText(file), Json); }
        catch (JsonException e) { throw new InvalidDataException($"'{file}' is not valid JSON: {e.Message}", e); }
        if (saved?.Settings is null) throw new InvalidDataException($"'{file}' holds no settings.");
        if (saved.Data != dataFingerprint)
            throw new InvalidDataException($"'{Root}' was written for other data (scans, patients, scores or labels differ); resume with the same data, or start in a new folder.");
        foreach (var pair in current.Settings)
        {
            var old = saved.Settings.FirstOrDefault(x => x.Length == 2 && x[0] == pair[0]);
            if (old is null || old[1] != pair[1])
                throw new InvalidDataException($"'{Root}' was written with {pair[0]} = '{old?[1] ?? "(unset)"}', but this run has '{pair[1]}'; resume with the same settings, or start in a new folder.{Hint(old?[1], pair[1])}");
        }
        // A setting listed only when set (augmentation) that the folder had and this run has not.
        foreach (var old in saved.Settings.Where(x => x.Length == 2 && !current.Settings.Any(c => c[0] == x[0])))
            throw new InvalidDataException($"'{Root}' was written with {old[0]} = '{old[1]}', but this run has none; resume with the same settings, or start in a new folder.");
    }

    /// <summary>What to change to resume, where the difference has a known cause.</summary>
    private static string Hint(string? saved, string current)
    {
        const string Selected = "the searches' selected rates";
        if (saved is not null && current.Contains(Selected, StringComparison.Ordinal) && !saved.Contains(Selected, StringComparison.Ordinal))
            return " This run gives each objective the learning rate its search selected (ExperimentOptions.UseSelectedLearningRates, " +
                "the CLI's default when no rate is given), while the folder's runs shared one peak rate: to resume them, turn it off " +
                "(CLI: pass --lr with the folder's rate).";
        return "";
    }

    /// <summary>A fingerprint of what the experiment reads from the data: every scan's id, patient, time, scores, label.</summary>
    public static string Fingerprint(Data.LongitudinalDataset dataset)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var s in dataset.Scans)
            sha.AppendData(Encoding.UTF8.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{s.Id}\u001f{s.PatientId}\u001f{s.Time:R}\u001f{s.Score:R}\u001f{s.ExactScore:R}\u001f{s.CoarseLabel}\u001e")));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private sealed record SettingsRecord(string[][] Settings, string Data);

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
