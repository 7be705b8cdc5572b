using Learner.Nn.Kernels;

namespace Learner.Nn.Tests;

public class WorkerPoolTests
{
    private struct Record : IParallelJob
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
