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
}
