using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Learner.Cli;

/// <summary>The wording of the command line's messages: counts with the right plural, exception messages without .NET's
/// parameter and actual-value suffixes, and parse errors in the user's terms (option names, "a whole number", a
/// suggestion for a misspelled option).</summary>
internal static partial class CliMessages
{
    /// <summary>"1 step", "3 steps"; <paramref name="plural"/> for irregular nouns (default: noun + "s").</summary>
    public static string Count(long n, string noun, string? plural = null) =>
        string.Create(CultureInfo.InvariantCulture, $"{n} {(n == 1 ? noun : plural ?? noun + "s")}");

    /// <summary>An exception's message as a user reads it: without " (Parameter 'x')" and "Actual value was …" that
    /// <see cref="ArgumentException"/> and <see cref="ArgumentOutOfRangeException"/> append, on one line.</summary>
    public static string Clean(Exception e)
    {
        string message = e.Message;
        if (e is ArgumentException a && a.ParamName is { } name)
            message = message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal);
        if (e is ArgumentOutOfRangeException { ActualValue: not null })
            message = ActualValue().Replace(message, "");
        return InOptionTerms(string.Join(" ", message.Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
    }

    /// <summary>The library's setting names that a command-line option sets, with the option: a message from the library
    /// names the option a user typed (and the setting, for a settings file).</summary>
    private static readonly (string Setting, string Option)[] SettingOptions =
    [
        ("Protocol.TestFraction", "--test-fraction"), ("Protocol.OuterFolds", "--folds"), ("Protocol.ValidationFraction", "--validation-fraction"),
        ("Protocol.Transductive", "--transductive"), ("Search.Trials", "--search-trials"), ("Search.Metric", "--search-metric"),
        ("Search.Strategy", "--search-strategy"), ("BatchSourceOptions.PatientsPerBatch", "--patients-per-batch"),
        ("BatchSourceOptions.ScansPerPatient", "--scans-per-patient"), ("BatchSourceOptions.PairsPerBatch", "--pairs-per-batch"),
        ("BatchSourceOptions.NegativeGap", "--negative-gap"), ("BatchSourceOptions.CurriculumStartGap", "--curriculum-start"),
    ];

    /// <summary><paramref name="message"/> with each library setting that an option sets named as "--option (Setting)".</summary>
    public static string InOptionTerms(string message)
    {
        foreach (var (setting, option) in SettingOptions)
            message = Regex.Replace(message, $@"(?<![\w.:-]){Regex.Escape(setting)}(?!\w)", $"{option} ({ConfigKey(setting)})", RegexOptions.CultureInvariant);
        return message;
    }

    /// <summary>A setting's key in a settings file (<c>BatchSourceOptions.NegativeGap</c> → <c>BatchSource:NegativeGap</c>).</summary>
    private static string ConfigKey(string setting) =>
        (setting.StartsWith("BatchSourceOptions.", StringComparison.Ordinal) ? "BatchSource." + setting["BatchSourceOptions.".Length..] : setting).Replace('.', ':');

    /// <summary>A warning when P×K batches ask more scans of a patient than any patient has (they are then drawn again,
    /// so a batch holds repeats and costs more without more data), else null.</summary>
    public static string? ScansPerPatientWarning(Data.LongitudinalDataset data, Training.BatchSourceOptions batches)
    {
        if (batches.Kind != Training.BatchSourceKind.PatientBatches || data.PatientCount == 0) return null;
        int most = data.Patients.Max(p => p.ScanCount);
        return batches.ScansPerPatient <= most ? null
            : $"learner: warning: --scans-per-patient {batches.ScansPerPatient} is more than any patient's scans (at most {most}); each batch repeats scans to fill K, which costs step time without adding data.";
    }

    /// <summary>How many of a dataset check's problems an error message lists (learner check lists them all).</summary>
    public const int ProblemsListed = 5;

    /// <summary>A failed preflight's message: the count, the first <see cref="ProblemsListed"/> problems one per line, and
    /// where the rest are (a manifest without a score column would otherwise repeat one sentence for every scan).</summary>
    public static string Problems(Data.DatasetCheckReport report)
    {
        var p = report.Problems;
        var lines = p.Take(ProblemsListed).Select(x => "  " + x.Message).ToList();
        if (p.Count > ProblemsListed)
            lines.Add($"  … and {Count(p.Count - ProblemsListed, "more problem")}; learner check --manifest <file> --json lists them all.");
        return $"the dataset check found {Count(p.Count, "problem")}:{Environment.NewLine}{string.Join(Environment.NewLine, lines)}";
    }

    /// <summary>The lines <c>learner check</c> prints for a report's problems: every payload problem (each names a file
    /// to mend), and of the scans without a score or without a coarse label the first <see cref="ProblemsListed"/> of
    /// each kind and a count of the rest — one line per scan of a manifest that has no score column at all would bury
    /// the payload problems. When no scan of the manifest has one, the count line asks about the column; <c>--json</c>
    /// lists every problem.</summary>
    public static IEnumerable<string> CheckProblemLines(Data.DatasetCheckReport report)
    {
        var perScan = new Dictionary<Data.DatasetProblemKind, int>();
        foreach (var x in report.Problems)
        {
            if (x.Kind is Data.DatasetProblemKind.MissingScore or Data.DatasetProblemKind.MissingLabel)
            {
                int seen = perScan.GetValueOrDefault(x.Kind);
                perScan[x.Kind] = seen + 1;
                if (seen >= ProblemsListed) continue;
            }
            yield return "learner: " + x.Message;
        }
        foreach (var (kind, n) in perScan)
        {
            if (n <= ProblemsListed) continue;
            bool score = kind == Data.DatasetProblemKind.MissingScore;
            string what = score ? "without a usable score" : "without a coarse label";
            string all = n == report.ScanCount
                ? $" No scan of the manifest has one: is its {(score ? "score" : "label")} column missing, empty or named differently?"
                : "";
            yield return $"learner: … and {Count(n - ProblemsListed, "more scan")} {what} ({n} in all).{all} Run it again with --json to list every one.";
        }
    }

    [GeneratedRegex(@"\s*Actual value was [^\r\n]*", RegexOptions.CultureInvariant)]
    private static partial Regex ActualValue();

    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*)' for option '(?<option>[^']+)' as expected type '(?<type>[^']+)'\.?$", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex CannotParse();

