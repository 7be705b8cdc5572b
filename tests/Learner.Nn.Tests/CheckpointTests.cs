using Learner.Nn;
using Learner.Nn.Modules;
using Learner.Nn.Optim;
using Learner.Nn.Serialization;

namespace Learner.Nn.Tests;

public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("learner-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    private static Sequential Mlp(int seed, int hidden = 6) { var rng = new Rng(seed); return new Sequential(new Linear(4, hidden, rng), new SoftSign(), new Linear(hidden, 2, rng)); }

    private static Dictionary<string, float[]> Snapshot(Module m) => m.StateEntries().ToDictionary(e => e.Key, e => e.Value.ToArray());

    private static void TrainSteps(Sequential model, Optimizer opt, ILrScheduler? sched, Rng data, int steps)
    {
        for (int s = 0; s < steps; s++)
        {
            using var scope = TensorScope.Begin();
            var x = Tensor.Uniform(data, -1, 1, 8, 4);
            var y = Tensor.Uniform(data, -1, 1, 8, 2);
            opt.ZeroGrad();
            Ops.Mean(Ops.Square(model.Forward(x) - y)).Backward();
            opt.Step();
            sched?.Step();
        }
    }

    [Fact]
    public void Module_state_round_trips_bit_identically()
    {
        var a = Mlp(1);
        Checkpoint.Save(P("m.safetensors"), a, metadata: new Dictionary<string, string> { ["epoch"] = "7" });
        var b = Mlp(2);
        var result = Checkpoint.Load(P("m.safetensors"), b);
        result.MissingKeys.Should().BeEmpty();
        result.UnexpectedKeys.Should().BeEmpty();
        result.Metadata["epoch"].Should().Be("7");
        result.Metadata["learner.format"].Should().Be(Checkpoint.FormatId);
        foreach (var (k, v) in Snapshot(a)) Snapshot(b)[k].Should().Equal(v, k);
        Safetensors.ReadHeader(P("m.safetensors")).Entries.Select(e => e.Name).Should().Equal("0.weight", "0.bias", "2.weight", "2.bias");
    }

    [Fact]
    public void Another_architecture_fails_strictly_listing_every_key_and_changes_nothing()
    {
        Checkpoint.Save(P("m.safetensors"), Mlp(1, hidden: 6));
        var rng = new Rng(3);
        var other = new Sequential(new Linear(4, 5, rng), new SoftSign(), new Linear(5, 2, rng, bias: false), new Linear(2, 2, rng));
        var before = Snapshot(other);
        var act = () => Checkpoint.Load(P("m.safetensors"), other);
        var ex = act.Should().Throw<CheckpointException>().Which;
        ex.Message.Should().Contain("m.safetensors")
            .And.Contain("missing keys (2):").And.Contain("3.weight [2, 2]").And.Contain("3.bias [2]")
            .And.Contain("unexpected keys (1):").And.Contain("2.bias [2]")
            .And.Contain("mis-shaped keys (3):").And.Contain("0.weight: checkpoint [6, 4], module [5, 4]")
            .And.Contain("0.bias: checkpoint [6], module [5]").And.Contain("2.weight: checkpoint [2, 6], module [2, 5]");
        foreach (var (k, v) in before) Snapshot(other)[k].Should().Equal(v, "nothing may be half-loaded");
    }

    [Fact]
    public void Non_strict_loading_reports_missing_and_unexpected_keys_but_not_shapes()
    {
        var a = Mlp(1);
        Checkpoint.Save(P("m.safetensors"), a);
        var rng = new Rng(4);
        var bigger = new Sequential(new Linear(4, 6, rng), new SoftSign(), new Linear(6, 2, rng, bias: false), new Linear(2, 3, rng));
        var result = Checkpoint.Load(P("m.safetensors"), bigger, strict: false);
        result.MissingKeys.Should().Equal("3.weight [3, 2]", "3.bias [3]");
        result.UnexpectedKeys.Should().Equal("2.bias [2]");
        ((Linear)bigger[0]).Weight.ToArray().Should().Equal(((Linear)a[0]).Weight.ToArray());
        ((Linear)bigger[2]).Weight.ToArray().Should().Equal(((Linear)a[2]).Weight.ToArray());

        var misshaped = Mlp(5, hidden: 3);
        var act = () => Checkpoint.Load(P("m.safetensors"), misshaped, strict: false);
        act.Should().Throw<CheckpointException>().WithMessage("*mis-shaped keys (3)*").Which.Message.Should().NotContain("missing keys");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Training_resumes_bit_identically_from_a_checkpoint(bool sgd)
    {
        Optimizer MakeOpt(Module m) => sgd
            ? new Sgd(new[] { new ParameterGroupSpec(m.Parameters().Where(p => p.Rank == 2)), new ParameterGroupSpec(m.Parameters().Where(p => p.Rank == 1), weightDecay: 0) }, 0.1, momentum: 0.9, weightDecay: 1e-3, nesterov: true)
            : new AdamW(m.Parameters(), 1e-2, amsgrad: true);

        var model = Mlp(1);
        var opt = MakeOpt(model);
        var sched = new CosineWithWarmup(opt, 3, 20, minLr: 1e-4);
        TrainSteps(model, opt, sched, new Rng(100), 6);
        Checkpoint.Save(P("ckpt.safetensors"), model, opt, sched);
        TrainSteps(model, opt, sched, new Rng(200), 6);

        var resumed = Mlp(9);
        var opt2 = MakeOpt(resumed);
        var sched2 = new CosineWithWarmup(opt2, 3, 20, minLr: 1e-4);
        Checkpoint.Load(P("ckpt.safetensors"), resumed, opt2, sched2);
        sched2.StepCount.Should().Be(6);
        TrainSteps(resumed, opt2, sched2, new Rng(200), 6);

        foreach (var (k, v) in Snapshot(model)) Snapshot(resumed)[k].Should().Equal(v, k);
        sched2.LastLr.Should().Be(sched.LastLr);
        opt2.StepCount(0).Should().Be(12);
        var names = Safetensors.ReadHeader(P("ckpt.safetensors")).Entries.Select(e => e.Name).ToList();
        names.Should().Contain(sgd ? "optim.0.momentum_buffer" : "optim.3.max_exp_avg_sq");
    }

    [Fact]
    public void Optimizer_or_schedule_state_that_does_not_fit_is_rejected_before_anything_changes()
    {
        var model = Mlp(1);
        var opt = new AdamW(model.Parameters(), 1e-2);
        TrainSteps(model, opt, null, new Rng(1), 2);
        Checkpoint.Save(P("adam.safetensors"), model, opt);

        var target = Mlp(2);
        var before = Snapshot(target);
        var ams = new AdamW(target.Parameters(), 1e-2, amsgrad: true);
        ((Action)(() => Checkpoint.Load(P("adam.safetensors"), target, ams))).Should().Throw<CheckpointException>()
            .WithMessage("*optimizer state does not fit*amsgrad*").Which.Key.Should().Be("learner.optimizer");
        var sgd = new Sgd(target.Parameters(), 0.1);
        ((Action)(() => Checkpoint.Load(P("adam.safetensors"), target, sgd))).Should().Throw<CheckpointException>().WithMessage("*AdamW*Sgd*");
        var sched = new StepLr(ams, 2);
        ((Action)(() => Checkpoint.Load(P("adam.safetensors"), target, null, sched))).Should().Throw<CheckpointException>().WithMessage("*no learning-rate schedule state*");
        foreach (var (k, v) in before) Snapshot(target)[k].Should().Equal(v, k);

        Checkpoint.Save(P("plain.safetensors"), model);
        ((Action)(() => Checkpoint.Load(P("plain.safetensors"), target, new AdamW(target.Parameters())))).Should().Throw<CheckpointException>().WithMessage("*no optimizer state*");
        // Loading the module alone ignores the optimizer tensors.
        Checkpoint.Load(P("adam.safetensors"), target).UnexpectedKeys.Should().BeEmpty();
    }

    [Fact]
    public void Reserved_names_are_rejected_on_save()
    {
        var m = Mlp(1);
        ((Action)(() => Checkpoint.Save(P("x.safetensors"), m, metadata: new Dictionary<string, string> { ["learner.format"] = "x" })))
            .Should().Throw<ArgumentException>().WithMessage("*reserved*");
        File.Exists(P("x.safetensors")).Should().BeFalse();
    }

    [Fact]
    public void A_pytorch_state_dict_loads_into_a_sequential_and_reproduces_its_output()
    {
        var rng = new Rng(1);
        var model = new Sequential(new Linear(5, 4, rng), new Linear(4, 3, rng));
        var result = Checkpoint.Load(Path.Combine(AppContext.BaseDirectory, "Fixtures", "torch_mlp.safetensors"), model);
        result.Metadata["format"].Should().Be("pt");
        var c = Fixtures.Load("safetensors_expected.json").Single();
        var y = model.Forward(c.Tensor("mlp_input"));
        Fixtures.AssertClose(y.Data, c.Tensor("mlp_output").Data, "torch MLP output", rtol: 1e-5, atol: 1e-6);
    }

    [Fact]
    public void A_corrupted_checkpoint_raises_checkpoint_exception()
    {
        var m = Mlp(1);
        Checkpoint.Save(P("c.safetensors"), m);
        var bytes = File.ReadAllBytes(P("c.safetensors"));
        File.WriteAllBytes(P("c.safetensors"), bytes[..(bytes.Length / 2)]);
        var before = Snapshot(m);
        ((Action)(() => Checkpoint.Load(P("c.safetensors"), m))).Should().Throw<CheckpointException>().WithMessage("*c.safetensors*byte offset*");
        foreach (var (k, v) in before) Snapshot(m)[k].Should().Equal(v);
    }
}
