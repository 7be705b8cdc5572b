using Learner.Data;
using Learner.Encoders;
using Learner.Nn;
using Learner.Nn.Modules;
using Learner.Sampling;

namespace Learner.Tests.Sampling;

/// <summary>Samplers shared by threads keep "same seed, same batches"; an encoder used from two threads fails up front.</summary>
public class ThreadSafetyTests
{
    private static LongitudinalDataset Cohort()
    {
        var scans = new List<Scan>();
        for (int p = 0; p < 40; p++)
            for (int v = 0; v < 2 + p % 4; v++)
                scans.Add(new Scan($"p{p}-{v}", $"p{p}", v, 100 + p, p % 3));
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    private static int[][] Draw(IBatchSampler sampler, ulong seed, int batches, int size)
    {
        var rng = new Rng(seed);
        var r = new int[batches][];
        for (int i = 0; i < batches; i++)
        {
            r[i] = new int[size];
            sampler.SampleBatch(r[i], rng);
        }
        return r;
    }

    private static int[][][] Concurrently(IBatchSampler shared, int batches, int size)
    {
        var results = new int[2][][];
        using var start = new Barrier(2);
        var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            results[t] = Draw(shared, (ulong)(11 + t), batches, size);
        })).ToArray();
        foreach (var th in threads) th.Start();
        foreach (var th in threads) th.Join();
        return results;
    }

    [Fact]
    public void A_patient_batch_sampler_shared_by_two_threads_gives_each_generator_its_own_batches_for_good()
    {
        var data = Cohort();
        const int batches = 3000;
        var shared = new PatientBatchSampler(data, 8, 2);
        var expected = new[] { Draw(new PatientBatchSampler(data, 8, 2), 11, batches, 16), Draw(new PatientBatchSampler(data, 8, 2), 12, batches, 16) };
        var got = Concurrently(shared, batches, 16);
        for (int t = 0; t < 2; t++)
            for (int i = 0; i < batches; i++)
                got[t][i].Should().Equal(expected[t][i], $"thread {t}, batch {i}");
        // And afterwards, on one thread: still the same batches for the same seed.
        Draw(shared, 11, 5, 16).Should().BeEquivalentTo(expected[0].Take(5), o => o.WithStrictOrdering());
    }

    [Fact]
    public void A_label_balanced_sampler_shared_by_two_threads_gives_each_generator_its_own_batches()
    {
        var data = Cohort();
        const int batches = 3000;
        var shared = new LabelBalancedBatchSampler(data, 12);
        var expected = new[] { Draw(new LabelBalancedBatchSampler(data, 12), 11, batches, 12), Draw(new LabelBalancedBatchSampler(data, 12), 12, batches, 12) };
        var got = Concurrently(shared, batches, 12);
        for (int t = 0; t < 2; t++)
            for (int i = 0; i < batches; i++)
                got[t][i].Should().Equal(expected[t][i], $"thread {t}, batch {i}");
    }

    private static ModuleEncoder Encoder() =>
        new(new Sequential(new Linear(5, 8, new Rng(3)), new Tanh(), new Linear(8, 3, new Rng(4))), 3, "mlp");

    private static Exception? OnOtherThread(Action action)
    {
        Exception? caught = null;
        var t = new Thread(() => { try { action(); } catch (Exception e) { caught = e; } });
        t.Start();
        t.Join();
        return caught;
    }

    [Fact]
    public void Backward_or_a_second_forward_on_another_thread_fails_before_touching_gradients_or_the_scope()
    {
        var x = Tensor.Uniform(new Rng(1), -1, 1, 4, 5);
        var g = Tensor.Uniform(new Rng(2), -1, 1, 4, 3).ToArray();
        var reference = Encoder();
        var e0 = new float[12];
        reference.Forward(x, e0, requiresGrad: true);
        reference.Backward(g);
        var expected = reference.Module.Parameters().Select(p => p.Grad!.ToArray()).ToArray();

        var enc = Encoder();
        var emb = new float[12];
        enc.Forward(x, emb, requiresGrad: true);
        int me = Environment.CurrentManagedThreadId;
        foreach (var (call, action) in new (string, Action)[]
        {
            ("Backward", () => enc.Backward(g)),
            ("DiscardGraph", () => enc.DiscardGraph()),
            ("Forward", () => enc.Forward(x, new float[12], requiresGrad: false)),
        })
        {
            var e = OnOtherThread(action);
            e.Should().BeOfType<InvalidOperationException>();
            e!.Message.Should().Contain("ModuleEncoder 'mlp'").And.Contain(call).And.Contain($"thread {me}").And.MatchRegex(@"called on thread \d+");
            e.Message.Should().NotContain($"called on thread {me} ");
        }
        enc.Module.Parameters().Should().OnlyContain(p => p.Grad == null || p.Grad.ToArray().All(v => v == 0), "nothing was accumulated");
        // The owning thread finishes its step as if nothing had happened.
        enc.Backward(g);
        enc.Module.Parameters().Select(p => p.Grad!.ToArray()).Should().BeEquivalentTo(expected, o => o.WithStrictOrdering());
        // Between steps the encoder may move to another thread.
        OnOtherThread(() =>
        {
            enc.Forward(x, new float[12], requiresGrad: true);
            enc.DiscardGraph();
        }).Should().BeNull();
    }
}
