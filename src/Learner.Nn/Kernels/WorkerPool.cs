using System.Runtime.CompilerServices;

namespace Learner.Nn.Kernels;

/// <summary>A piece of parallel work split into parts; part p runs on one thread.</summary>
public interface IParallelJob
{
    /// <summary>Runs part <paramref name="part"/> of the job.</summary>
    /// <param name="part">0-based part index, below the part count given to <see cref="WorkerPool.Run{TJob}"/>.</param>
    void RunPart(int part);
}

/// <summary>
/// The engine's own worker threads for data-parallel kernels (GEMM, row-wise objective kernels). Part 0 runs on the
/// calling thread, the others on dedicated background threads that sleep between jobs. Unlike the thread pool, a worker
/// spins only for a short, bounded time after a job (default 50 µs; the environment
/// variable <c>LEARNER_WORKER_SPIN_US</c> sets it, 0 turns it off) before it sleeps, and the caller waits for the last
/// part the same way: the kernels of one layer follow each other within microseconds (a convolution's unfold, GEMM and
/// fold are several jobs per block), and waking a sleeping thread costs a futex round trip each time — tens of
/// microseconds on a virtual machine — while a spin that long is too short to take a core from anything else.
/// One job runs at a time on a team of threads; a call made while another is in flight on the same team (or from
/// inside a part) runs all parts on the calling thread, so nesting is safe. Parts must not depend on running
/// concurrently. It is the engine's only parallel runtime: GEMM, convolution, the row-wise kernels and the elementwise
/// maps all run on it (none uses Parallel.For).
/// </summary>
/// <remarks>
/// <para><b>Thread budget.</b> <see cref="Threads"/> is how many threads the kernels of the calling context may use:
/// every logical processor, unless <see cref="LimitThreads"/> set fewer for it. Within such a limit the kernels split
/// their work for that many threads and run it on a team of their own (or, for one thread, on the calling thread
/// alone), so several trainings can run side by side, each on its share of the cores, without waiting for one
/// another's jobs. A job's parts beyond the team's size run on its threads in turn (part p on thread p mod size).</para>
/// <para>Results do not depend on the budget: every kernel sums in an order fixed by the shapes, never by the thread
/// count, so a training under <c>LimitThreads(1)</c> gives the same bits as one on every core.</para>
/// </remarks>
public static unsafe class WorkerPool
{
    private sealed class Worker(Team team, int index)
    {
        public readonly ManualResetEventSlim Start = new(false, spinCount: 1);
        public readonly Team Team = team;
        public readonly int Index = index;
    }

    /// <summary>Threads that run one job at a time: the caller (thread 0) and <see cref="Size"/> − 1 workers.</summary>
    private sealed class Team(int size)
    {
        public readonly int Size = size;
        public readonly ManualResetEventSlim Done = new(false, spinCount: 1);
        public Worker[] Workers = Array.Empty<Worker>();
        public int Busy;
        public delegate*<void*, int, void> Body;
        public void* State;
        public int Parts;
        public int Pending;
        public Exception? Error;
    }

    /// <summary>The team of a context without a limit: as many threads as logical processors (grown on demand).</summary>
    private static readonly Team Shared = new(Math.Max(1, Environment.ProcessorCount));

    /// <summary>Idle teams of a given size, kept for the next <see cref="LimitThreads"/> of that size (their threads sleep).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, System.Collections.Concurrent.ConcurrentBag<Team>> Idle = new();

    /// <summary>The calling context's limit and its team; flows to threads and tasks it starts. Closed when its scope is
    /// disposed: a thread that outlives the scope then runs its jobs serially (its team may serve a new scope).</summary>
    private sealed class Budget(int threads, Team? team)
    {
        public readonly int Threads = threads;
        public readonly Team? Team = team;
        public volatile bool Closed;
    }

    private static readonly AsyncLocal<Budget?> Current = new();

    /// <summary>How many threads the parallel kernels of the calling context may use: <see cref="Environment.ProcessorCount"/>,
    /// or the innermost <see cref="LimitThreads"/> in force (it flows to threads and tasks started inside it); 1 on a
    /// worker thread of the pool itself (a job started from a part runs on that part's thread).</summary>
    public static int Threads => _isWorker ? 1 : Current.Value is { } b ? (b.Closed ? 1 : b.Threads) : Math.Max(1, Environment.ProcessorCount);

