using Learner.Data;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Nn;
using Learner.Sampling;
using Learner.Training;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Learner.Tests.Training;

public class PretrainerFactoryTests
{
    private static LongitudinalDataset Cohort(string prefix, ulong seed)
    {
        var rng = new Rng(seed);
        var scans = new List<Scan>();
        for (int p = 0; p < 10; p++)
        {
            double baseScore = 100 + 400 * rng.NextDouble();
            for (int v = 0; v < 3; v++)
            {
                double score = baseScore + 40 * v * rng.NextDouble();
                var x = new float[5];
                x[0] = (float)((score - 300) / 100);
                for (int k = 1; k < 5; k++) x[k] = (float)rng.NextGaussian();
                scans.Add(new Scan($"{prefix}{p}-{v}", $"{prefix}{p}", v, score, payload: new TensorPayload(Tensor.FromSpan(x, 5))));
            }
        }
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    [Fact]
    public void AddLearner_resolves_a_pretrainer_factory_and_sampler_factory_that_train_with_validation()
    {
        var services = new ServiceCollection();
        services.AddLearner(o =>
        {
            o.Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 5, EmbeddingDimension = 8 };
            o.Pretraining = new PretrainingOptions { Epochs = 2, StepsPerEpoch = 3, Validation = new ValidationOptions { ChangeThresholds = ChangeThresholds.Absolute(10), ChangeFolds = 2 } };
            o.BatchSource = new BatchSourceOptions { PatientsPerBatch = 4, ScansPerPatient = 2 };
        });
        using var provider = services.BuildServiceProvider();
        var train = Cohort("t", 1);
        provider.GetRequiredService<Func<LongitudinalDataset, IBatchSampler>>()(train).BatchSize.Should().Be(8);
        var factory = provider.GetRequiredService<PretrainerFactory>();
        var (pretrainer, encoder) = factory.Create(train, "mse+weighted-contrastive", seed: 3, validation: Cohort("v", 2));
        encoder.EmbeddingDimension.Should().Be(8);
        var result = pretrainer.Run();
        result.CompletedSteps.Should().Be(6);
        result.Epochs.Should().HaveCount(2).And.OnlyContain(e => e.Validation != null && double.IsFinite(e.Validation.MacroF1));
        FluentActions.Invoking(() => factory.Create(train, "magic")).Should().Throw<ArgumentException>().WithMessage("*magic*");
    }

    [Fact]
    public void AddLearner_from_configuration_replaces_list_defaults_and_validates_naming_the_option()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Learner:Objectives:0"] = "rnc",
            ["Learner:Seeds:0"] = "4",
            ["Learner:Seeds:1"] = "5",
            ["Learner:Protocol:OuterFolds"] = "3",
            ["Learner:BatchSource:Kind"] = "InterPatientPairs",
            ["Learner:Search:LearningRates:0"] = "0.01",
            ["Learner:Encoder:Architecture"] = "mlp",
            ["Learner:Encoder:InputFeatures"] = "5",
            ["Learner:Pretraining:Epochs"] = "7",
            ["Learner:ChangeThresholds:Improvement"] = "15",
            ["Learner:ChangeThresholds:Worsening"] = "10",
        }).Build();
        var services = new ServiceCollection();
        services.AddLearner(config.GetSection("Learner"));
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<ExperimentOptions>>().Value;
        options.Objectives.Should().Equal("rnc");
        options.Seeds.Should().Equal(4, 5);
        options.Protocol.OuterFolds.Should().Be(3);
        options.BatchSource.Kind.Should().Be(BatchSourceKind.InterPatientPairs);
        options.Search.LearningRates.Should().Equal(0.01);
        options.Pretraining.Epochs.Should().Be(7);
        options.ChangeThresholds!.Improvement.Should().Be(15);
        options.ChangeThresholds!.Worsening.Should().Be(10);
        options.Encoder.InputFeatures.Should().Be(5);

        var bad = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Protocol:OuterFolds"] = "1" }).Build();
        var badServices = new ServiceCollection();
        badServices.AddLearner(bad);
        using var badProvider = badServices.BuildServiceProvider();
        FluentActions.Invoking(() => badProvider.GetRequiredService<IOptions<ExperimentOptions>>().Value)
            .Should().Throw<OptionsValidationException>().WithMessage("*OuterFolds*");
    }
}
