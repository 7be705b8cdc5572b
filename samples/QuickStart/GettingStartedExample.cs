// The "Your own dataset" code of docs/getting-started.md, compiled here so that it cannot rot:
// tests/Learner.Tests/Docs/ReadmeExampleTests.cs checks that the guide shows exactly the lines between
// DOCS:BEGIN-BODY and DOCS:END-BODY (unindented).
using Learner.Data;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Sampling;
using Learner.Training;

/// <summary>The getting-started guide's own-dataset example as a method (not run by QuickStart).</summary>
internal static class GettingStartedExample
{
    public static void Run(IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        // DOCS:BEGIN-BODY
        var data = Manifest.Read("my/manifest.csv");
        var split = PatientSplits.TrainValidationTest(data, validationFraction: 0.15, testFraction: 0.15, seed: 1);
        var encoder = EncoderFactory.Create(new EncoderOptions { Architecture = "tsm-resnet", EmbeddingDimension = 64, ClipLength = 8 });
        var factory = new PretrainerFactory(new ExperimentOptions { Pretraining = new PretrainingOptions { Epochs = 20, StepsPerEpoch = 50,
            EarlyStopping = new EarlyStoppingOptions { Metric = ValidationMetric.Spearman, Patience = 3 } } });
        var (pretrainer, _) = factory.Create(split.Train, "mse+weighted-contrastive", seed: 1, validation: split.Validation, encoder: encoder);
        pretrainer.Run(progress, cancellationToken);
        var embeddings = Embedder.EmbedAll(encoder, split.Test);
        var change = ChangeEvaluation.CrossValidate(split.Test, embeddings, encoder.EmbeddingDimension, ChangeThresholds.Absolute(20), folds: 5);
        Console.WriteLine($"macro-F1 {change.MacroF1:F3}");
        // DOCS:END-BODY
    }
}