    [GeneratedRegex(@"^Unrecognized command or argument '(?<token>.*)'\.?$", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex Unrecognized();

    /// <summary>What a value of a .NET type is called in messages.</summary>
    internal static string Kind(string type) => type switch
    {
        "System.Int32" or "System.Int64" or "System.Nullable`1[System.Int32]" => "a whole number",
        "System.Double" or "System.Single" or "System.Nullable`1[System.Double]" => "a number (e.g. 0.001 or 1e-3)",
        "System.Boolean" => "true or false",
        _ => "a valid value",
    };

    /// <summary>The messages of a command line that does not parse, one per problem: a value of the wrong type names the
    /// option and what it takes; an unknown option gets the nearest option of the command as a suggestion (and the value
    /// after it no message of its own); an unknown command lists the commands; "required command was not provided"
    /// is dropped when another message already explains the line.</summary>
    public static List<string> ParseErrors(ParseResult parse, Command root)
    {
        var command = parse.CommandResult.Command;
        var messages = new List<string>();
        bool afterUnknownOption = false;
        foreach (var e in parse.Errors)
        {
            string text = string.Join(" ", e.Message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(x => x.Trim()));
            if (CannotParse().Match(text) is { Success: true } m)
            {
                messages.Add($"{m.Groups["option"].Value}: '{m.Groups["value"].Value}' is not {Kind(m.Groups["type"].Value)}.");
                afterUnknownOption = false;
                continue;
            }
            if (Unrecognized().Match(text) is { Success: true } u)
            {
                string token = u.Groups["token"].Value;
                if (token.StartsWith('-'))
                {
                    var names = command.Options.Concat(root.Options.Where(o => o.Recursive)).Where(o => !o.Hidden).SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith("--", StringComparison.Ordinal)).Distinct().ToList();
                    string? near = Nearest(token, names);
                    messages.Add(near is null
                        ? $"'{token}' is not an option of '{Name(command, root)}'."
                        : $"'{token}' is not an option of '{Name(command, root)}'; did you mean '{near}'?");
                    afterUnknownOption = true;
                }
                else if (afterUnknownOption)
                {
                    afterUnknownOption = false; // the value of the unknown option: already explained
                }
                else if (command == root)
                {
                    var commands = root.Subcommands.Select(c => c.Name).ToList();
                    string? near = Nearest(token, commands);
                    messages.Add($"'{token}' is not a command{(near is null ? "." : $"; did you mean '{near}'?")} Commands: {string.Join(", ", commands)}.");
                }
                else
                {
                    messages.Add($"'{token}' is not an argument of '{Name(command, root)}' (its options start with --).");
                }
                continue;
            }
            afterUnknownOption = false;
            string? option = e.SymbolResult switch
            {
                OptionResult o => o.Option.Name,
                ArgumentResult { Parent: OptionResult o } => o.Option.Name,
                _ => null,
            };
            messages.Add(option is not null && !text.Contains(option, StringComparison.Ordinal) ? $"{option}: {text}" : text);
        }
        // "Required command was not provided." adds nothing when an unknown command was already named.
        if (messages.Count > 1) messages.RemoveAll(m => m.StartsWith("Required command was not provided", StringComparison.Ordinal));
        else if (messages is [var only] && only.StartsWith("Required command was not provided", StringComparison.Ordinal))
            messages[0] = $"give a command: {string.Join(", ", root.Subcommands.Select(c => c.Name))}.";
        return messages;
    }

    private static string Name(Command command, Command root) => command == root ? "learner" : $"learner {command.Name}";

    /// <summary>The candidate nearest to <paramref name="token"/> by edit distance (at most a third of its length, at
    /// least 2), or one it is a prefix of; null when none is close.</summary>
    public static string? Nearest(string token, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            int d = c.StartsWith(token, StringComparison.OrdinalIgnoreCase) && token.TrimStart('-').Length >= 3 ? 0 : Distance(token.ToLowerInvariant(), c.ToLowerInvariant());
            if (d < bestDistance) (best, bestDistance) = (c, d);
        }
        return best is not null && bestDistance <= Math.Max(2, token.TrimStart('-').Length / 3) ? best : null;
    }

    /// <summary>Levenshtein distance.</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
