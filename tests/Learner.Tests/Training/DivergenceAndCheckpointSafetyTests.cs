using Learner.Data;
using Learner.Encoders;
using Learner.Nn;
using Learner.Nn.Modules;
using Learner.Nn.Serialization;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Sampling;
using Learner.Training;

namespace Learner.Tests.Training;

/// <summary>Diverging runs never checkpoint non-finite tensors and leave the encoder at its last good state; names read
/// from a checkpoint cannot reach outside the run folder.</summary>
public sealed class DivergenceAndCheckpointSafetyTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"pt-safety-{Guid.NewGuid():N}");

    public DivergenceAndCheckpointSafetyTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, true);
    }

    private string Dir(string name) => Path.Combine(_root, name);

    private static LongitudinalDataset Cohort(ulong seed = 11, string prefix = "p") => TrainingFixtures.Cohort(seed, prefix, labels: false);

    private static IObjective Contrastive() => new WeightedContrastiveLoss(new WeightedContrastiveOptions { UseProvidedPairs = false, PositiveThreshold = 40, GapScale = 100 });

    private static MlpEncoder BatchNormEncoder() => new(new MlpEncoderOptions { InputFeatures = 6, Hidden = new[] { 16 }, EmbeddingDimension = 4, BatchNorm = true, Seed = 5 });

    private static PretrainingOptions Options(string? dir, int every = 4, double lr = 1e-2) => new()
    {
        Epochs = 3, StepsPerEpoch = 5, Seed = 21, WarmupSteps = 2, CheckpointDirectory = dir, CheckpointEverySteps = every,
        Optimizer = new EncoderOptimizerOptions { LearningRate = lr },
    };

    private static Pretrainer Trainer(IEncoder encoder, LongitudinalDataset data, IObjective objective, PretrainingOptions options, LongitudinalDataset? validation = null)
        => new(encoder, data, new PatientBatchSampler(data, 4, 2), objective, options) { ValidationSet = validation };

    private static int[] State(ModuleEncoder e) => e.Module.StateEntries().SelectMany(p => p.Value.ToArray()).Select(BitConverter.SingleToInt32Bits).ToArray();

    /// <summary>The first non-finite tensor of every .safetensors file in <paramref name="dir"/>, or none.</summary>
    private static List<string> NonFiniteTensors(string dir)
    {
        var bad = new List<string>();
        foreach (var file in Directory.GetFiles(dir, "*.safetensors"))
            foreach (var (name, t) in Safetensors.Load(file).Tensors)
                if (t.IndexOfNonFinite() >= 0) bad.Add($"{Path.GetFileName(file)}:{name}");
        return bad;
    }

    [Fact]
    public void Running_statistics_that_overflow_in_the_forward_are_never_checkpointed_and_the_encoder_is_restored()
    {
        var data = Cohort();
        string dir = Dir("bn");
        var encoder = new BufferPoisoningEncoder(BatchNormEncoder(), poisonAtForward: 7);
        var act = () => Trainer(encoder, data, Contrastive(), Options(dir, every: 1)).Run();
        var ex = act.Should().Throw<TrainingDivergedException>().Which;
        ex.Step.Should().Be(6, "the 7th training forward is step 6");
        ex.Term.Should().Be("state");
        ex.Tensor.Should().Be("1.running_var");
        ex.Message.Should().Contain("Step 6").And.Contain("1.running_var").And.Contain("Infinity");
        ex.RestoredStep.Should().Be(6, "the last checkpoint holds the 6 good steps");
        NonFiniteTensors(dir).Should().BeEmpty("no checkpoint with a non-finite tensor is written");
        Pretrainer.ReadCheckpointStep(Path.Combine(dir, "last.safetensors")).Should().Be(6);

        var reloaded = BatchNormEncoder();
        reloaded.Load(Path.Combine(dir, "last.safetensors"));
        State(encoder).Should().Equal(State(reloaded), "the in-memory encoder is back at the last checkpoint, running statistics included");
    }

    [Fact]
    public void A_non_finite_loss_restores_running_statistics_changed_by_the_failed_forward()
    {
        var data = Cohort();
        string dir = Dir("nan");
        var encoder = BatchNormEncoder();
        var act = () => Trainer(encoder, data, new PoisonedObjective(Contrastive(), 6, double.NaN), Options(dir, every: 4)).Run();
        var ex = act.Should().Throw<TrainingDivergedException>().Which;
        ex.Step.Should().Be(5);
        ex.RestoredStep.Should().Be(4);
        var reloaded = BatchNormEncoder();
        reloaded.Load(Path.Combine(dir, "last.safetensors"));
        State(encoder).Should().Equal(State(reloaded), "step 5's forward moved the running statistics; they are restored too");
    }

    [Fact]
    public void Without_a_checkpoint_folder_a_diverged_run_restores_the_state_at_its_start()
    {
        var data = Cohort();
        var encoder = BatchNormEncoder();
        var act = () => Trainer(encoder, data, new PoisonedObjective(Contrastive(), 3, double.PositiveInfinity), Options(null)).Run();
        act.Should().Throw<TrainingDivergedException>().Which.RestoredStep.Should().Be(0);
        State(encoder).Should().Equal(State(BatchNormEncoder()), "nothing was checkpointed, so the run's start is the last good state");
    }

    [Fact]
    public void A_huge_learning_rate_fails_naming_the_tensor_and_leaves_only_finite_checkpoints()
    {
        var data = Cohort();
        string dir = Dir("lr");
        var encoder = BatchNormEncoder();
        var act = () => Trainer(encoder, data, Contrastive(), Options(dir, every: 1, lr: 1e30) with { WarmupSteps = 0, DivergenceFactor = 0 }).Run();
        var ex = act.Should().Throw<TrainingDivergedException>().Which;
        ex.Term.Should().BeOneOf(new[] { "state", "embeddings" }, "a weight overflowing after the update, or the forward overflowing on huge finite weights");
        ex.Tensor.Should().NotBeNullOrEmpty("the message names the tensor");
        ex.RestoredStep.Should().NotBeNull();
        NonFiniteTensors(dir).Should().BeEmpty();
        encoder.FindNonFiniteTensor().Should().BeNull("the encoder was restored to a finite state");
    }

    [Fact]
    public void A_loss_that_explodes_by_orders_of_magnitude_stops_the_run_before_the_update()
    {
        var data = Cohort();
        string dir = Dir("boom");
        var encoder = BatchNormEncoder();
        var act = () => Trainer(encoder, data, new PoisonedObjective(Contrastive(), 9, scale: 1e6), Options(dir, every: 4)).Run();
        var ex = act.Should().Throw<TrainingDivergedException>().Which;
        ex.Step.Should().Be(8);
        ex.Term.Should().Be("weighted-contrastive");
        ex.Tensor.Should().BeNull();
        ex.Message.Should().Contain("Step 8").And.Contain("DivergenceFactor").And.Contain("first 8 steps");
        ex.RestoredStep.Should().Be(8);

        // The factor is configurable and can be turned off.
        Trainer(BatchNormEncoder(), data, new PoisonedObjective(Contrastive(), 9, scale: 1e6), Options(null) with { DivergenceFactor = 1e7 }).Run().CompletedSteps.Should().Be(15);
        Trainer(BatchNormEncoder(), data, new PoisonedObjective(Contrastive(), 9, scale: 1e6), Options(null) with { DivergenceFactor = 0 }).Run().CompletedSteps.Should().Be(15);
        FluentActions.Invoking(() => new PretrainingOptions { DivergenceFactor = 0.5 }.Validate()).Should().Throw<ArgumentException>().WithMessage("*DivergenceFactor*");
        FluentActions.Invoking(() => new PretrainingOptions { DivergenceWindow = 0 }.Validate()).Should().Throw<ArgumentException>().WithMessage("*DivergenceWindow*");
    }

    [Fact]
    public void The_explosion_reference_is_checkpointed_so_a_resumed_run_applies_the_same_rule()
    {
        var data = Cohort();
        string dir = Dir("ref");
        using var cts = new CancellationTokenSource();
        var first = Trainer(BatchNormEncoder(), data, Contrastive(), Options(dir) with { DivergenceWindow = 3 });
        FluentActions.Invoking(() => first.Run(new SyncProgress<TrainingProgress>(p => { if (p.Step == 5) cts.Cancel(); }), cts.Token)).Should().Throw<OperationCanceledException>();
        string state = Safetensors.ReadHeader(Path.Combine(dir, "last.safetensors")).Metadata["pretrain.state"];
        System.Text.Json.JsonDocument.Parse(state).RootElement.GetProperty("ReferenceLosses").GetArrayLength().Should().Be(3, "|loss| of steps 0–2");
        // After the resume the reference is still that of steps 0–2: an exploding loss at step 6 (the second after the
        // resume) is caught, and the message counts the 3 reference steps.
        var resumed = Trainer(BatchNormEncoder(), data, new PoisonedObjective(Contrastive(), 2, scale: 1e6), Options(dir) with { DivergenceWindow = 3 });
        var ex = FluentActions.Invoking(() => resumed.Resume(Path.Combine(dir, "last.safetensors"))).Should().Throw<TrainingDivergedException>().Which;
        ex.Step.Should().Be(6);
        ex.Message.Should().Contain("first 3 steps");
    }

    // ------------------------------------------------------------------ names read from checkpoints

    private (Pretrainer Trainer, MseScoreRegression Mse) MseRun(string dir, LongitudinalDataset data, LongitudinalDataset validation)
    {
        var mse = new MseScoreRegression(new MseOptions { EmbeddingDimension = 4, ScoreOffset = 300, ScoreScale = 100, InitSeed = 3 });
        var options = Options(dir, every: 5) with { Epochs = 4, EarlyStopping = new EarlyStoppingOptions { Metric = ValidationMetric.Loss, Patience = 4 } };
        return (Trainer(TrainingFixtures.Encoder(), data, mse, options, validation), mse);
    }

    /// <summary>Runs an MSE run (a head, early stopping on the validation loss) to step 5 and cancels it.</summary>
    private string CancelledMseRun(string name)
    {
        string dir = Dir(name);
        using var cts = new CancellationTokenSource();
        var (trainer, _) = MseRun(dir, Cohort(), Cohort(99, "v"));
        FluentActions.Invoking(() => trainer.Run(new SyncProgress<TrainingProgress>(p => { if (p.Step == 5) cts.Cancel(); }), cts.Token)).Should().Throw<OperationCanceledException>();
        return dir;
    }

    /// <summary>Rewrites one metadata entry of a checkpoint (what a crafted or damaged file holds).</summary>
    private static void Craft(string path, string key, Func<string?, string> value)
    {
        var file = Safetensors.Load(path);
        var meta = file.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        meta[key] = value(meta.GetValueOrDefault(key));
        var tensors = file.Entries.Select(e => new KeyValuePair<string, Tensor>(e.Name, file.Tensors[e.Name])).ToList();
        Safetensors.Save(path, tensors, meta);
    }

    [Theory]
    [InlineData("relative")]
    [InlineData("absolute")]
    public void A_crafted_best_head_name_cannot_make_the_next_best_epoch_delete_a_file_outside_the_run(string kind)
    {
        string dir = CancelledMseRun("victim-" + kind);
        string victim = Path.Combine(_root, "victim.txt");
        File.WriteAllText(victim, "keep me");
        string name = kind == "relative" ? "../victim.txt" : victim;
        Craft(Path.Combine(dir, "last.safetensors"), "pretrain.best_head", _ => name);

        var (trainer, _) = MseRun(dir, Cohort(), Cohort(99, "v"));
        var error = Record.Exception(() => trainer.Resume(Path.Combine(dir, "last.safetensors")));
        File.Exists(victim).Should().BeTrue("a name from a checkpoint never reaches outside the run folder");
        error.Should().BeOfType<InvalidDataException>().Which.Message.Should().Match($"*'pretrain.best_head'*'{name}'*not a file name inside the run folder*");
    }

    [Fact]
    public void A_crafted_head_name_or_best_checkpoint_path_is_refused_before_anything_is_read()
    {
        string dir = CancelledMseRun("read");
        string outside = CancelledMseRun("outside");
        string last = Path.Combine(dir, "last.safetensors");
        string headName = Safetensors.ReadHeader(last).Metadata["pretrain.head"];

        Craft(last, "pretrain.head", _ => $"../outside/{headName}");
        var (t1, _) = MseRun(dir, Cohort(), Cohort(99, "v"));
        FluentActions.Invoking(() => t1.Resume(last)).Should().Throw<InvalidDataException>().WithMessage("*'pretrain.head'*../outside/*");

        Craft(last, "pretrain.head", _ => headName);
        string foreignBest = Path.Combine(outside, "best.safetensors");
        File.Exists(foreignBest).Should().BeTrue();
        Craft(last, "pretrain.state", json => json!.Replace(System.Text.Json.JsonSerializer.Serialize("best.safetensors"), System.Text.Json.JsonSerializer.Serialize(foreignBest), StringComparison.Ordinal));
        Safetensors.ReadHeader(last).Metadata["pretrain.state"].Should().Contain("outside");
        var (t2, _) = MseRun(dir, Cohort(), Cohort(99, "v"));
        FluentActions.Invoking(() => t2.Resume(last)).Should().Throw<InvalidDataException>().WithMessage("*pretrain.state.BestCheckpoint*outside*");
    }

    [Fact]
    public void Checkpoints_name_their_best_checkpoint_by_file_name_and_a_resumed_run_still_restores_it()
    {
        string dir = CancelledMseRun("names");
        string state = Safetensors.ReadHeader(Path.Combine(dir, "last.safetensors")).Metadata["pretrain.state"];
        state.Should().Contain("\"BestCheckpoint\":\"best.safetensors\"").And.NotContain(_root.Replace("\\", "\\\\", StringComparison.Ordinal));
        var (trainer, _) = MseRun(dir, Cohort(), Cohort(99, "v"));
        trainer.Resume(Path.Combine(dir, "last.safetensors")).BestCheckpoint.Should().Be(Path.Combine(dir, "best.safetensors"));
    }

    [Fact]
    public void Resume_removes_the_temporary_files_of_an_interrupted_checkpoint_write()
    {
        string dir = CancelledMseRun("tmp");
        string stale = Path.Combine(dir, $".last.safetensors.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(stale, new byte[1000]);
        string unrelated = Path.Combine(dir, "notes.tmp");
        File.WriteAllText(unrelated, "mine");
        var (trainer, _) = MseRun(dir, Cohort(), Cohort(99, "v"));
        trainer.Resume(Path.Combine(dir, "last.safetensors"));
        File.Exists(stale).Should().BeFalse();
        File.Exists(unrelated).Should().BeTrue("only the checkpoint writer's temporary files are removed");
    }

    [Fact]
    public void Managed_encoders_and_optimizers_report_the_first_non_finite_tensor_by_name()
    {
        var encoder = BatchNormEncoder();
        encoder.FindNonFiniteTensor().Should().BeNull();
        encoder.Module.NamedParameters().First(p => p.Key == "3.weight").Value.Data[3] = float.NaN;
        encoder.FindNonFiniteTensor().Should().Be(new NonFiniteTensor("3.weight", 3, float.NaN));

        var clean = BatchNormEncoder();
        var optimizer = clean.CreateOptimizer(new EncoderOptimizerOptions());
        optimizer.FindNonFiniteState().Should().BeNull();
        using (TensorScope.Begin())
        {
            var x = Tensor.FromSpan(new float[24], 4, 6);
            var emb = new float[16];
            clean.Forward(x, emb, requiresGrad: true);
            var g = new float[16];
            g[0] = float.PositiveInfinity;
            clean.Backward(g);
        }
        optimizer.Step();
        var bad = optimizer.FindNonFiniteState();
        bad.Should().NotBeNull();
        bad!.Name.Should().StartWith("optim.");
        bad.Owner.Should().NotBeNull();
        bad.ToString().Should().Contain(bad.Name).And.Contain("state of parameter");
    }

    [Fact]
    public void A_third_party_encoder_without_the_new_members_still_compiles_and_trains()
    {
        var encoder = new MinimalEncoder(TrainingFixtures.Encoder());
        ((IEncoder)encoder).FindNonFiniteTensor().Should().BeNull("the default interface member reports nothing");
        Trainer(encoder, Cohort(), Contrastive(), Options(null)).Run().CompletedSteps.Should().Be(15);
    }

    /// <summary>Sets the first batch-norm running variance to +∞ during the n-th training forward (an overflow of the
    /// running statistics while the loss stays finite).</summary>
    private sealed class BufferPoisoningEncoder(ModuleEncoder inner, int poisonAtForward) : ModuleEncoder(inner.Module, inner.EmbeddingDimension)
    {
        private int _calls;

        protected override Tensor Run(Tensor input)
        {
            var output = base.Run(input);
            if (Training && ++_calls == poisonAtForward)
                Module.NamedBuffers().First(b => b.Key.EndsWith("running_var", StringComparison.Ordinal)).Value.Data[0] = float.PositiveInfinity;
            return output;
        }
    }

    /// <summary>Replaces the loss of the n-th call with <paramref name="replacement"/>, or multiplies it (and its terms) by
    /// <paramref name="scale"/>.</summary>
    private sealed class PoisonedObjective(IObjective inner, int poisonAtCall, double replacement = double.NaN, double scale = 0) : IObjective
    {
        private int _calls;
        public string Name => inner.Name;
        public BatchFields Requires => inner.Requires;
        public IReadOnlyList<ObjectiveParameter> Parameters => inner.Parameters;
        public ObjectiveResult Compute(in EmbeddingBatch batch, Span<float> gradEmbeddings, Span<float> gradSecondView)
        {
            var r = inner.Compute(batch, gradEmbeddings, gradSecondView);
            if (++_calls != poisonAtCall) return r;
            if (scale == 0) return r with { Loss = replacement };
            return r with { Loss = r.Loss * scale, Terms = r.Terms.ToArray().Select(t => t with { Value = t.Value * scale }).ToArray() };
        }
    }

    /// <summary>An encoder written against the seam before FindNonFiniteTensor existed (delegates everything else).</summary>
    private sealed class MinimalEncoder(IEncoder inner) : Learner.Tests.Encoders.DelegatingEncoder(inner);

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
