using Learner.Data;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Objectives;
using Learner.Training;

namespace Learner.Experiments;

/// <summary>Settings of a <see cref="LearnerExperiment"/>. <see cref="Validate()"/> names the first invalid option.</summary>
public sealed record ExperimentOptions
{
    /// <summary>The pretraining objectives compared, as objective specs (<see cref="ObjectiveSpec"/>: a registered name with
    /// options, or a weighted sum such as <c>mse+0.5*weighted-contrastive(marginByGap=true)</c>). Default: MSE, the
    /// within-patient MSE and the paper's recipe (<see cref="ObjectiveRecipes.PaperRecipe"/>) — the baseline and the two
    /// objectives the validation searches selected (set <see cref="UseSelectedLearningRates"/> to run each at its
    /// selected rate).</summary>
    public IReadOnlyList<string> Objectives { get; set; } = new[] { "mse", "mse-within-patient", ObjectiveRecipes.PaperRecipe };

    /// <summary>Seeds: each objective is evaluated once per seed (folds, encoder initialisation, batches, search).</summary>
    public IReadOnlyList<int> Seeds { get; set; } = new[] { 1 };

    /// <summary>The encoder (the same architecture for every objective).</summary>
    public EncoderOptions Encoder { get; set; } = new();

    /// <summary>The pretraining budget and optimizer (its seed is replaced by each run's seed; its checkpoint folder by
    /// the experiment's run folders) and the per-scan input normalisation (<see cref="PretrainingOptions.InputNormalization"/>,
    /// applied by the experiment to every scan — held-out ones included — before the folds; per-scan statistics only, so
    /// nothing crosses patients; a dataset that is already normalised is kept as it is). Default:
    /// <see cref="PretrainingOptions"/>' defaults.</summary>
    public PretrainingOptions Pretraining { get; set; } = new();

    /// <summary>Where each training step's scans come from: P×K patient batches (default), inter-patient pairs with a
    /// coarse-to-fine curriculum, or inter-patient triplets. The same source for every objective.</summary>
    public BatchSourceOptions BatchSource { get; set; } = new();

    /// <summary>How exact score changes map to improved / stable / worsened (from <see cref="Scan.ChangeScore"/>). There
    /// is no default: the change that counts clinically depends on the score (±20 S/F points, ±2 MMSE), so a
    /// <see cref="LearnerExperiment"/> requires it (a synthetic cohort declares its own, e.g.
    /// <c>SyntheticLusCohort.ChangeThresholds</c>). Pretraining alone does not need it; when set, the pretrainer's validation
    /// also measures change classification with it (unless <see cref="ValidationOptions.ChangeThresholds"/> is set there).
    /// Bindable from configuration: <c>"ChangeThresholds": { "Improvement": 20, "Worsening": 20, "Mode": "Absolute" }</c>.</summary>
    public ChangeThresholds? ChangeThresholds { get; set; }

    /// <summary>Which patients each step of a run may see (outer folds, validation carve-out, transductive mode).</summary>
    public ExperimentProtocolOptions Protocol { get; set; } = new();

    /// <summary>The hyperparameter search run per objective on validation patients (off by default).</summary>
    public HyperparameterSearchOptions Search { get; set; } = new();

    /// <summary>The change classifier.</summary>
    public ChangeClassifierOptions Classifier { get; set; } = new();

    /// <summary>How the visit level combines a visit's scan embeddings: their mean (default) or a learned attention
    /// pooling (<see cref="AttentionVisitPooling"/>) fit on the classifier's training patients only, never on test
    /// patients.</summary>
    public VisitPooling VisitPooling { get; set; } = VisitPooling.Mean;

    /// <summary>Test-time augmentation of every embedding the change classifier, the alignment metrics and a search's
    /// validation score read (<see cref="Embedder.EmbedAll(Encoders.IEncoder, Data.LongitudinalDataset, Downstream.TestTimeAugmentation, int, CancellationToken)"/>):
    /// <see cref="Downstream.TestTimeAugmentation.Flip"/> averages each scan's embedding with its mirror image's, at twice
    /// the embedding cost; pretraining is unchanged. Default <see cref="Downstream.TestTimeAugmentation.None"/>
    /// (docs/results.md, "Test-time flip", measures it).</summary>
    public TestTimeAugmentation TestTimeAugmentation { get; set; }