    /// <summary>Limits the parallel kernels of the calling context — this thread and the threads and tasks it starts
    /// until the returned scope is disposed — to <paramref name="threads"/> threads (at most the logical processors and
    /// the limit already in force), on a team of their own: trainings run side by side under such limits do not share
    /// workers. Results are the same bits for any limit (see the class remarks). Dispose the scope on the context that
    /// opened it, innermost first; a thread started inside it that outlives it runs its jobs serially afterwards. A
    /// team's threads stay (asleep) for the next limit of the same size.</summary>
    /// <param name="threads">Threads (≥ 1); 1 runs every kernel on the calling thread.</param>
    /// <returns>The scope; disposing it restores the previous limit.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> is below 1.</exception>
    public static ThreadLimit LimitThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        var previous = Current.Value;
        int size = Math.Min(threads, Threads); // never wider than the limit in force (1 on a worker, or for a closed scope)
        Team? team = null;
        if (size > 1 && !(Idle.TryGetValue(size, out var bag) && bag.TryTake(out team))) team = new Team(size);
        var budget = new Budget(size, team);
        Current.Value = budget;
        return new ThreadLimit(previous, budget);
    }

    /// <summary>The scope of <see cref="LimitThreads"/>: disposing it restores the limit in force before.</summary>
    public sealed class ThreadLimit : IDisposable
    {
        private readonly Budget? _previous;
        private readonly Budget _own;
        private int _disposed;

        internal ThreadLimit(object? previous, object own)
        {
            _previous = (Budget?)previous;
            _own = (Budget)own;
        }

        /// <summary>Restores the previous limit and keeps this scope's team for reuse; a second call does nothing.</summary>
        /// <exception cref="InvalidOperationException">A limit opened inside this one, on the same context, is still open
        /// (scopes must be disposed innermost first).</exception>
        public void Dispose()
        {
            bool mine = ReferenceEquals(Current.Value, _own);
            if (!mine && Volatile.Read(ref _disposed) == 0)
                throw new InvalidOperationException("WorkerPool.LimitThreads scopes must be disposed innermost first, on the context that opened them: a limit opened inside this one is still in force.");
            // The calling context leaves the scope whenever it is still in it; the scope closes (and its team is kept
            // for reuse) once, whichever context disposes it first.
            if (mine) Current.Value = _previous;
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _own.Closed = true;
            if (_own.Team is { } team) Idle.GetOrAdd(team.Size, _ => new()).Add(team);
        }
    }

    /// <summary>The environment variable that sets how long a worker (and a caller waiting for its parts) polls before it
    /// blocks, in microseconds (an integer, 0 to 10000; default 50; read at the first parallel job).</summary>
    internal const string SpinEnvironmentVariable = "LEARNER_WORKER_SPIN_US";

    private static long _spinTicks = -1;

    private static long SpinTicks => _spinTicks >= 0 ? _spinTicks
        : _spinTicks = ParseSpin(Environment.GetEnvironmentVariable(SpinEnvironmentVariable)) * System.Diagnostics.Stopwatch.Frequency / 1_000_000;

    /// <summary>The spin in microseconds for a <c>LEARNER_WORKER_SPIN_US</c> value (null or blank: 50).</summary>
    /// <exception cref="InvalidOperationException">The value is not a whole number in [0, 10000].</exception>
    internal static int ParseSpin(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return 50;
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int us) || us > 10_000)
            throw new InvalidOperationException($"{SpinEnvironmentVariable} = '{text}' is not a whole number of microseconds in [0, 10000].");
        return us;
    }

    /// <summary>Polls <paramref name="done"/> for at most <see cref="SpinTicks"/>; true when it came true.</summary>
    private static bool SpinUntil<TCondition>(TCondition done) where TCondition : struct, ISpinCondition
    {
        long ticks = SpinTicks;
        if (ticks <= 0) return done.IsTrue;
        long deadline = System.Diagnostics.Stopwatch.GetTimestamp() + ticks;
        while (true)
        {
            for (int i = 0; i < 32; i++)
            {
                if (done.IsTrue) return true;
                Thread.SpinWait(8);
            }
            if (System.Diagnostics.Stopwatch.GetTimestamp() > deadline) return done.IsTrue;
        }
    }

    private interface ISpinCondition
    {
        bool IsTrue { get; }
    }

    private readonly struct Started(Worker worker) : ISpinCondition
    {
        public bool IsTrue => worker.Start.IsSet;
    }

    private readonly struct AllDone(Team team) : ISpinCondition
    {
        public bool IsTrue => Volatile.Read(ref team.Pending) == 0;
    }

    /// <summary>Runs parts 0 … <paramref name="parts"/> − 1 of <paramref name="job"/>, in parallel when possible, and returns
    /// when all have finished. An exception in a part is rethrown (wrapped in <see cref="AggregateException"/> when it
    /// came from a worker thread).</summary>
    /// <typeparam name="TJob">The job type.</typeparam>
    /// <param name="job">The job (read by every part; not copied).</param>
    /// <param name="parts">Number of parts (≥ 1).</param>
    public static void Run<TJob>(ref TJob job, int parts) where TJob : struct, IParallelJob
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(parts, 1);
        if (parts == 1) { job.RunPart(0); return; }
        // The workers reach the job through a raw pointer, so it must not move: `job` may live on the heap (a field, a
        // captured local), which the GC can relocate mid-run. A copy on this frame's stack stays put, and the GC still
        // sees (and updates) the references it holds. Mutations made by the parts are copied back.
        TJob pinned = job;
        try
        {
            if (!TryRun(Unsafe.AsPointer(ref pinned), &Invoke<TJob>, parts))
                for (int p = 0; p < parts; p++) pinned.RunPart(p);
        }
        finally
        {
            job = pinned;
        }
    }

    /// <summary>Runs <paramref name="body"/>(p) for p = 0 … <paramref name="parts"/> − 1 on the pool (the engine's
    /// replacement for <c>Parallel.For</c>: one runtime for every parallel kernel).</summary>
    internal static void For(int parts, Action<int> body)
    {
        var job = new DelegateJob(body);
        Run(ref job, parts);
    }

    private readonly struct DelegateJob(Action<int> body) : IParallelJob
    {
        public void RunPart(int part) => body(part);
    }

    private static void Invoke<TJob>(void* state, int part) where TJob : struct, IParallelJob => Unsafe.AsRef<TJob>(state).RunPart(part);

    /// <summary>Runs <paramref name="body"/>(state, p) for every part; false (nothing run) when the calling context's
    /// team is busy. Under a one-thread limit every part runs here, on the calling thread.</summary>
    internal static bool TryRun(void* state, delegate*<void*, int, void> body, int parts)
    {
        _ = SpinTicks; // a bad LEARNER_WORKER_SPIN_US throws here, on the caller, not on a worker thread
        // A part that calls back into the pool from a worker runs that job itself, serially (a worker has no context of
        // its own: it must not take another team's threads).
        if (_isWorker) return false;
        var budget = Current.Value;
        var team = budget is null ? Shared : budget.Closed ? null : budget.Team;
        if (team is null || team.Size == 1 || parts == 1)
        {
            // A one-thread budget (or a one-processor machine, or the budget of a scope already closed): all parts here.
            for (int p = 0; p < parts; p++) body(state, p);
            return true;
        }
        // Not a Monitor: it is re-entrant, and a part that calls back into the pool on the caller's thread must get
        // the serial path, not overwrite the job in flight.
        if (Interlocked.CompareExchange(ref team.Busy, 1, 0) != 0) return false;
        try
        {
            int threads = Math.Min(parts, team.Size);
            EnsureWorkers(team, threads - 1);
            team.State = state;
            team.Body = body;
            team.Parts = parts;
            team.Error = null;
            Volatile.Write(ref team.Pending, threads - 1);
            team.Done.Reset();
            for (int w = 0; w < threads - 1; w++) team.Workers[w].Start.Set();
            try
            {
                for (int p = 0; p < parts; p += threads) body(state, p);
            }
            finally
            {
                // Spin while the workers finish, then wait for Done itself: the last worker sets it just after its
                // decrement, and a Set landing after the next job's Reset would end that job early.
                SpinUntil(new AllDone(team));
                team.Done.Wait();
            }
            if (team.Error is not null) throw new AggregateException("A Learner.Nn worker thread failed.", team.Error);
            return true;
        }
        finally
        {
            team.State = null;
            Volatile.Write(ref team.Busy, 0);
        }
    }

    private static void EnsureWorkers(Team team, int count)
    {
        if (team.Workers.Length >= count) return;
        var grown = new Worker[count];
        Array.Copy(team.Workers, grown, team.Workers.Length);
        for (int w = team.Workers.Length; w < count; w++)
        {
            var worker = new Worker(team, w + 1);
            grown[w] = worker;
            // No execution context: a worker serves whichever context runs a job on its team.
            var thread = new Thread(Loop, 256 * 1024) { IsBackground = true, Name = $"Learner.Nn worker {w + 1}" };
            thread.UnsafeStart(worker);
        }
        team.Workers = grown;
    }

    [ThreadStatic] private static bool _isWorker;

    private static void Loop(object? state)
    {
        _isWorker = true;
        var self = (Worker)state!;
        var team = self.Team;
        while (true)
        {
            if (!SpinUntil(new Started(self))) self.Start.Wait();
            self.Start.Reset();
            try
            {
                // Thread w runs parts w, w + T, w + 2T, … of the job (T: the threads it runs on).
                int parts = team.Parts, threads = Math.Min(parts, team.Size);
                for (int p = self.Index; p < parts; p += threads) team.Body(team.State, p);
            }
            catch (Exception e) { Interlocked.CompareExchange(ref team.Error, e, null); }
            if (Interlocked.Decrement(ref team.Pending) == 0) team.Done.Set();
        }
    }
}
