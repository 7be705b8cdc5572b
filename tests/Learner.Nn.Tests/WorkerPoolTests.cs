using Learner.Nn.Kernels;

namespace Learner.Nn.Tests;

public class WorkerPoolTests
{
    /// <summary>Counts each part's runs and records the thread it ran on.</summary>
    internal struct Record : IParallelJob
    {
        public int[] Hits;
        public int[] Threads;

        public readonly void RunPart(int part)
        {
            Interlocked.Increment(ref Hits[part]);
            Threads[part] = Environment.CurrentManagedThreadId;
        }
    }

    private struct Nested : IParallelJob
    {
        public int[] Hits;

        public readonly void RunPart(int part)
        {
            var inner = new Record { Hits = new int[3], Threads = new int[3] };
            WorkerPool.Run(ref inner, 3); // the pool is busy: runs on this thread
            Interlocked.Add(ref Hits[part], inner.Hits.Sum());
        }
    }

    private struct Throwing : IParallelJob
    {
        public readonly void RunPart(int part)
        {
            if (part == 1) throw new InvalidOperationException("part 1 failed");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    public void Every_part_runs_exactly_once(int parts)
    {
        for (int repeat = 0; repeat < 20; repeat++)
        {
            var job = new Record { Hits = new int[parts], Threads = new int[parts] };
            WorkerPool.Run(ref job, parts);
            job.Hits.Should().OnlyContain(h => h == 1);
            job.Threads[0].Should().Be(Environment.CurrentManagedThreadId, "part 0 runs on the caller");
        }
    }

    [Fact]
    public void Nested_runs_complete_on_the_calling_thread()
    {
        var job = new Nested { Hits = new int[4] };
        WorkerPool.Run(ref job, 4);
        job.Hits.Should().OnlyContain(h => h == 3);
    }

    [Fact]
    public void A_failing_part_surfaces_and_the_pool_stays_usable()
    {
        var bad = new Throwing();
        FluentActions.Invoking(() => WorkerPool.Run(ref bad, 3)).Should().Throw<Exception>().Where(e => e.ToString().Contains("part 1 failed"));
        var job = new Record { Hits = new int[3], Threads = new int[3] };
        WorkerPool.Run(ref job, 3);
        job.Hits.Should().OnlyContain(h => h == 1);
        FluentActions.Invoking(() => WorkerPool.Run(ref job, 0)).Should().Throw<ArgumentOutOfRangeException>();
    }
}

/// <summary>The runtime's two environment settings: the workers' spin and the tensor pool's bound.</summary>
public class RuntimeSettingTests
{
    [Theory]
    [InlineData(null, 50)]
    [InlineData("  ", 50)]
    [InlineData("0", 0)]
    [InlineData("200", 200)]
    [InlineData("10000", 10000)]
    public void The_worker_spin_reads_whole_microseconds(string? text, int expected) => WorkerPool.ParseSpin(text).Should().Be(expected);

    [Theory]
    [InlineData("-1")]
    [InlineData("2.5")]
    [InlineData("10001")]
    [InlineData("fast")]
    public void A_bad_worker_spin_is_refused_naming_the_variable_and_value(string text) =>
        FluentActions.Invoking(() => WorkerPool.ParseSpin(text)).Should().Throw<InvalidOperationException>()
            .WithMessage($"LEARNER_WORKER_SPIN_US = '{text}'*");

    [Fact]
    public void The_tensor_pool_holds_a_quarter_of_memory_between_1_and_8_GiB_unless_told()
    {
        BufferPool.ParseLimit(null, 24L << 30).Should().Be((6L << 30) / 4, "a quarter of 24 GiB, in floats");
        BufferPool.ParseLimit("", 2L << 30).Should().Be((1L << 30) / 4, "never under 1 GiB");
        BufferPool.ParseLimit(null, 128L << 30).Should().Be((8L << 30) / 4, "never over 8 GiB");
        BufferPool.ParseLimit("512", 24L << 30).Should().Be((512L << 20) / 4);
        BufferPool.ParseLimit("0", 24L << 30).Should().Be(0);
        BufferPool.MaxPooledElements.Should().BeGreaterThanOrEqualTo((1L << 30) / 4);
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("1e3")]
    [InlineData("lots")]
    public void A_bad_tensor_pool_size_is_refused_naming_the_variable_and_value(string text) =>
        FluentActions.Invoking(() => BufferPool.ParseLimit(text, 1L << 30)).Should().Throw<InvalidOperationException>()
            .WithMessage($"LEARNER_TENSOR_POOL_MB = '{text}'*");
}

/// <summary>The one parser of the memory-sizing environment variables.</summary>
public class EnvironmentSettingsTests
{
    [Theory]
    [InlineData(null, null)]
    [InlineData("", null)]
    [InlineData("  ", null)]
    [InlineData("0", 0L)]
    [InlineData(" 12 ", 12L << 20)]
    [InlineData("8796093022207", 8796093022207L << 20)]
    public void Whole_mebibytes_are_bytes_and_blank_is_unset(string? text, long? bytes) =>
        EnvironmentSettings.Mebibytes("LEARNER_X_MB", text).Should().Be(bytes);

