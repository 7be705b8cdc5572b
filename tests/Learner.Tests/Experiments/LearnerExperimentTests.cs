using Learner.Data;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Metrics;
using Learner.Nn;
using Learner.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Learner.Tests.Experiments;

public class LearnerExperimentTests
{
    /// <summary>16 patients × 3 visits of 3 features (score, a per-patient nuisance, noise); shared with the report tests.</summary>
    internal static LongitudinalDataset Cohort()
    {
        var rng = new Rng(2);
        var scans = new List<Scan>();
        for (int p = 0; p < 16; p++)
        {
            double score = 200 + 200 * rng.NextDouble();
            float nuisance = (float)rng.NextGaussian();
            for (int v = 0; v < 3; v++)
            {
                scans.Add(new Scan($"s{p}-{v}", $"p{p}", v, score, payload: new TensorPayload(Tensor.FromSpan(new[] { (float)score / 100, nuisance, (float)rng.NextGaussian() }, 3))));
                score += (rng.NextInt(3) - 1) * 40;
            }
        }
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    internal static ExperimentOptions Small() => new()
    {
        ChangeThresholds = ChangeThresholds.Absolute(20),
        Objectives = new[] { "mse", "weighted-contrastive", "mse+weighted-contrastive" },
        Seeds = new[] { 1 },
        Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 3, EmbeddingDimension = 4, WidthMultiplier = 0.05 },
        Pretraining = new PretrainingOptions { Epochs = 1, StepsPerEpoch = 6 },
        BatchSource = new BatchSourceOptions { PatientsPerBatch = 4, ScansPerPatient = 2 },
        Protocol = new ExperimentProtocolOptions { OuterFolds = 4 },
        BootstrapResamples = 50,
    };

    private static readonly ExperimentRunOptions Cold = new() { WarmUp = false };