    /// <summary>Bootstrap replicates for the 95 % intervals (resampling patients; ≥ 1). Default 500.</summary>
    public int BootstrapResamples { get; set; } = 500;

    /// <summary>Peak learning rates for particular objectives, keyed by objective spec (compared in canonical form, so
    /// <c>"mse+3*weighted-contrastive(margin=0.25)"</c> and <c>"mse + 3*weighted-contrastive(margin = 0.25)"</c> are the
    /// same key); an objective not named here runs at <see cref="PretrainingOptions.Optimizer"/>'s rate. This is how
    /// settings selected per objective by a validation search are reused without searching again (the QuickStart runs
    /// MSE at 6·10⁻³ and the paper's recipe at 3·10⁻³, docs/results.md). Every key must be one of
    /// <see cref="Objectives"/>; a search (<see cref="HyperparameterSearchOptions.Trials"/> &gt; 0) draws its own rates, so
    /// the two cannot be combined. Null or empty: one rate for all.</summary>
    public IReadOnlyDictionary<string, double>? ObjectiveLearningRates { get; set; }

    /// <summary>Whether an objective without an entry in <see cref="ObjectiveLearningRates"/> pretrains at the rate the
    /// library's validation search selected for it (<see cref="ObjectiveRecipes.SelectedLearningRates"/>: the paper's
    /// recipe and <c>mse-within-patient</c> at 3·10⁻³, …) rather than at <see cref="PretrainingOptions.Optimizer"/>'s; a
    /// spec no search selected keeps the optimizer's rate. So every objective runs at its own selected settings, as the
    /// comparisons in docs/results.md do. Default false (one rate for all, as configured). Cannot be combined with a
    /// search, which draws its own rates.</summary>
    public bool UseSelectedLearningRates { get; set; }

