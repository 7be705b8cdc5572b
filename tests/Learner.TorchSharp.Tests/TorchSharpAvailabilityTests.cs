using TorchSharp;
using static TorchSharp.torch;

namespace Learner.TorchSharp.Tests;

public class TorchSharpAvailabilityTests
{
    [Fact]
    public void The_native_library_loads_where_the_environment_requires_it()
    {
        // CI sets LEARNER_REQUIRE_TORCHSHARP=1: there a machine that cannot load libtorch fails here with the loader's
        // error instead of skipping every backend test. Elsewhere the tests skip with the same reason.
        if (!TorchSharpAvailability.Required) return;
        TorchSharpAvailability.Unavailable.Should().BeNull($"{TorchSharpAvailability.RequireVariable}=1 requires the TorchSharp tests to run");
    }

    [TorchSharpFact]
    public void The_parity_tests_run_on_the_device_the_environment_names()
    {
        // LEARNER_TORCHSHARP_TEST_DEVICE=cuda (scripts/gpu-check.sh) moves the parity tests to the GPU; unset, the CPU. A
        // CUDA request without a CUDA device fails here (and in every parity test) instead of quietly testing the CPU.
        var device = TestDevice.Current;
        device.type.Should().Be(TestDevice.Requested?.StartsWith("cuda", StringComparison.Ordinal) == true ? DeviceType.CUDA : DeviceType.CPU);
        using var t = ones(2, device: device);
        t.device.type.Should().Be(device.type);
        t.sum().item<float>().Should().Be(2f);
    }
}