    [Theory]
    [InlineData("+5")]
    [InlineData("-5")]
    [InlineData("1.5")]
    [InlineData("64MB")]
    [InlineData("8796093022208")]
    public void Anything_else_is_refused_naming_the_variable_and_the_value(string text) =>
        FluentActions.Invoking(() => EnvironmentSettings.Mebibytes("LEARNER_X_MB", text)).Should().Throw<InvalidOperationException>()
            .WithMessage($"LEARNER_X_MB = '{text}' is not a whole number of mebibytes*");
}

/// <summary><see cref="WorkerPool.LimitThreads"/>: a per-context thread budget, on a team of its own.</summary>
public class WorkerPoolThreadLimitTests
{

    private static int Cores => Math.Max(1, Environment.ProcessorCount);

    [Fact]
    public void One_thread_runs_every_part_on_the_caller_and_flows_to_threads_it_starts()
    {
        WorkerPool.Threads.Should().Be(Cores);
        using (WorkerPool.LimitThreads(1))
        {
            WorkerPool.Threads.Should().Be(1);
            var job = new WorkerPoolTests.Record { Hits = new int[5], Threads = new int[5] };
            WorkerPool.Run(ref job, 5);
            job.Hits.Should().OnlyContain(h => h == 1);
            job.Threads.Should().OnlyContain(t => t == Environment.CurrentManagedThreadId);
            int seen = 0;
            var thread = new Thread(() => seen = WorkerPool.Threads);
            thread.Start();
            thread.Join();
            seen.Should().Be(1, "a thread started inside the limit inherits it");
        }
        WorkerPool.Threads.Should().Be(Cores, "disposing the scope restores the previous budget");
    }