    /// <summary>The peak learning rate <paramref name="objective"/> pretrains at when no search trial sets one: its entry
    /// in <see cref="ObjectiveLearningRates"/>, else (with <see cref="UseSelectedLearningRates"/>) its selected rate, else
    /// <see cref="PretrainingOptions.Optimizer"/>'s.</summary>
    /// <param name="objective">One of <see cref="Objectives"/>, parsed.</param>
    /// <returns>The rate.</returns>
    public double LearningRateOf(ObjectiveSpec objective)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (ObjectiveLearningRates is { Count: > 0 } rates)
            foreach (var (key, rate) in rates)
                if (ObjectiveSpec.Parse(key).Equals(objective)) return rate;
        if (UseSelectedLearningRates && ObjectiveRecipes.SelectedLearningRate(objective) is { } selected) return selected;
        return Pretraining.Optimizer.LearningRate;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate() => Validate(ObjectiveRecipes.Default, ObjectiveRegistry.CreateDefault());

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option, checking the objective specs
    /// against <paramref name="recipes"/> and <paramref name="registry"/> (a backend's registry).</summary>
    /// <param name="recipes">The objective recipes.</param>
    /// <param name="registry">The objective implementations.</param>
    public void Validate(ObjectiveRecipes recipes, ObjectiveRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(recipes);
        ArgumentNullException.ThrowIfNull(registry);
        if (Objectives is null || Objectives.Count == 0) throw new ArgumentException("Objectives must name at least one objective spec.", nameof(Objectives));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var o in Objectives)
        {
            var spec = ObjectiveSpec.Parse(o);
            spec.Validate(recipes, registry);
            if (!seen.Add(spec.ToString())) throw new ArgumentException($"Objectives lists '{spec}' twice.", nameof(Objectives));
        }
        if (Seeds is null || Seeds.Count == 0) throw new ArgumentException("Seeds must hold at least one seed.", nameof(Seeds));
        if (Seeds.Distinct().Count() != Seeds.Count) throw new ArgumentException($"Seeds lists a seed twice ({string.Join(", ", Seeds)}).", nameof(Seeds));
        if (Encoder is null) throw new ArgumentException("Encoder must be set.", nameof(Encoder));
        Encoder.Validate();
        if (Pretraining is null) throw new ArgumentException("Pretraining must be set.", nameof(Pretraining));
        // The experiment passes its change thresholds to the pretrainer's validation (unless set there).
        (Pretraining with { Validation = Pretraining.Validation with { ChangeThresholds = Pretraining.Validation.ChangeThresholds ?? ChangeThresholds } }).Validate();
        if (BatchSource is null) throw new ArgumentException("BatchSource must be set.", nameof(BatchSource));
        BatchSource.Validate();
        if (Protocol is null) throw new ArgumentException("Protocol must be set.", nameof(Protocol));
        Protocol.Validate();
        if (Search is null) throw new ArgumentException("Search must be set.", nameof(Search));
        Search.Validate();
        if (Search.Trials > 0)
            foreach (var o in Objectives) HyperparameterSearch.Trials(ObjectiveSpec.Parse(o), Search, 0); // every objective must have room for the same number of trials
        if (Search.Trials > 0 && Protocol.Transductive)
            throw new ArgumentException("Search.Trials > 0 needs validation patients, but Protocol.Transductive pretrains on every patient; turn one of them off.", nameof(Search));
        if (Search.Trials > 0 && Protocol.ValidationFraction == 0)
            throw new ArgumentException("Search.Trials > 0 selects on validation patients, but Protocol.ValidationFraction is 0.", nameof(Search));
        if (Pretraining.EarlyStopping is not null && Protocol.ValidationFraction == 0)
            throw new ArgumentException("Pretraining.EarlyStopping needs validation patients, but Protocol.ValidationFraction is 0.", nameof(Pretraining));
        if (Classifier is null) throw new ArgumentException("Classifier must be set.", nameof(Classifier));
        if (!Enum.IsDefined(TestTimeAugmentation)) throw new ArgumentException($"TestTimeAugmentation {(int)TestTimeAugmentation} is not a TestTimeAugmentation.", nameof(TestTimeAugmentation));
        if (TestTimeAugmentation != TestTimeAugmentation.None && Encoder is { Architecture: "mlp" })
            throw new ArgumentException($"TestTimeAugmentation {TestTimeAugmentation} mirrors image axes, but Encoder.Architecture is 'mlp' (feature vectors); use TestTimeAugmentation.None.", nameof(TestTimeAugmentation));
        if (!Enum.IsDefined(VisitPooling)) throw new ArgumentException($"VisitPooling {(int)VisitPooling} is not a VisitPooling.", nameof(VisitPooling));
        if (VisitPooling != VisitPooling.Mean && Protocol is { Transductive: true })
            throw new ArgumentException($"VisitPooling {VisitPooling} is fit on the held-out protocol's training patients, but Protocol.Transductive has no visit level; use VisitPooling.Mean or turn Transductive off.", nameof(VisitPooling));
        Classifier.Validate();
        if (BootstrapResamples < 1) throw new ArgumentException($"BootstrapResamples must be ≥ 1, got {BootstrapResamples}.", nameof(BootstrapResamples));
        ValidateObjectiveLearningRates();
    }

    private void ValidateObjectiveLearningRates()
    {
        if (UseSelectedLearningRates && Search.Trials > 0)
            throw new ArgumentException($"UseSelectedLearningRates runs each objective at its selected rate, but Search.Trials = {Search.Trials} searches the rate (Search.LearningRates); use one or the other.", nameof(UseSelectedLearningRates));
        if (ObjectiveLearningRates is not { Count: > 0 } rates) return;
        if (Search.Trials > 0)
            throw new ArgumentException($"ObjectiveLearningRates fixes the rate of {rates.Count} objective(s), but Search.Trials = {Search.Trials} searches the rate (Search.LearningRates); use one or the other.", nameof(ObjectiveLearningRates));
        var objectives = Objectives.Select(ObjectiveSpec.Parse).ToList();
        var keyed = new HashSet<ObjectiveSpec>();
        foreach (var (key, rate) in rates)
        {
            ObjectiveSpec spec;
            try { spec = ObjectiveSpec.Parse(key); }
            catch (ObjectiveSpecException e) { throw new ArgumentException($"ObjectiveLearningRates key '{key}' is not an objective spec: {e.Message}", nameof(ObjectiveLearningRates), e); }
            if (!objectives.Contains(spec))
                throw new ArgumentException($"ObjectiveLearningRates names '{key}', which is not one of Objectives ({string.Join("; ", objectives)}).", nameof(ObjectiveLearningRates));
            if (!keyed.Add(spec))
                throw new ArgumentException($"ObjectiveLearningRates names '{spec}' twice.", nameof(ObjectiveLearningRates));
            if (!(rate > 0) || !double.IsFinite(rate))
                throw new ArgumentException($"ObjectiveLearningRates['{key}'] is {rate.ToString(System.Globalization.CultureInfo.InvariantCulture)}; a learning rate must be finite and > 0.", nameof(ObjectiveLearningRates));
        }
    }
}

