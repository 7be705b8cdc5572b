using Learner.Downstream;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Training;

namespace Learner.Tests.Training;

/// <summary>The long operations have cancellable async entry points that give the synchronous results.</summary>
public class AsyncEntryPointTests
{
    private static PretrainerFactory Factory() => new(new ExperimentOptions
    {
        Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 3, EmbeddingDimension = 4, WidthMultiplier = 0.05 },
        Pretraining = new PretrainingOptions { Epochs = 1, StepsPerEpoch = 3, WarmupSteps = 1 },
        BatchSource = new BatchSourceOptions { PatientsPerBatch = 4, ScansPerPatient = 2 },
    });

    [Fact]
    public async Task RunAsync_and_EmbedAllAsync_give_the_synchronous_results()
    {
        var data = Experiments.LearnerExperimentTests.Cohort();
        var (sync, syncEncoder) = Factory().Create(data, "mse");
        var expected = sync.Run();
        var (async, asyncEncoder) = Factory().Create(data, "mse");
        var actual = await async.RunAsync();
        actual.Losses.Should().Equal(expected.Losses);
        (await Embedder.EmbedAllAsync(asyncEncoder, data)).Should().Equal(Embedder.EmbedAll(syncEncoder, data));
    }

    [Fact]
    public async Task The_async_entry_points_honour_cancellation()
    {
        var data = Experiments.LearnerExperimentTests.Cohort();
        var (pretrainer, encoder) = Factory().Create(data, "mse");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await FluentActions.Awaiting(() => pretrainer.RunAsync(cancellationToken: cancelled.Token)).Should().ThrowAsync<OperationCanceledException>();
        await FluentActions.Awaiting(() => Embedder.EmbedAllAsync(encoder, data, cancellationToken: cancelled.Token)).Should().ThrowAsync<OperationCanceledException>();
    }
}
