namespace Learner.Cli;

/// <summary>The files an experiment writes in its <c>--out</c> folder: whether a folder holds one, and deleting exactly
/// those (nothing else the folder holds).</summary>
internal static class ExperimentFolder
{
    /// <summary>The experiment's own files besides its saved command line: the settings record its resume checks, the
    /// results and the report (and their temporary files while written).</summary>
    private static readonly string[] Written = ["experiment-state.json", "results.md", "results.csv", "results.json", "report.html"];

    /// <summary>Every file the experiment writes: <see cref="Written"/> and the saved command line.</summary>
    private static readonly string[] Files = ["command.json", .. Written];

    /// <summary>Whether <paramref name="dir"/> holds an experiment's files or its <c>runs/</c> folder — a saved command
    /// line alone, of a start refused before anything ran, is no experiment to protect.</summary>
    public static bool Holds(string dir) =>
        Directory.Exists(dir) && (Written.Any(f => File.Exists(Path.Combine(dir, f))) || Directory.Exists(Path.Combine(dir, "runs")));

    /// <summary>Deletes the experiment's files and its <c>runs/</c> folder, nothing else.</summary>
    public static void Delete(string dir)
    {
        if (!Directory.Exists(dir)) return;
        foreach (var f in Files) File.Delete(Path.Combine(dir, f));
        foreach (var temp in Files.SelectMany(f => Directory.EnumerateFiles(dir, f + "*.tmp")).ToList()) File.Delete(temp);
        string runs = Path.Combine(dir, "runs");
        if (Directory.Exists(runs)) Directory.Delete(runs, recursive: true);
    }
}