/// <summary>
/// The evaluation protocol of an experiment: which patients pretraining, selection, the change classifier's fit and the
/// reported metrics may use. By default patients are split into <see cref="OuterFolds"/> folds before anything is
/// trained; each fold's patients are predicted by models that never saw them.
/// </summary>
public sealed record ExperimentProtocolOptions
{
    /// <summary>Patient-level outer folds (≥ 2; default 5): each fold's patients are held out once. Ignored when
    /// <see cref="TestFraction"/> or <see cref="TestPatients"/> gives a single test split.</summary>
    public int OuterFolds { get; set; } = 5;

    /// <summary>A single held-out split instead of folds: this share of patients (in (0, 1), stratified by coarse label,
    /// seeded by each run's seed) is the test set. Null (default) for <see cref="OuterFolds"/>.</summary>
    public double? TestFraction { get; set; }

    /// <summary>A single held-out split given by patient ids (the same for every seed). Null (default) for folds.</summary>
    public IReadOnlyList<string>? TestPatients { get; set; }

    /// <summary>Share of each fold's training patients carved out as validation patients (for the hyperparameter search
    /// and early stopping), in [0, 1). Null (default): 0.2 when <see cref="ExperimentOptions.Search"/> or early stopping
    /// needs them, else 0 (every training patient pretrains).</summary>
    public double? ValidationFraction { get; set; }

    /// <summary>The old, leaky mode, off by default: pretrain on <em>every</em> patient (health scores of the evaluated
    /// patients included) and cross-validate only the change classifier. Every output labels such results
    /// "transductive"; they are not held-out estimates.</summary>
    public bool Transductive { get; set; }

    /// <summary>The protocol's name in outputs: "held-out k-fold", "held-out split" or "transductive".</summary>
    public string Name => Transductive ? "transductive" : TestFraction is not null || TestPatients is not null ? "held-out split" : "held-out k-fold";

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (OuterFolds < 2) throw new ArgumentException($"Protocol.OuterFolds must be ≥ 2, got {OuterFolds}.", nameof(OuterFolds));
        if (TestFraction is { } f && !(f > 0 && f < 1)) throw new ArgumentException(FormattableString.Invariant($"Protocol.TestFraction must lie in (0, 1), got {f}."), nameof(TestFraction));
        if (TestFraction is not null && TestPatients is not null) throw new ArgumentException("Give at most one of Protocol.TestFraction and Protocol.TestPatients.", nameof(TestPatients));
        if (TestPatients is { Count: 0 }) throw new ArgumentException("Protocol.TestPatients is empty; give patient ids or leave it null.", nameof(TestPatients));
        if (ValidationFraction is { } v && !(v >= 0 && v < 1)) throw new ArgumentException(FormattableString.Invariant($"Protocol.ValidationFraction must lie in [0, 1), got {v}."), nameof(ValidationFraction));
        if (Transductive && (TestFraction is not null || TestPatients is not null))
            throw new ArgumentException("Protocol.Transductive pretrains on every patient; a test split contradicts it.", nameof(Transductive));
    }
}

