using Learner.Data;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Sampling;
using Microsoft.Extensions.Logging;

namespace Learner.Training;

/// <summary>
/// Builds <see cref="Pretrainer"/>s from one set of <see cref="ExperimentOptions"/> (encoder, budget, batch shape), the
/// way <see cref="LearnerExperiment"/> does: registered by <c>services.AddLearner(...)</c> so an application resolves it
/// and pretrains its own dataset with a named objective.
/// </summary>
public sealed class PretrainerFactory
{
    private readonly ExperimentOptions _options;
    private readonly ILoggerFactory? _loggers;
    private readonly ComputeBackend _backend;

    /// <summary>Creates the factory.</summary>
    /// <param name="options">The settings (validated).</param>
    /// <param name="loggers">Creates the pretrainers' loggers, or null for none.</param>
    /// <param name="backend">Builds the encoders and objectives, or null for the managed engine.</param>
    public PretrainerFactory(ExperimentOptions options, ILoggerFactory? loggers = null, ComputeBackend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _loggers = loggers;
        _backend = backend ?? ComputeBackend.Managed;
    }

    /// <summary>The backend that builds the encoders and objectives.</summary>
    public ComputeBackend Backend => _backend;

    /// <summary>The settings the pretrainers are built from.</summary>
    public ExperimentOptions Options => _options;

    /// <summary>A patient-grouped batch sampler over <paramref name="dataset"/> with the configured batch shape
    /// (<see cref="ExperimentOptions.PatientsPerBatch"/> × <see cref="ExperimentOptions.ScansPerPatient"/>).</summary>
    /// <param name="dataset">The scans.</param>
    /// <returns>The sampler.</returns>
    public IBatchSampler CreateSampler(LongitudinalDataset dataset) => new PatientBatchSampler(dataset, _options.PatientsPerBatch, _options.ScansPerPatient);

    /// <summary>Builds a pretrainer of a fresh encoder (or <paramref name="encoder"/>) with the named objective.</summary>
    /// <param name="dataset">The training scans; scores are normalised by its mean and standard deviation where the
    /// objective uses score values, and coarse labels are added by quartiles when missing.</param>
    /// <param name="objective">One of <see cref="LearnerExperiment.KnownObjectives"/>.</param>
    /// <param name="seed">Seed of the encoder's initialisation and of batch sampling.</param>
    /// <param name="validation">Scans of other patients measured after each epoch, or null.</param>
    /// <param name="encoder">The encoder to train, or null for one the backend builds from <see cref="ExperimentOptions.Encoder"/>
    /// (the caller owns it: dispose it when it is <see cref="IDisposable"/>).</param>
    /// <returns>The pretrainer and the encoder it trains.</returns>
    /// <exception cref="ArgumentException">The objective is unknown, or a scan lacks a health score.</exception>
    public (Pretrainer Pretrainer, IEncoder Encoder) Create(LongitudinalDataset dataset, string objective, int seed = 1, LongitudinalDataset? validation = null, IEncoder? encoder = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentException.ThrowIfNullOrEmpty(objective);
        if (!LearnerExperiment.KnownObjectives.Contains(objective))
            throw new ArgumentException($"Objective '{objective}' is unknown; allowed: {string.Join(", ", LearnerExperiment.KnownObjectives)}.", nameof(objective));
        if (dataset.Scans.Any(s => s.CoarseLabel is null)) dataset = dataset.WithQuantileLabels(4);
        if (validation is not null && validation.Scans.Any(s => s.CoarseLabel is null)) validation = validation.WithQuantileLabels(4);
        var scores = dataset.Scans.Select(s => s.Score ?? throw new ArgumentException($"Scan '{s.Id}' has no health score.", nameof(dataset))).ToArray();
        double mean = scores.Average(), std = Math.Sqrt(scores.Select(v => (v - mean) * (v - mean)).Average());
        encoder ??= _backend.CreateEncoder(_options.Encoder with { Seed = (ulong)seed });
        var loss = LearnerExperiment.CreateObjective(objective, encoder.EmbeddingDimension, (float)mean, (float)(std > 0 ? std : 1), (ulong)seed, _backend.Objectives);
        var pretrainer = new Pretrainer(encoder, dataset, CreateSampler(dataset), loss, _options.Pretraining with { Seed = (ulong)seed }, _loggers?.CreateLogger<Pretrainer>())
        {
            ValidationSet = validation,
        };
        return (pretrainer, encoder);
    }
}