    [Fact]
    public void Runs_every_objective_on_held_out_folds_and_reports_intervals_in_three_formats()
    {
        var lines = new List<string>();
        var data = Cohort();
        var results = new LearnerExperiment(Small()).Run(data, new SyncProgress<string>(lines.Add));
        results.Rows.Should().HaveCount(3);
        lines.Should().HaveCount(3);
        var everyone = data.Patients.Select(p => p.Id).ToHashSet();
        foreach (var r in results.Rows)
        {
            r.Protocol.Should().Be("held-out k-fold");
            r.MacroF1.Estimate.Should().BeInRange(0, 1);
            r.MacroF1.Lower.Should().BeLessThanOrEqualTo(r.MacroF1.Estimate + 1e-12);
            r.Spearman.Estimate.Should().BeInRange(-1, 1);
            r.Folds.Should().HaveCount(4);
            // Every patient is tested exactly once; a fold's pretraining and test patients are disjoint and cover everyone.
            r.Folds.SelectMany(f => f.TestPatients).Should().OnlyHaveUniqueItems().And.BeEquivalentTo(everyone);
            foreach (var f in r.Folds)
            {
                f.PretrainPatients.Intersect(f.TestPatients).Should().BeEmpty();
                f.PretrainPatients.Concat(f.ValidationPatients).Concat(f.TestPatients).Should().BeEquivalentTo(everyone);
            }
            r.Details!.Truth.Should().HaveCount(new Learner.Sampling.IntraPatientPairSampler(data, Small().ChangeThresholds!).Pairs.Count, "every pair is predicted once, by its fold's model");
            // One scan per visit here: the visit level evaluates the same pairs with a classifier of its own.
            r.Visit!.Pairs.Should().Be(r.Details.Truth.Count);
            r.Visit.Truth.Should().Equal(r.Details.Truth, "the same pairs in the same order");
            r.Visit.Distances.Should().HaveCount(r.Visit.Pairs);
            // The health-score probe scores every scan once, by its fold's probe; each visit (one scan here) once too.
            r.Probe!.Scans.Should().Be(data.ScanCount);
            r.Probe.Visits.Should().Be(data.ScanCount);
            r.Probe.ClipPatients.Distinct().Should().HaveCount(data.PatientCount);
            r.Probe.ClipScores.Should().BeEquivalentTo(data.Scans.Select(s => s.ChangeScore!.Value));
            r.Probe.ClipR2.Estimate.Should().Be(Regression.RSquared(r.Probe.ClipScores.ToArray(), r.Probe.ClipPredictions.ToArray()));
            r.Probe.ClipR2.Lower.Should().BeLessThanOrEqualTo(r.Probe.ClipR2.Estimate + 1e-12);
            r.Probe.VisitR2.Estimate.Should().BeLessThanOrEqualTo(1);
        }
        string markdown = results.ToMarkdown();
        markdown.Should().Contain("Protocol: held-out k-fold").And.Contain("| mse + weighted-contrastive | 1 | held-out k-fold |").And.Contain("Health-score probe");
        // Every table is valid GitHub markdown: each row has as many unescaped '|' as its header (the results table has
        // 8 columns although a header holds "|Δscore|").
        int expected = 0;
        foreach (var line in markdown.Split('\n'))
        {
            if (!line.StartsWith('|')) { expected = 0; continue; }
            int pipes = System.Text.RegularExpressions.Regex.Matches(line, @"(?<!\\)\|").Count;
            if (expected == 0) expected = pipes;
            pipes.Should().Be(expected, $"'{line}' must have as many columns as its table's header");
        }
        markdown.Split('\n').First(l => l.StartsWith("| objective | seed | protocol", StringComparison.Ordinal))
            .Count(c => c == '|').Should().Be(11, "9 column separators and the two escaped '|' of |Δscore|");
        results.ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(4);
        var json = System.Text.Json.JsonDocument.Parse(results.ToJson()).RootElement;
        json.GetProperty("schema").GetString().Should().Be(ExperimentResultsFile.Schema);
        var row = json.GetProperty("rows")[0];
        foreach (var name in new[] { "objective", "seed", "macroF1", "accuracy", "quadraticKappa", "spearman" }) row.TryGetProperty(name, out _).Should().BeTrue(name);
        row.GetProperty("macroF1").GetProperty("lower").GetDouble().Should().BeLessThanOrEqualTo(row.GetProperty("macroF1").GetProperty("upper").GetDouble());
        var fold = row.GetProperty("folds")[0];
        fold.GetProperty("pretrainPatients").GetArrayLength().Should().Be(12);
        fold.GetProperty("testPatients").GetArrayLength().Should().Be(4);
        fold.GetProperty("validationPatients").GetArrayLength().Should().Be(0);
        json.GetProperty("settings").EnumerateArray().Select(s => s.GetProperty("name").GetString()).Should().Contain(new[] { "objectives", "protocol", "budget", "batch source", "bootstrap" });
    }

    [Fact]
    public void No_held_out_scan_reaches_any_fold_pretraining()
    {
        var data = Cohort();
        var scanOf = data.Scans.ToDictionary(s => Key(s), s => s);
        var backend = RecordingBackend(out var trained);
        var options = Small() with { Objectives = new[] { "mse" } };
        var results = new LearnerExperiment(options, backend).Run(data, Cold, null, null, CancellationToken.None);
        var folds = results.Rows[0].Folds;
        trained.Should().HaveCount(folds.Count, "one encoder per fold");
        for (int k = 0; k < folds.Count; k++)
        {
            var seen = trained[k].Select(x => scanOf[x].PatientId).ToHashSet();
            seen.Should().NotBeEmpty();
            seen.Should().BeSubsetOf(folds[k].PretrainPatients, $"fold {k} pretrains on its pretraining patients only");
            seen.Intersect(folds[k].TestPatients).Should().BeEmpty();
        }

        // The check can fail: in the transductive mode every patient, the evaluated ones included, reaches pretraining.
        var leaky = RecordingBackend(out var leakyTrained);
        var transductive = new LearnerExperiment(options with { Protocol = new ExperimentProtocolOptions { OuterFolds = 4, Transductive = true } }, leaky)
            .Run(data, Cold, null, null, CancellationToken.None);
        transductive.Rows[0].Protocol.Should().Be("transductive");
        transductive.ToMarkdown().Should().Contain("not held-out estimates");
        transductive.Rows[0].Probe.Should().BeNull("the probe is a held-out measure");
        leakyTrained.Should().ContainSingle();
        leakyTrained[0].Select(x => scanOf[x].PatientId).Distinct().Count().Should().BeGreaterThan(12, "transductive pretraining sees the evaluated patients");
    }

