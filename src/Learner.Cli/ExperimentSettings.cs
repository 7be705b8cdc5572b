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
            throw new CliException($"--config: '{path}' is not valid JSON: {e.Message}", ExitCodes.Failed);
        }
        section = root.GetSection("Learner").Exists() ? root.GetSection("Learner") : root;
        var options = new ExperimentOptions();
        try { LearnerServiceCollectionExtensions.BindExperimentOptions(section, options); }
        catch (InvalidOperationException e) { throw new CliException($"--config: '{path}': {e.Message}"); }
        return options;
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
