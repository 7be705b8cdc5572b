using Learner.Nn;
using Learner.Sampling;

namespace Learner.Tests.Sampling;

public class LocalRandomTests
{
    [Fact]
    public void Local_stream_is_the_generators_stream_and_writes_back()
    {
        var a = new Rng(123);
        var b = new Rng(123);
        a.NextGaussian(); b.NextGaussian(); // leave a cached normal variate that must survive
        var local = new LocalRandom(a);
        for (int i = 0; i < 1000; i++) local.NextUInt64().Should().Be(b.NextUInt64());
        local.WriteBack(a);
        a.GetState().Should().Be(b.GetState());
        a.NextUInt64().Should().Be(b.NextUInt64());
        a.NextGaussian().Should().Be(b.NextGaussian());
    }
}