    [Fact]
    public void A_fold_predictions_do_not_depend_on_its_held_out_patients_scores()
    {
        // Perturb the scores (pretraining targets and change labels) of fold 0's test patients only: if they reached fold 0's
        // pretraining, its score statistics, its quantile labels or its classifier's fit, fold 0's predictions would move.
        var options = Small() with { Objectives = new[] { "mse+weighted-contrastive" } };
        var data = Cohort();
        var first = new LearnerExperiment(options).Run(data, Cold, null, null, CancellationToken.None);
        var test = first.Rows[0].Folds[0].TestPatients.ToHashSet();
        var changed = new LongitudinalDataset(data.Scans.Select(s => test.Contains(s.PatientId) ? s.WithScore(1000 - s.Score!.Value * (1 + 0.3 * s.VisitIndex)) : s), true);
        var second = new LearnerExperiment(options).Run(changed, Cold, null, null, CancellationToken.None);
        second.Rows[0].Folds[0].TestPatients.Should().BeEquivalentTo(test, "folds are assigned before any score is looked at");
        int n0 = PairsOf(data, test);
        Fold0(first).Should().Equal(Fold0(second));
        first.Rows[0].Details!.PairDistances.Take(n0).Should().Equal(second.Rows[0].Details!.PairDistances.Take(n0), "fold 0's encoder is bit-identical");
        first.Rows[0].Details!.Truth.Take(n0).Should().NotEqual(second.Rows[0].Details!.Truth.Take(n0), "the perturbation does change these patients' change labels");
        int s0 = data.Scans.Count(s => test.Contains(s.PatientId));
        first.Rows[0].Probe!.ClipPredictions.Take(s0).Should().Equal(second.Rows[0].Probe!.ClipPredictions.Take(s0), "fold 0's probe is fit on its training patients only");
        first.Rows[0].Probe!.ClipScores.Take(s0).Should().NotEqual(second.Rows[0].Probe!.ClipScores.Take(s0));

        // The same perturbation moves the transductive mode's predictions for those patients: it leaks.
        var leaky = options with { Protocol = new ExperimentProtocolOptions { OuterFolds = 4, Transductive = true } };
        var a = new LearnerExperiment(leaky).Run(data, Cold, null, null, CancellationToken.None).Rows[0].Details!.Predicted;
        var b = new LearnerExperiment(leaky).Run(changed, Cold, null, null, CancellationToken.None).Rows[0].Details!.Predicted;
        var da = new LearnerExperiment(leaky).Run(data, Cold, null, null, CancellationToken.None).Rows[0].Details!.PairDistances;
        var db = new LearnerExperiment(leaky).Run(changed, Cold, null, null, CancellationToken.None).Rows[0].Details!.PairDistances;
        (a.SequenceEqual(b) && da.SequenceEqual(db)).Should().BeFalse();

        IEnumerable<int> Fold0(ExperimentResults r) => r.Rows[0].Details!.Predicted.Take(n0);
    }

