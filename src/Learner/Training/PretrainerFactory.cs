using Learner.Data;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Objectives;
using Learner.Sampling;
using Microsoft.Extensions.Logging;

namespace Learner.Training;

/// <summary>
/// Builds <see cref="Pretrainer"/>s from one set of <see cref="ExperimentOptions"/> (encoder, budget, batch source) and
/// the objective recipes, the way <see cref="LearnerExperiment"/> builds each fold's: registered by
/// <c>services.AddLearner(...)</c> so an application resolves it and pretrains its own dataset with an objective spec.
/// </summary>
public sealed class PretrainerFactory
{
    private readonly ExperimentOptions _options;
    private readonly ILoggerFactory? _loggers;
    private readonly ComputeBackend _backend;
    private readonly ObjectiveRecipes _recipes;

    /// <summary>Creates the factory.</summary>
    /// <param name="options">The settings (validated).</param>
    /// <param name="loggers">Creates the pretrainers' loggers, or null for none.</param>
    /// <param name="backend">Builds the encoders and objectives, or null for the managed engine.</param>
    /// <param name="recipes">The objective recipes, or null for <see cref="ObjectiveRecipes.Default"/>.</param>
    public PretrainerFactory(ExperimentOptions options, ILoggerFactory? loggers = null, ComputeBackend? backend = null, ObjectiveRecipes? recipes = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _backend = backend ?? ComputeBackend.Managed;
        _recipes = recipes ?? ObjectiveRecipes.Default;
        options.Validate(_recipes, _backend.Objectives);
        _options = options;
        _loggers = loggers;
    }

    /// <summary>The backend that builds the encoders and objectives.</summary>
    public ComputeBackend Backend => _backend;

    /// <summary>The settings the pretrainers are built from.</summary>
    public ExperimentOptions Options => _options;

    /// <summary>The objective recipes.</summary>
    public ObjectiveRecipes Recipes => _recipes;

    /// <summary>A patient-grouped batch sampler over <paramref name="dataset"/> with the configured P × K batch shape
    /// (<see cref="BatchSourceOptions.PatientsPerBatch"/> × <see cref="BatchSourceOptions.ScansPerPatient"/>).</summary>
    /// <param name="dataset">The scans.</param>
    /// <returns>The sampler.</returns>
    public IBatchSampler CreateSampler(LongitudinalDataset dataset) => new PatientBatchSampler(dataset, _options.BatchSource.PatientsPerBatch, _options.BatchSource.ScansPerPatient);

    /// <summary>The configured batch source over <paramref name="dataset"/> (P×K, inter-patient pairs or triplets), its
    /// gaps scaled by the dataset's score standard deviation.</summary>
    /// <param name="dataset">The training scans.</param>
    /// <returns>The source.</returns>
    public IPretrainingBatchSource CreateBatchSource(LongitudinalDataset dataset)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var stats = CohortStatistics.FromDataset(dataset);
        return _options.BatchSource.Create(dataset, stats.HasScores ? stats.ScoreScale : 1.0, _options.Pretraining.Epochs);
    }

    /// <summary>Builds a pretrainer of a fresh encoder (or <paramref name="encoder"/>) with an objective spec.</summary>
    /// <param name="dataset">The training scans: the recipes' score-scaled defaults come from its statistics, and coarse
    /// labels are added from its score quartiles when missing (and scores are present).</param>
    /// <param name="objective">An objective spec (<see cref="ObjectiveSpec"/>), e.g. <c>mse+0.5*weighted-contrastive</c>.</param>
    /// <param name="seed">Seed of the encoder's initialisation and of batch sampling.</param>
    /// <param name="validation">Scans of other patients measured after each epoch, or null (labelled with the training
    /// set's bins when it lacks labels).</param>
    /// <param name="encoder">The encoder to train, or null for one the backend builds from <see cref="ExperimentOptions.Encoder"/>
    /// (the caller owns it: dispose it when it is <see cref="IDisposable"/>).</param>
    /// <returns>The pretrainer and the encoder it trains.</returns>
    /// <exception cref="ObjectiveSpecException">The spec is malformed or names an unknown objective or option.</exception>
    /// <exception cref="MissingScoreException">The objective or batch source needs scores a scan lacks.</exception>
    /// <exception cref="MissingLabelException">The objective needs coarse labels a scan lacks.</exception>
    public (Pretrainer Pretrainer, IEncoder Encoder) Create(LongitudinalDataset dataset, string objective, int seed = 1, LongitudinalDataset? validation = null, IEncoder? encoder = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentException.ThrowIfNullOrEmpty(objective);
        var spec = ObjectiveSpec.Parse(objective);
        spec.Validate(_recipes, _backend.Objectives);
        if (dataset.Scans.Any(s => s.CoarseLabel is null) && dataset.Scans.All(s => s.HasScore))
        {
            var binning = ScoreBinning.FromQuantiles(dataset.Scans.Select(s => s.Score!.Value), 4, dataset.HigherIsHealthier);
            dataset = dataset.WithCoarseLabels(binning);
            if (validation is not null && validation.Scans.Any(s => s.CoarseLabel is null) && validation.Scans.All(s => s.HasScore)) validation = validation.WithCoarseLabels(binning);
        }
        var stats = CohortStatistics.FromDataset(dataset);
        bool owned = encoder is null;
        encoder ??= _backend.CreateEncoder(_options.Encoder with { Seed = (ulong)seed });
        try
        {
            var loss = _recipes.Build(spec, new ObjectiveContext(encoder.EmbeddingDimension, (ulong)seed, stats), _backend.Objectives);
            var source = _options.BatchSource.Create(dataset, stats.HasScores ? stats.ScoreScale : 1.0, _options.Pretraining.Epochs);
            var options = _options.Pretraining with
            {
                Seed = (ulong)seed,
                Validation = _options.Pretraining.Validation with
                {
                    ChangeThresholds = _options.Pretraining.Validation.ChangeThresholds
                        ?? (validation is not null && validation.PatientCount >= _options.Pretraining.Validation.ChangeFolds ? _options.ChangeThresholds : null),
                },
            };
            var pretrainer = new Pretrainer(encoder, dataset, source, loss, options, _loggers?.CreateLogger<Pretrainer>())
            {
                ValidationSet = validation,
            };
            return (pretrainer, encoder);
        }
        catch
        {
            if (owned) (encoder as IDisposable)?.Dispose();
            throw;
        }
    }
}
