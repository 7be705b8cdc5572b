using Learner.Downstream;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Training;

namespace Learner.Cli;

/// <summary>The command line's defaults: the library's own (<see cref="ExperimentOptions"/>, <see cref="PretrainingOptions"/>,
/// <see cref="EncoderOptions"/>, <see cref="BatchSourceOptions"/>, <see cref="ChangeClassifierOptions"/>), read from them
/// rather than restated, so that <c>learner pretrain</c>, <c>learner experiment</c> and code agree.</summary>
internal static class CliDefaults
{
    public static readonly ExperimentOptions Experiment = new();

    public static PretrainingOptions Pretraining => Experiment.Pretraining;

    public static EncoderOptions Encoder => Experiment.Encoder;

    public static BatchSourceOptions BatchSource => Experiment.BatchSource;

    public static int Dimension => Encoder.EmbeddingDimension;

    public static double Width => Encoder.WidthMultiplier;

    public static int Epochs => Pretraining.Epochs;

    public static int StepsPerEpoch => Pretraining.StepsPerEpoch;

    public static int Warmup => Pretraining.WarmupSteps;

    public static double LearningRate => Pretraining.Optimizer.LearningRate;

    public static int CheckpointEvery => Pretraining.CheckpointEverySteps;

    public static string Classifier => Experiment.Classifier.Head == ChangeHead.Mlp ? "mlp" : "logistic";
}