    [Fact]
    public void The_search_gives_every_objective_the_same_trials_and_records_them()
    {
        var options = Small() with
        {
            Objectives = new[] { "mse", "weighted-contrastive" },
            Protocol = new ExperimentProtocolOptions { TestFraction = 0.25, ValidationFraction = 0.34 },
            Search = new HyperparameterSearchOptions { Trials = 2, LearningRates = new[] { 1e-3, 3e-3 } },
        };
        var results = new LearnerExperiment(options).Run(Cohort(), Cold, null, null, CancellationToken.None);
        foreach (var row in results.Rows)
        {
            var fold = row.Folds.Should().ContainSingle().Subject;
            fold.ValidationPatients.Should().NotBeEmpty().And.NotIntersectWith(fold.TestPatients).And.NotIntersectWith(fold.PretrainPatients);
            fold.Trials.Should().HaveCount(2).And.OnlyContain(t => t.Metric == "macroF1" && double.IsFinite(t.Score));
            var best = fold.Trials.MaxBy(t => t.Score)!;
            fold.ChosenTrial.Should().Be(best.Index);
            fold.ChosenSettings.Should().Be(best.Settings).And.Contain("lr=");
        }
        results.Rows[1].Folds[0].Trials.Select(t => t.Settings).Should().OnlyContain(s => s.Contains("margin=", StringComparison.Ordinal), "the weighted loss's margin is searched with the learning rate");
        results.Metadata.Settings.Single(kv => kv.Key == "search").Value.Should().Contain("2 Random trials");

        // A space smaller than the trial count is refused up front, before any objective trains (objectives would
        // otherwise get different budgets).
        FluentActions.Invoking(() => new LearnerExperiment(options with { Search = new HyperparameterSearchOptions { Trials = 3, LearningRates = new[] { 1e-3, 3e-3 } } }))
            .Should().Throw<ArgumentException>().WithMessage("*'mse'*2 points*Trials = 3*");
    }

    [Fact]
    public void A_diverging_search_trial_is_recorded_without_a_score_and_never_chosen()
    {
        var options = Small() with
        {
            Objectives = new[] { "mse" },
            Protocol = new ExperimentProtocolOptions { TestFraction = 0.25, ValidationFraction = 0.34 },
            Search = new HyperparameterSearchOptions { Trials = 2, Strategy = SearchStrategy.Grid, LearningRates = new[] { 1e4, 1e-3 } },
        };
        var fold = new LearnerExperiment(options).Run(Cohort(), Cold, null, null, CancellationToken.None).Rows[0].Folds.Single();
        fold.Trials.Should().HaveCount(2);
        fold.Trials[0].Score.Should().Be(double.NaN);
        fold.Trials[0].Settings.Should().Contain("diverged at step");
        fold.ChosenTrial.Should().Be(1);
        // Without a search the divergence stops the experiment.
        FluentActions.Invoking(() => new LearnerExperiment(options with { Search = new HyperparameterSearchOptions(), Pretraining = options.Pretraining with { Optimizer = new EncoderOptimizerOptions { LearningRate = 1e4 } } })
            .Run(Cohort(), Cold, null, null, CancellationToken.None)).Should().Throw<TrainingDivergedException>();
    }

    [Fact]
    public void Early_stopping_on_validation_macro_F1_uses_the_experiment_thresholds_on_small_validation_sets()
    {
        var options = Small() with
        {
            Objectives = new[] { "mse" },
            Pretraining = new PretrainingOptions { Epochs = 3, StepsPerEpoch = 2, EarlyStopping = new EarlyStoppingOptions { Metric = ValidationMetric.MacroF1, Patience = 1 } },
            Protocol = new ExperimentProtocolOptions { TestFraction = 0.25, ValidationFraction = 0.25 },
        };
        var results = new LearnerExperiment(options).Run(Cohort(), Cold, null, null, CancellationToken.None);
        var fold = results.Rows[0].Folds.Should().ContainSingle().Subject;
        fold.ValidationPatients.Count.Should().BeLessThan(5, "fewer validation patients than the default 5 change folds");
        results.Rows[0].MacroF1.Estimate.Should().BeInRange(0, 1);
    }