    [Fact]
    public void A_nested_limit_cannot_widen_the_outer_one_and_restores_it()
    {
        using (WorkerPool.LimitThreads(3))
        {
            WorkerPool.Threads.Should().Be(Math.Min(3, Cores));
            using (WorkerPool.LimitThreads(8)) WorkerPool.Threads.Should().Be(Math.Min(3, Cores));
            using (WorkerPool.LimitThreads(1)) WorkerPool.Threads.Should().Be(1);
            WorkerPool.Threads.Should().Be(Math.Min(3, Cores));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_limit_below_one_thread_is_refused(int threads) =>
        FluentActions.Invoking(() => WorkerPool.LimitThreads(threads)).Should().Throw<ArgumentOutOfRangeException>();

    [Fact]
    public void Parts_beyond_the_budget_run_once_each_on_at_most_that_many_threads()
    {
        using var limit = WorkerPool.LimitThreads(2);
        int parts = 4 * Cores + 3;
        for (int repeat = 0; repeat < 20; repeat++)
        {
            var job = new WorkerPoolTests.Record { Hits = new int[parts], Threads = new int[parts] };
            WorkerPool.Run(ref job, parts);
            job.Hits.Should().OnlyContain(h => h == 1);
            job.Threads.Distinct().Count().Should().BeLessThanOrEqualTo(Math.Min(2, Cores));
            job.Threads[0].Should().Be(Environment.CurrentManagedThreadId, "part 0 runs on the caller");
        }
    }

    [Fact]
    public void Limited_contexts_side_by_side_each_complete_every_job()
    {
        const int jobs = 300, parts = 4;
        var totals = new int[2];
        var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            using var limit = WorkerPool.LimitThreads(2);
            for (int j = 0; j < jobs; j++)
            {
                var job = new WorkerPoolTests.Record { Hits = new int[parts], Threads = new int[parts] };
                WorkerPool.Run(ref job, parts);
                totals[t] += job.Hits.Sum();
            }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        totals.Should().OnlyContain(n => n == jobs * parts);
    }

    [Fact]
    public void A_training_step_gives_the_same_bits_on_one_thread_as_on_every_core()
    {
        // Shapes above every kernel's parallel threshold: the convolution's blocks, its GEMMs, batch norm and the maps.
        static (float[] Loss, float[] Gx, float[] Gw, float[] Gv) Step()
        {
            var rng = new Rng(5);
            var x = Tensor.Normal(rng, 0, 1, 16, 16, 24, 24).RequireGrad();
            var w = Tensor.Normal(rng, 0, 0.1f, 32, 16, 3, 3).RequireGrad();
            var v = Tensor.Normal(rng, 0, 0.1f, 32 * 12 * 12, 64).RequireGrad();
            var gamma = Tensor.Normal(rng, 1, 0.1f, 32).RequireGrad();
            var beta = Tensor.Normal(rng, 0, 0.1f, 32).RequireGrad();
            var y = Ops.BatchNormRelu(Ops.Conv2d(x, w, null, 2, 1), gamma, beta, Tensor.Zeros(32), Tensor.Ones(32), training: true);
            var loss = Ops.Sum(Ops.Relu(Ops.MatMul(Ops.Reshape(y, 16, 32 * 12 * 12), v)));
            loss.Backward();
            return (loss.Data.ToArray(), x.Grad!.Data.ToArray(), w.Grad!.Data.ToArray(), v.Grad!.Data.ToArray());
        }
        var all = Step();
        (float[] Loss, float[] Gx, float[] Gw, float[] Gv) one;
        using (WorkerPool.LimitThreads(1)) one = Step();
        one.Loss.Should().Equal(all.Loss);
        one.Gx.Should().Equal(all.Gx);
        one.Gw.Should().Equal(all.Gw);
        one.Gv.Should().Equal(all.Gv);
    }
}

public class WorkerPoolNestingTests
{
    private struct Inner : IParallelJob
    {
        public int[] Threads;

        public readonly void RunPart(int part) => Threads[part] = Environment.CurrentManagedThreadId;
    }

    private struct Outer : IParallelJob
    {
        public int[][] InnerThreads;
        public int[] OuterThreads;

        public readonly void RunPart(int part)
        {
            OuterThreads[part] = Environment.CurrentManagedThreadId;
            var inner = new Inner { Threads = InnerThreads[part] };
            WorkerPool.Run(ref inner, 3);
        }
    }

    private struct Budgets : IParallelJob
    {
        public int[] Seen;

        public readonly void RunPart(int part) => Seen[part] = WorkerPool.Threads;
    }

    [Fact]
    public void A_worker_s_budget_is_one_thread()
    {
        if (Environment.ProcessorCount < 2) return; // one processor: every part runs on the caller
        using var limit = WorkerPool.LimitThreads(2);
        var job = new Budgets { Seen = new int[2] };
        WorkerPool.Run(ref job, 2);
        job.Seen.Should().Equal(2, 1);
    }

    [Fact]
    public void A_job_started_from_a_part_runs_serially_on_that_part_s_thread_under_a_limit_too()
    {
        using var limit = WorkerPool.LimitThreads(2);
        var job = new Outer { InnerThreads = Enumerable.Range(0, 2).Select(_ => new int[3]).ToArray(), OuterThreads = new int[2] };
        WorkerPool.Run(ref job, 2);
        for (int p = 0; p < 2; p++)
            job.InnerThreads[p].Should().OnlyContain(t => t == job.OuterThreads[p], "a nested job never takes another team's workers");
    }
}

public class WorkerPoolScopeTests
{
    private struct Meet : IParallelJob
    {
        public Barrier Barrier;
        public bool[] Met;

        public readonly void RunPart(int part) => Met[part] = Barrier.SignalAndWait(TimeSpan.FromSeconds(20));
    }

    [Fact]
    public void A_scope_disposed_twice_restores_once_and_its_team_serves_one_later_scope_at_a_time()
    {
        if (Environment.ProcessorCount < 2) return; // one processor: every team runs its parts in turn
        var scope = WorkerPool.LimitThreads(2);
        scope.Dispose();
        scope.Dispose();
        WorkerPool.Threads.Should().Be(Environment.ProcessorCount);
        // Two contexts under limits of 2 at once: all four parts meet only if each context has a team of its own (a
        // team handed out twice would run one context's parts in turn, and the barrier would time out).
        using var barrier = new Barrier(4);
        var met = new[] { new bool[2], new bool[2] };
        var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            using var limit = WorkerPool.LimitThreads(2);
            var job = new Meet { Barrier = barrier, Met = met[t] };
            WorkerPool.Run(ref job, 2);
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        met.SelectMany(m => m).Should().OnlyContain(m => m);
    }

    [Fact]
    public void Disposing_an_outer_scope_before_an_inner_one_is_refused_and_changes_nothing()
    {
        var outer = WorkerPool.LimitThreads(2);
        var inner = WorkerPool.LimitThreads(1);
        FluentActions.Invoking(outer.Dispose).Should().Throw<InvalidOperationException>().WithMessage("*innermost first*");
        WorkerPool.Threads.Should().Be(1);
        inner.Dispose();
        outer.Dispose();
        WorkerPool.Threads.Should().Be(Math.Max(1, Environment.ProcessorCount));
    }

    [Fact]
    public void A_thread_that_outlives_its_scope_runs_its_jobs_serially()
    {
        using var started = new ManualResetEventSlim();
        using var closed = new ManualResetEventSlim();
        int[]? threads = null;
        int self = 0;
        Thread late;
        using (WorkerPool.LimitThreads(2))
        {
            late = new Thread(() =>
            {
                started.Set();
                closed.Wait();
                self = Environment.CurrentManagedThreadId;
                var job = new WorkerPoolTests.Record { Hits = new int[3], Threads = new int[3] };
                WorkerPool.Run(ref job, 3);
                threads = job.Threads;
            });
            late.Start();
            started.Wait();
        }
        closed.Set();
        late.Join();
        threads.Should().OnlyContain(t => t == self);
    }
}
