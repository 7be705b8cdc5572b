using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Learner.Data;
using Learner.Nn;
using Learner.Training;
using Spectre.Console;

namespace Learner.Cli;

/// <summary>
/// The <c>learner</c> command line: <c>synth</c>, <c>pretrain</c>, <c>embed</c>, <c>evaluate</c>, <c>experiment</c>,
/// <c>report</c> and <c>check</c>. Callable in-process (tests, other tools) with any output writers.
/// </summary>
public static class LearnerCli
{
    /// <summary>Parses and runs a command line.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="output">Where results and progress go (human-readable, or JSON with <c>--json</c>: then every result,
    /// and every error as <c>{"error": message, "exitCode": code}</c>, is one JSON document here).</param>
    /// <param name="error">Where errors go.</param>
    /// <param name="interactive">Whether to draw live progress bars (a terminal); otherwise progress is one line per epoch.</param>
    /// <param name="cancellationToken">Cancels the command (as Ctrl-C does).</param>
    /// <returns>The exit code (<see cref="ExitCodes"/>).</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, bool interactive = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var json = new Option<bool>("--json") { Description = "Write machine-readable JSON to standard output instead of tables and progress.", Recursive = true };
        var verbose = new Option<bool>("--verbose") { Description = "Show stack traces of errors.", Recursive = true };
        var delimiter = new Option<string>("--delimiter") { Description = "The manifest's field delimiter: ',' (default), ';', '\\t' (tab) or '|'.", Recursive = true, DefaultValueFactory = _ => "," };
        // A root command named "learner" (a RootCommand is named after the executable, "Learner.Cli" under dotnet run
        // and as an installed tool), with the help and version options a RootCommand would add.
        var root = new Command("learner", """
            learner — LEARNER-style contrastive pretraining: learn fine-grained, within-patient change from coarse health labels.

            Typical session:
              learner synth --cohort lus --patients 60 --out data/lus
              learner check --manifest data/lus/manifest.csv --objective mse+weighted-contrastive
              learner pretrain --manifest data/lus/manifest.csv --objective mse+weighted-contrastive --out runs/wc
              learner synth --cohort lus --patients 60 --seed 8 --out data/lus-test   (other patients, held out)
              learner embed --run runs/wc --manifest data/lus-test/manifest.csv --out runs/wc/test.npy
              learner evaluate --embeddings runs/wc/test.npy --manifest data/lus-test/manifest.csv --threshold 20
              learner experiment --cohort lus --objectives "mse; weighted-contrastive(marginByGap=true)" --out runs/exp
              learner report --experiment runs/exp/results.json --out runs/exp/report.html

            Numbers are written with '.' as the decimal point (--lr 0.5), in every culture.
            Exit codes: 0 success, 1 failure (missing or malformed file, diverged training), 2 usage error, 130 cancelled.
            """);
        root.Add(new System.CommandLine.Help.HelpOption());
        root.Add(new VersionOption());
        root.Add(json);
        root.Add(verbose);
        root.Add(delimiter);
        var context = new CliContext(output, error, interactive) { Args = args };
        root.Add(Commands.Synth(context, json));
        root.Add(Commands.Pretrain(context, json));
        root.Add(Commands.Embed(context, json));
        root.Add(Commands.Evaluate(context, json));
        root.Add(ExperimentCommand.Create(context, json, Commands.Architectures));
        root.Add(Commands.Report(context, json));
        root.Add(CheckCommand.Create(context, json));