    [Fact]
    public void Cancelled_runs_leave_partial_results_and_resume_to_the_uninterrupted_results()
    {
        var options = Small() with { Objectives = new[] { "mse", "weighted-contrastive" }, Pretraining = new PretrainingOptions { Epochs = 1, StepsPerEpoch = 6, CheckpointEverySteps = 2 } };
        string dir = Path.Combine(Path.GetTempPath(), $"learner-exp-{Guid.NewGuid():N}");
        try
        {
            var reference = new LearnerExperiment(options).Run(Cohort(), Cold, null, null, CancellationToken.None);
            using var cts = new CancellationTokenSource();
            int seen = 0;
            var stop = new SyncProgress<ExperimentStep>(s => { if (++seen == 4 * 6 + 3) cts.Cancel(); }); // mid-fold of the second run
            var run = new ExperimentRunOptions { OutputDirectory = dir, WarmUp = false };
            var cancelled = FluentActions.Invoking(() => new LearnerExperiment(options).Run(Cohort(), run, null, stop, cts.Token))
                .Should().Throw<ExperimentCancelledException>().Which;
            cancelled.Partial.Rows.Should().ContainSingle().Which.Objective.Should().Be("mse");
            cancelled.Partial.Metadata.Complete.Should().BeFalse();
            var partial = ExperimentResultsFile.Read(Path.Combine(dir, "results.json"));
            partial.Metadata.Complete.Should().BeFalse();
            partial.Rows.Should().ContainSingle();
            partial.ToMarkdown().Should().Contain("Incomplete");

            var steps = new List<ExperimentStep>();
            var resumed = new LearnerExperiment(options).Run(Cohort(), run with { Resume = true }, null, new SyncProgress<ExperimentStep>(steps.Add), CancellationToken.None);
            steps.Should().NotBeEmpty().And.OnlyContain(s => s.Objective == "weighted-contrastive", "finished folds are not pretrained again");
            steps.First().Fold.Should().Be(0);
            steps.First().Training.Step.Should().BeGreaterThan(1, "the interrupted fold continues from its checkpoint");
            Numbers(resumed).Should().Equal(Numbers(reference));
            ExperimentResultsFile.Read(Path.Combine(dir, "results.json")).Metadata.Complete.Should().BeTrue();
            // Resuming with another budget, or on other data, would reuse folds made differently: refused.
            var other = options with { Pretraining = options.Pretraining with { StepsPerEpoch = 5 } };
            FluentActions.Invoking(() => new LearnerExperiment(other).Run(Cohort(), run with { Resume = true }, null, null, CancellationToken.None))
                .Should().Throw<InvalidDataException>().WithMessage("*budget*");
            // Runs made at one shared rate, resumed with each objective's selected rate: the refusal says what to turn off.
            FluentActions.Invoking(() => new LearnerExperiment(options with { UseSelectedLearningRates = true }).Run(Cohort(), run with { Resume = true }, null, null, CancellationToken.None))
                .Should().Throw<InvalidDataException>().WithMessage("*budget*selected*UseSelectedLearningRates*turn it off*--lr*");
            var changed = new LongitudinalDataset(Cohort().Scans.Select(s => s.Id == "s0-0" ? s.WithScore(s.Score + 1) : s), true);
            FluentActions.Invoking(() => new LearnerExperiment(options).Run(changed, run with { Resume = true }, null, null, CancellationToken.None))
                .Should().Throw<InvalidDataException>().WithMessage("*other data*");
            Directory.GetFiles(Path.Combine(dir, "runs"), "last.safetensors", SearchOption.AllDirectories).Should().HaveCount(8, "each fold's chosen encoder is saved");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Results_files_round_trip_and_refuse_other_schemas()
    {
        var results = new LearnerExperiment(Small() with { Objectives = new[] { "mse" }, Protocol = new ExperimentProtocolOptions { TestFraction = 0.25 } }).Run(Cohort(), Cold, null, null, CancellationToken.None);
        string file = Path.Combine(Path.GetTempPath(), $"results-{Guid.NewGuid():N}.json");
        try
        {
            ExperimentResultsFile.Write(file, results);
            var back = ExperimentResultsFile.Read(file);
            back.ToJson(includeDetails: true).Should().Be(results.ToJson(includeDetails: true));
            back.Rows[0].Folds[0].TestPatients.Should().Equal(results.Rows[0].Folds[0].TestPatients);
            back.Rows[0].Visit.Should().NotBeNull();
            back.Rows[0].Visit!.Truth.Should().Equal(results.Rows[0].Visit!.Truth).And.NotBeEmpty();
            back.Rows[0].Probe.Should().NotBeNull();
            back.Rows[0].Probe!.ClipR2.Estimate.Should().Be(results.Rows[0].Probe!.ClipR2.Estimate);
            back.Rows[0].Probe!.VisitR2.Lower.Should().Be(results.Rows[0].Probe!.VisitR2.Lower);
            back.Rows[0].Probe!.ClipPredictions.Should().Equal(results.Rows[0].Probe!.ClipPredictions).And.NotBeEmpty();
            File.WriteAllText(file, "[{\"objective\": \"mse\"}]");
            FluentActions.Invoking(() => ExperimentResultsFile.Read(file)).Should().Throw<InvalidDataException>().WithMessage("*not a results file*");
            File.WriteAllText(file, "{\"schema\": \"learner-results/9\", \"rows\": []}");
            FluentActions.Invoking(() => ExperimentResultsFile.Read(file)).Should().Throw<InvalidDataException>().WithMessage("*learner-results/9*learner-results/2*");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Label_only_objectives_run_on_coarse_labels_and_are_judged_on_exact_scores()
    {
        var data = Cohort().WithQuantileLabels(3).WithoutScores();
        data.Scans.Should().OnlyContain(s => s.Score == null && s.CoarseLabel != null && s.ExactScore != null);
        var options = Small() with { Objectives = new[] { "supcon" }, Protocol = new ExperimentProtocolOptions { TestFraction = 0.25 } };
        var results = new LearnerExperiment(options).Run(data, Cold, null, null, CancellationToken.None);
        results.Rows[0].Details!.Truth.Should().NotBeEmpty();
        FluentActions.Invoking(() => new LearnerExperiment(options with { Objectives = new[] { "mse" } }).Run(data, Cold, null, null, CancellationToken.None))
            .Should().Throw<Exception>().Where(e => e is MissingScoreException || e is ArgumentException).WithMessage("*mse*");
    }

    [Fact]
    public void Pair_batches_with_a_curriculum_drive_the_experiment_and_paired_differences_are_available()
    {
        var options = Small() with
        {
            Objectives = new[] { "mse", "weighted-contrastive" },
            BatchSource = new BatchSourceOptions { Kind = BatchSourceKind.InterPatientPairs, PairsPerBatch = 8, CurriculumShape = CurriculumShape.Linear },
            Pretraining = new PretrainingOptions { Epochs = 2, StepsPerEpoch = 3 },
        };
        var results = new LearnerExperiment(options).Run(Cohort(), Cold, null, null, CancellationToken.None);
        results.Metadata.Settings.Single(kv => kv.Key == "batch source").Value.Should().StartWith("inter-patient pairs");
        var diff = results.PairedMacroF1Difference("weighted-contrastive", "mse", 1, 200);
        diff.Estimate.Should().BeApproximately(results.Rows[1].MacroF1.Estimate - results.Rows[0].MacroF1.Estimate, 1e-12);
        diff.Lower.Should().BeLessThanOrEqualTo(diff.Estimate + 1e-12);
        diff.Upper.Should().BeGreaterThanOrEqualTo(diff.Estimate - 1e-12);
        var table = results.PairedDifferences(200);
        table.Rows.Should().ContainSingle().Which[0].Should().Be("weighted-contrastive");
        results.ToMarkdown().Should().Contain("Paired differences to mse").And.Contain("| weighted-contrastive | 1 |").And.Contain("Visit level");
    }

    [Fact]
    public void Same_seed_gives_the_same_table()
    {
        var a = new LearnerExperiment(Small() with { Objectives = new[] { "weighted-contrastive" } }).Run(Cohort());
        var b = new LearnerExperiment(Small() with { Objectives = new[] { "weighted-contrastive" } }).Run(Cohort());
        Numbers(a).Should().Equal(Numbers(b));
    }

    [Fact]
    public void Invalid_protocols_and_specs_are_refused_naming_the_option()
    {
        FluentActions.Invoking(() => new LearnerExperiment(Small() with { Objectives = new[] { "weighted-contrastive(margn=1)" } }))
            .Should().Throw<ArgumentException>().WithMessage("*margn*");
        FluentActions.Invoking(() => new LearnerExperiment(Small() with { Protocol = new ExperimentProtocolOptions { OuterFolds = 1 } }))
            .Should().Throw<ArgumentException>().WithMessage("*OuterFolds*");
        FluentActions.Invoking(() => new LearnerExperiment(Small() with { Search = new HyperparameterSearchOptions { Trials = 2 }, Protocol = new ExperimentProtocolOptions { ValidationFraction = 0 } }))
            .Should().Throw<ArgumentException>().WithMessage("*ValidationFraction*");
        FluentActions.Invoking(() => new LearnerExperiment(Small() with { Protocol = new ExperimentProtocolOptions { TestPatients = new[] { "nobody" } } }).Run(Cohort()))
            .Should().Throw<UnknownPatientException>().WithMessage("*nobody*");
    }

    [Fact]
    public void AddLearner_registers_the_experiment_and_validates_options_naming_the_option()
    {
        var services = new ServiceCollection();
        services.AddLearner(o => { o.Protocol.OuterFolds = 3; o.ChangeThresholds = ChangeThresholds.Absolute(20); o.Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 3 }; });
        using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<LearnerExperiment>().Should().NotBeNull();
        provider.GetRequiredService<Func<IEncoder>>()().EmbeddingDimension.Should().Be(128);

        var bad = new ServiceCollection();
        bad.AddLearner(o => o.Objectives = new[] { "magic" });
        using var badProvider = bad.BuildServiceProvider();
        FluentActions.Invoking(() => badProvider.GetRequiredService<IOptions<ExperimentOptions>>().Value)
            .Should().Throw<OptionsValidationException>().WithMessage("*magic*");
    }

    internal static string[] Numbers(ExperimentResults r) =>
        r.ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => string.Join(',', l.Split(',').Take(15))).ToArray();

    private static int PairsOf(LongitudinalDataset data, HashSet<string> patients) =>
        new Learner.Sampling.IntraPatientPairSampler(data, Small().ChangeThresholds!).Pairs.Count(p => patients.Contains(data.Scans[p.Before].PatientId));

    private static string Key(Scan s)
    {
        using var scope = TensorScope.Begin();
        return Key(s.LoadPayload().ToArray());
    }

    private static string Key(ReadOnlySpan<float> row) => string.Join(',', row.ToArray().Select(v => BitConverter.SingleToInt32Bits(v)));

    /// <summary>A managed backend whose encoders record every scan (by payload) they forward with gradients: the
    /// scans that reach pretraining, one list per encoder built.</summary>
    private static ComputeBackend RecordingBackend(out List<List<string>> trained)
    {
        var lists = new List<List<string>>();
        trained = lists;
        return new ComputeBackend("recording", o =>
        {
            var seen = new List<string>();
            lists.Add(seen);
            return new RecordingEncoder(EncoderFactory.Create(o), seen);
        });
    }

    private sealed class RecordingEncoder(IEncoder inner, List<string> trained) : Learner.Tests.Encoders.DelegatingEncoder(inner)
    {
        public override void Forward(Tensor input, Span<float> embeddings, bool requiresGrad)
        {
            if (requiresGrad)
            {
                var x = input.ToArray();
                int per = x.Length / input.Dim(0);
                for (int i = 0; i < input.Dim(0); i++) trained.Add(Key(x.AsSpan(i * per, per)));
            }
            Inner.Forward(input, embeddings, requiresGrad);
        }
    }
}

/// <summary>A synchronous <see cref="IProgress{T}"/> for tests.</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
