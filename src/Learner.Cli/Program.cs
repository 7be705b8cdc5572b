namespace Learner.Cli;

/// <summary>The entry point of the <c>learner</c> tool.</summary>
public static class Program
{
    /// <summary>Runs the tool.</summary>
    /// <param name="args">The command line.</param>
    /// <returns>The exit code (see <see cref="ExitCodes"/>).</returns>
    public static Task<int> Main(string[] args) => LearnerCli.RunAsync(args, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected);
}