        var parse = root.Parse(args);
        // --json is honoured for errors too, even when the command line does not parse (it is then looked for by name).
        bool jsonErrors = parse.Errors.Count == 0 ? parse.GetValue(json) : args.Contains("--json", StringComparer.Ordinal);
        if (parse.Errors.Count > 0)
        {
            var messages = CliMessages.ParseErrors(parse, root);
            foreach (var m in messages) await error.WriteLineAsync($"learner: {m}");
            string command = parse.CommandResult.Command == root ? "learner" : $"learner {parse.CommandResult.Command.Name}";
            await error.WriteLineAsync($"Run '{command} --help' for the options and examples.");
            if (jsonErrors) context.WriteJson(new { error = string.Join(" ", messages), exitCode = ExitCodes.Usage });
            return ExitCodes.Usage;
        }
        bool showStack = parse.GetValue(verbose);
        context.Delimiter = parse.GetValue(delimiter) is "\\t" or "tab" ? "\t" : parse.GetValue(delimiter)!;
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = TimeSpan.FromMinutes(2) }, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("learner: cancelled.");
            if (jsonErrors) context.WriteJson(new { error = "cancelled", exitCode = ExitCodes.Cancelled });
            return ExitCodes.Cancelled;
        }
        catch (Exception e) when (Describe(e) is { } described)
        {
            await error.WriteLineAsync($"learner: {described.Message}");
            if (showStack) await error.WriteLineAsync(e.ToString());
            if (jsonErrors) context.WriteJson(new { error = described.Message, exitCode = described.Code });
            return described.Code;
        }
    }

    /// <summary>The one-line message and exit code of an error a user can act on.</summary>
    private static (string Message, int Code)? Describe(Exception e) => e switch
    {
        CliException c => (c.Message, c.ExitCode),
        FileNotFoundException f => (f.FileName is { } name && !f.Message.Contains(name, StringComparison.Ordinal) ? $"{f.Message} ({name})" : f.Message, ExitCodes.Failed),
        DirectoryNotFoundException d => (d.Message, ExitCodes.Failed),
        DatasetCheckException d => (CliMessages.Problems(d.Report), ExitCodes.Failed),
        LearnerDataException or InvalidDataException or JsonException or Nn.Serialization.CheckpointException or TrainingDivergedException => (CliMessages.Clean(e), ExitCodes.Failed),
        Sampling.SamplingException => (CliMessages.Clean(e), ExitCodes.Failed),
        ArgumentException a => (CliMessages.Clean(a), ExitCodes.Usage),
        IOException or UnauthorizedAccessException => (CliMessages.Clean(e), ExitCodes.Failed),
        _ => ($"{CliMessages.Clean(e)} (an unexpected {e.GetType().Name}; run with --verbose for details)", ExitCodes.Failed),
    };
}

/// <summary>Shared state of one invocation: writers and the progress style.</summary>
internal sealed class CliContext(TextWriter output, TextWriter error, bool interactive)
{
    public TextWriter Out { get; } = output;

    public TextWriter Err { get; } = error;

    public bool Interactive { get; } = interactive;

    /// <summary>The command line being run (recorded in results; replayed by <c>experiment --resume</c>).</summary>
    public IReadOnlyList<string> Args { get; init; } = Array.Empty<string>();

    /// <summary>A Spectre console over <see cref="Out"/>: live progress and colour only when interactive.</summary>
    public IAnsiConsole Console { get; } = CreateConsole(output, interactive);

    private static IAnsiConsole CreateConsole(TextWriter output, bool interactive)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Yes : InteractionSupport.No,
        });
        if (!interactive) console.Profile.Width = 120;
        return console;
    }

    /// <summary>The JSON of every result and error: non-finite numbers are null (<see cref="Reporting.NonFiniteAsNullJsonConverter"/>).</summary>
    public static JsonSerializerOptions JsonOptions => Reporting.NonFiniteAsNullJsonConverter.Options;

    public void WriteJson(object value) => Out.WriteLine(JsonSerializer.Serialize(value, JsonOptions));

    public static string F(double v) => double.IsFinite(v) ? v.ToString("F3", CultureInfo.InvariantCulture) : "NaN";

    public static void RequireFile(string path, string option)
    {
        if (!File.Exists(path)) throw new CliException($"{option}: the file '{path}' does not exist.", ExitCodes.Failed);
    }

    /// <summary>The manifest delimiter given by <c>--delimiter</c> (default ',').</summary>
    public string Delimiter { get; set; } = ",";


    /// <summary>Reads a manifest with the given delimiter (or <see cref="Delimiter"/>).</summary>
    public LongitudinalDataset ReadManifest(string path, string? delimiter = null, bool requirePayloadFiles = true)
    {
        RequireFile(path, "--manifest");
        if ((delimiter ?? Delimiter).Length != 1) throw new CliException($"--delimiter: give one character (',', ';', '\\t' for tab, '|'), got '{delimiter ?? Delimiter}'.");
        return Manifest.Read(path, new ManifestOptions { Delimiter = delimiter ?? Delimiter, RequirePayloadFiles = requirePayloadFiles });
    }

    public static void Positive(int value, string option)
    {
        if (value < 1) throw new CliException($"{option} must be ≥ 1, got {value}.");
    }

}
