using Learner.Objectives;

namespace Learner.Encoders;

/// <summary>
/// Where the method's numbers are computed: how encoders are built from <see cref="EncoderOptions"/> and which objective
/// implementations the names resolve to. <see cref="Managed"/> is the embedded Learner.Nn engine; a GPU package (for
/// example <c>Learner.TorchSharp</c>) supplies its own, and <see cref="Experiments.LearnerExperiment"/>,
/// <see cref="Training.PretrainerFactory"/> and <c>services.AddLearner(...)</c> use whichever they are given.
/// </summary>
/// <remarks>Immutable; safe to share between threads (each encoder it creates is not).</remarks>
public sealed class ComputeBackend
{
    /// <summary>Creates a backend.</summary>
    /// <param name="name">A short name for logs and reports (e.g. "managed", "torchsharp:cuda").</param>
    /// <param name="createEncoder">Builds a fresh encoder from settings (the seed is in the settings).</param>
    /// <param name="objectives">Resolves objective names to implementations, or null for the managed ones.</param>
    public ComputeBackend(string name, Func<EncoderOptions, IEncoder> createEncoder, ObjectiveRegistry? objectives = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(createEncoder);
        Name = name;
        _createEncoder = createEncoder;
        Objectives = objectives ?? ObjectiveRegistry.CreateDefault();
    }

    private readonly Func<EncoderOptions, IEncoder> _createEncoder;

    /// <summary>The embedded managed engine: <see cref="EncoderFactory.Create"/> and the default objective registry.</summary>
    public static ComputeBackend Managed { get; } = new("managed", EncoderFactory.Create) { RunsSideBySide = true };

    /// <summary>Whether an experiment may run folds on this backend side by side
    /// (<see cref="Experiments.ExperimentRunOptions.ConcurrentRuns"/> above 1) with the results of one after another:
    /// its encoders and objectives share no process-wide state (a global random generator, say) and compute on the
    /// managed engine, whose thread budget (<see cref="Learner.Nn.Kernels.WorkerPool.LimitThreads"/>) each fold gets.
    /// True for <see cref="Managed"/>; false by default, and an experiment asking for more than one fold at a time on
    /// such a backend is refused.</summary>
    public bool RunsSideBySide { get; init; }

    /// <summary>The backend's name.</summary>
    public string Name { get; }

    /// <summary>The objective implementations of this backend, by name.</summary>
    public ObjectiveRegistry Objectives { get; }

    /// <summary>Builds a fresh encoder.</summary>
    /// <param name="options">The settings (validated by the backend; the message names a bad option).</param>
    /// <returns>The encoder. Dispose it when it is <see cref="IDisposable"/> (a backend holding native memory).</returns>
    /// <exception cref="InvalidOperationException">The backend's factory returned null.</exception>
    public IEncoder CreateEncoder(EncoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return _createEncoder(options) ?? throw new InvalidOperationException($"The '{Name}' backend's encoder factory returned null for architecture '{options.Architecture}'.");
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}
