using Learner.Cli;

namespace Learner.Cli.Tests;

/// <summary>Runs the command line in-process with captured standard output and error.</summary>
internal static class CliRunner
{
    public static async Task<(int Code, string Out, string Err)> Run(CancellationToken ct, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await LearnerCli.RunAsync(args, output, error, interactive: false, ct);
        return (code, output.ToString(), error.ToString());
    }

    public static Task<(int Code, string Out, string Err)> Run(params string[] args) => Run(default, args);
}