/// <summary>How trials of a <see cref="HyperparameterSearchOptions"/> are chosen from the search space.</summary>
public enum SearchStrategy
{
    /// <summary>A seeded random order of the grid's points (without repetition), the first <c>Trials</c> of them.</summary>
    Random,

    /// <summary>The grid's points in order (learning rate slowest, then each option axis), the first <c>Trials</c>.</summary>
    Grid,
}

/// <summary>
/// A small hyperparameter search run for every objective with the same number of trials and the same step budget:
/// each trial pretrains on the fold's pretraining patients, and is scored on the fold's validation patients by
/// <see cref="Metric"/>; the best trial's encoder is the fold's model. Test patients are touched only by the chosen one.
/// </summary>
/// <remarks>The space is the learning rates × the option values of each objective term (<see cref="OptionValues"/>, or
/// the built-in axes of <see cref="HyperparameterSearch.DefaultAxes"/>); an option the spec sets itself is not searched.
/// Every objective must have at least <see cref="Trials"/> points, so that none gets fewer trials than another.</remarks>
public sealed record HyperparameterSearchOptions
{
    /// <summary>Trials per objective and fold (≥ 0; default 0: no search, the recipes' defaults).</summary>
    public int Trials { get; set; }

    /// <summary>How trials are chosen. Default random.</summary>
    public SearchStrategy Strategy { get; set; } = SearchStrategy.Random;

    /// <summary>The validation metric the search maximises: "macroF1" (default), "accuracy", "quadraticKappa",
    /// "spearman" (alignment of distance with |Δscore|), or "loss" (the objective on validation batches, minimised).</summary>
    public string Metric { get; set; } = "macroF1";

    /// <summary>Peak learning rates searched (each &gt; 0). Default 1.5·10⁻³, 3·10⁻³, 6·10⁻³: the grid of the development
    /// search in docs/results.md, whose top value it selected and which is the default peak learning rate (a higher one
    /// was not tried).</summary>
    public IReadOnlyList<double> LearningRates { get; set; } = new[] { 1.5e-3, 3e-3, 6e-3 };

    /// <summary>Option values searched, keyed "objective.option" (e.g. <c>"weighted-contrastive.margin"</c> →
    /// <c>["0.25", "0.5", "1"]</c>; the pseudo-option <c>weight</c> searches a composite term's weight, e.g.
    /// <c>"weighted-contrastive.weight"</c> for λ in <c>mse+λ·weighted-contrastive</c>); null (default) for the built-in axes.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>>? OptionValues { get; set; }

    /// <summary>The metric names <see cref="Metric"/> accepts.</summary>
    public static IReadOnlyList<string> Metrics { get; } = new[] { "macroF1", "accuracy", "quadraticKappa", "spearman", "loss" };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Trials < 0) throw new ArgumentException($"Search.Trials must be ≥ 0, got {Trials}.", nameof(Trials));
        if (!Enum.IsDefined(Strategy)) throw new ArgumentException($"Search.Strategy {(int)Strategy} is not a SearchStrategy.", nameof(Strategy));
        if (!Metrics.Contains(Metric)) throw new ArgumentException($"Search.Metric '{Metric}' is unknown; allowed: {string.Join(", ", Metrics)}.", nameof(Metric));
        if (LearningRates is null || LearningRates.Count == 0) throw new ArgumentException("Search.LearningRates must hold at least one learning rate.", nameof(LearningRates));
        foreach (var lr in LearningRates)
            if (!(lr > 0) || !double.IsFinite(lr)) throw new ArgumentException(FormattableString.Invariant($"Search.LearningRates holds {lr}; each must be finite and > 0."), nameof(LearningRates));
        if (OptionValues is not null)
            foreach (var (key, values) in OptionValues)
            {
                int dot = key.IndexOf('.', StringComparison.Ordinal);
                if (dot <= 0 || dot == key.Length - 1) throw new ArgumentException($"Search.OptionValues key '{key}' must read 'objective.option'.", nameof(OptionValues));
                if (values is null || values.Count == 0) throw new ArgumentException($"Search.OptionValues['{key}'] must hold at least one value.", nameof(OptionValues));
            }
    }
}
