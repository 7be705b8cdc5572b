namespace Learner.Cli;

/// <summary>The tool's exit codes.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>The command failed: a missing or malformed file, diverged training, an I/O error.</summary>
    public const int Failed = 1;

    /// <summary>The command line is wrong: an unknown command or option, or a value outside the allowed ones.</summary>
    public const int Usage = 2;

    /// <summary>Cancelled with Ctrl-C; <c>pretrain</c> leaves a resumable checkpoint.</summary>
    public const int Cancelled = 130;
}

/// <summary>An error the user can act on, with the exit code it maps to; printed as one line without a stack trace
/// unless <c>--verbose</c>.</summary>
public sealed class CliException : Exception
{
    /// <summary>Creates the error.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="exitCode">The exit code.</param>
    public CliException(string message, int exitCode = ExitCodes.Usage) : base(message) => ExitCode = exitCode;

    /// <summary>The exit code.</summary>
    public int ExitCode { get; }
}
