using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Learner.Experiments;
using Learner.Objectives;
using Learner.Training;
using Microsoft.Extensions.Configuration;

namespace Learner.Cli;

/// <summary>Reading objective lists and configuration files for <c>experiment</c> and <c>pretrain</c>.</summary>
internal static class ExperimentSettings
{
    /// <summary>Splits an objective list (<see cref="ObjectiveSpec.ParseList"/>: specs separated by ',' or ';' outside
    /// parentheses, so <c>mse,weighted-contrastive(margin=1,marginByGap=true)</c> is two specs). Each is parsed and
    /// validated; a bad one is a usage error naming the option and the spec.</summary>
    public static string[] SplitObjectives(string text, string option)
    {
        try
        {
            var specs = ObjectiveSpec.ParseList(text);
            if (specs.Count == 0) throw new CliException($"{option}: give at least one objective spec.");
            foreach (var spec in specs) spec.Validate(ObjectiveRecipes.Default, ObjectiveRegistry.CreateDefault());
            return specs.Select(s => s.ToString()).ToArray();
        }
        catch (ArgumentException e)
        {
            throw new CliException($"{option}: {CliMessages.Clean(e)}");
        }
    }

    /// <summary>Experiment options from a JSON file: its <c>Learner</c> section if it has one, else the whole file, bound
    /// like the DI configuration (<see cref="LearnerServiceCollectionExtensions.BindExperimentOptions"/>).</summary>
    public static ExperimentOptions LoadConfig(string path) => LoadConfig(path, out _);

    /// <summary>As <see cref="LoadConfig(string)"/>, also giving the bound section (to tell which keys the file set).</summary>
    public static ExperimentOptions LoadConfig(string path, out IConfiguration section)
    {
        CliContext.RequireFile(path, "--config");
        IConfigurationRoot root;
        try { root = new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(path), optional: false, reloadOnChange: false).Build(); }
        catch (Exception e) when (e is FormatException or InvalidDataException or System.Text.Json.JsonException)
        {
            // The JSON reader's own error (with its line and byte position) is the inner exception's.
            var json = Inner<System.Text.Json.JsonException>(e);
            string where = json?.LineNumber is { } line ? string.Create(CultureInfo.InvariantCulture, $" at line {line + 1}, byte {json.BytePositionInLine + 1}") : "";
            string reason = json is null ? e.Message : System.Text.RegularExpressions.Regex.Replace(json.Message, @"\s*LineNumber: \d+ \| BytePositionInLine: \d+\.?", "");
            throw new CliException($"--config: '{path}' is not valid JSON{where}: {reason}", ExitCodes.Failed);
        }
        section = root.GetSection("Learner").Exists() ? root.GetSection("Learner") : root;
        var options = new ExperimentOptions();
        try { LearnerServiceCollectionExtensions.BindExperimentOptions(section, options); }
        catch (InvalidOperationException e) { throw new CliException($"--config: '{path}': {ConfigError(e.Message, section)}"); }
        return options;
    }

    private static T? Inner<T>(Exception? e) where T : Exception
    {
        for (; e is not null; e = e.InnerException)
            if (e is T t) return t;
        return null;
    }

    /// <summary>A binding error in the file's terms: an unknown key with its path and the nearest setting, a value that
    /// does not convert with what the setting takes.</summary>
    internal static string ConfigError(string message, IConfiguration section)
    {
        var unknown = System.Text.RegularExpressions.Regex.Match(message, @"not found on the instance of (?<type>[\w.`]+): (?<names>.+)$");
        if (unknown.Success)
        {
            var type = typeof(ExperimentOptions).Assembly.GetType(unknown.Groups["type"].Value);
            var settings = type?.GetProperties().Where(p => p.CanWrite).Select(p => p.Name).ToArray() ?? [];
            var keys = section.AsEnumerable(makePathsRelative: true).Select(kv => kv.Key).ToList();
            var parts = System.Text.RegularExpressions.Regex.Matches(unknown.Groups["names"].Value, "'([^']+)'").Select(m => m.Groups[1].Value).Select(name =>
            {
                string key = keys.FirstOrDefault(k => k.Split(':')[^1].Equals(name, StringComparison.OrdinalIgnoreCase)) ?? name;
                if (section is IConfigurationSection { Path: { Length: > 0 } prefix }) key = prefix + ":" + key;
                string? near = CliMessages.Nearest(name, settings);
                return $"'{key}'{(near is null ? "" : $" (did you mean {near}?)")}";
            });
            return $"unknown setting {string.Join(", ", parts)}{(type is null ? "" : $"; {type.Name} has {string.Join(", ", settings)}")}.";
        }
        var convert = System.Text.RegularExpressions.Regex.Match(message, @"Failed to convert configuration value '(?<value>.*)' at '(?<key>[^']+)' to type '(?<type>[^']+)'");
        if (convert.Success)
            return $"'{convert.Groups["key"].Value}' = '{convert.Groups["value"].Value}' is not {CliMessages.Kind(convert.Groups["type"].Value)}.";
        return message;
    }

    /// <summary>Whether the user gave <paramref name="option"/> on the command line (rather than its default).</summary>
    public static bool Given(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    /// <summary>The value of <paramref name="option"/> when given, else <paramref name="fallback"/>.</summary>
    public static T Pick<T>(ParseResult parse, Option<T> option, T fallback) => Given(parse, option) ? parse.GetValue(option)! : fallback;

    public static BatchSourceKind ParseBatchSource(string text) => text switch
    {
        "pk" => BatchSourceKind.PatientBatches,
        "pairs" => BatchSourceKind.InterPatientPairs,
        "triplets" => BatchSourceKind.InterPatientTriplets,
        _ => throw new CliException($"--batch-source: '{text}' is not one of pk, pairs, triplets."),
    };

    public static string Name(BatchSourceKind kind) => kind switch
    {
        BatchSourceKind.InterPatientPairs => "pairs",
        BatchSourceKind.InterPatientTriplets => "triplets",
        _ => "pk",
    };

    public static CurriculumShape ParseCurriculum(string text) =>
        Enum.TryParse<CurriculumShape>(text, ignoreCase: true, out var shape) && Enum.IsDefined(shape)
            ? shape
            : throw new CliException($"--curriculum: '{text}' is not one of {string.Join(", ", Enum.GetNames<CurriculumShape>().Select(n => n.ToLowerInvariant()))}.");

    public static int[] ParseSeeds(string text)
    {
        var seeds = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw new CliException($"--seeds: '{s}' is not an integer.")).ToArray();
        if (seeds.Length == 0) throw new CliException("--seeds: give at least one seed.");
        return seeds;
    }
}
