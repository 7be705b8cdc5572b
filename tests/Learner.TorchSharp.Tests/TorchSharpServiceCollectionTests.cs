using Learner.Encoders;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.TorchSharp.Objectives;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TorchSharp;
using static TorchSharp.torch;

namespace Learner.TorchSharp.Tests;

public class TorchSharpServiceCollectionTests
{
    [TorchSharpFact]
    public void AddLearnerTorchSharp_makes_the_encoder_factory_build_TorchSharp_encoders_on_the_chosen_device()
    {
        var services = new ServiceCollection();
        services.AddLearner(o => o.Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 6 });
        services.AddLearnerTorchSharp(() => nn.Sequential(("0", nn.Linear(6, 8)), ("1", nn.ReLU()), ("2", nn.Linear(8, 4))), 4, o => o.Device = "cpu");
        using var provider = services.BuildServiceProvider();
        using var encoder = (TorchSharpEncoder)provider.GetRequiredService<Func<IEncoder>>()();
        encoder.EmbeddingDimension.Should().Be(4);
        encoder.Device.type.Should().Be(DeviceType.CPU);
        var e = new float[8];
        encoder.Forward(new Learner.Nn.Tensor(new float[12], 2, 6), e, requiresGrad: false);
    }

    [TorchSharpFact]
    public void A_bad_device_fails_validation_naming_the_option()
    {
        var services = new ServiceCollection();
        services.AddLearnerTorchSharp(() => nn.Sequential(("0", nn.Linear(6, 4))), 4, o => o.Device = "tpu");
        using var provider = services.BuildServiceProvider();
        FluentActions.Invoking(() => provider.GetRequiredService<IOptions<TorchSharpOptions>>().Value)
            .Should().Throw<OptionsValidationException>().WithMessage("*Device*tpu*auto, cpu, cuda*");
        if (!cuda.is_available())
            FluentActions.Invoking(() => new TorchSharpOptions { Device = "cuda" }.ResolveDevice()).Should().Throw<ArgumentException>().WithMessage("*no CUDA device*");
    }

    [TorchSharpFact]
    public void The_container_and_the_backend_resolve_objectives_on_the_device_unless_told_otherwise()
    {
        var services = new ServiceCollection();
        // Registered first with a custom objective: it survives, and the built-in names move to the device.
        services.AddLearnerObjectives(r => r.Register<SupConOptions>("my-supcon", o => new SupConLoss(o)));
        services.AddLearner(o => o.Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 3 });
        services.AddLearnerTorchSharp(o => { o.Device = "cpu"; o.DeviceObjectives = true; });
        services.AddObjective("weighted-contrastive");
        using (var provider = services.BuildServiceProvider())
        {
            var registry = provider.GetRequiredService<ObjectiveRegistry>();
            registry.Create("my-supcon").Should().BeOfType<SupConLoss>();
            using (var o = (TorchSharpObjective)registry.Create("supcon")) o.Device.type.Should().Be(DeviceType.CPU);
            provider.GetRequiredService<IObjective>().Should().BeOfType<TorchSharpWeightedContrastiveLoss>();
            provider.GetRequiredService<ComputeBackend>().Objectives.Create("rnc").Should().BeOfType<TorchSharpRankNContrastLoss>();
        }

        var managed = new ServiceCollection();
        managed.AddLearner();
        managed.AddLearnerTorchSharp(o => o.Device = "cpu");   // auto: managed objectives on the CPU
        managed.AddLearnerTorchSharp(o => { o.Device = "cpu"; o.DeviceObjectives = false; });   // a second call keeps one registry wrapper
        managed.AddObjective("infonce");
        using (var provider = managed.BuildServiceProvider())
        {
            provider.GetRequiredService<IObjective>().Should().BeOfType<InfoNceLoss>();
            provider.GetRequiredService<ComputeBackend>().Objectives.Create("infonce").Should().BeOfType<InfoNceLoss>();
        }
        TorchSharpBackend.Create(CPU, deviceObjectives: true).Objectives.Create("triplet").Should().BeOfType<TorchSharpTripletLoss>();
        TorchSharpBackend.Create(CPU, deviceObjectives: false).Objectives.Create("triplet").Should().BeOfType<TripletLoss>();
        TorchSharpBackend.Create(CPU).Objectives.Create("triplet").Should().BeOfType<TripletLoss>("on the CPU the managed objectives are faster (docs/performance.md)");
        new TorchSharpOptions().DeviceObjectives.Should().BeNull();
    }
}
