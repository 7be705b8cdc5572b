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
/// One job runs at a time; a call made while another is in flight (or from inside a part) runs all parts on the
/// calling thread, so nesting is safe. Parts must not depend on running concurrently. It is the engine's only parallel
/// runtime: GEMM, convolution, the row-wise kernels and the elementwise maps all run on it (none uses Parallel.For).
/// </summary>
public static unsafe class WorkerPool
{
    private sealed class Worker
    {
        public readonly ManualResetEventSlim Start = new(false, spinCount: 1);
        public int Part;
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

    private readonly struct AllDone : ISpinCondition
    {
        public bool IsTrue => Volatile.Read(ref _pending) == 0;
    }

    private static int _busy;
    private static readonly ManualResetEventSlim Done = new(false, spinCount: 1);
    private static Worker[] _workers = Array.Empty<Worker>();
    private static delegate*<void*, int, void> _body;
    private static void* _state;
    private static int _pending;
    private static Exception? _error;

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

    /// <summary>Runs <paramref name="body"/>(state, p) for every part; false (nothing run) when the pool is busy.</summary>
    internal static bool TryRun(void* state, delegate*<void*, int, void> body, int parts)
    {
        // Not a Monitor: it is re-entrant, and a part that calls back into the pool on the caller's thread must get
        // the serial path, not overwrite the job in flight.
        _ = SpinTicks; // a bad LEARNER_WORKER_SPIN_US throws here, on the caller, not on a worker thread
        if (Interlocked.CompareExchange(ref _busy, 1, 0) != 0) return false;
        try
        {
            EnsureWorkers(parts - 1);
            _state = state;
            _body = body;
            _error = null;
            Volatile.Write(ref _pending, parts - 1);
            Done.Reset();
            for (int w = 0; w < parts - 1; w++)
            {
                _workers[w].Part = w + 1;
                _workers[w].Start.Set();
            }
            try { body(state, 0); }
            finally
            {
                // Spin while the workers finish, then wait for Done itself: the last worker sets it just after its
                // decrement, and a Set landing after the next job's Reset would end that job early.
                SpinUntil(new AllDone());
                Done.Wait();
            }
            if (_error is not null) throw new AggregateException("A Learner.Nn worker thread failed.", _error);
            return true;
        }
        finally
        {
            _state = null;
            Volatile.Write(ref _busy, 0);
        }
    }

    private static void EnsureWorkers(int count)
    {
        if (_workers.Length >= count) return;
        var grown = new Worker[count];
        Array.Copy(_workers, grown, _workers.Length);
        for (int w = _workers.Length; w < count; w++)
        {
            var worker = new Worker();
            grown[w] = worker;
            var thread = new Thread(Loop, 256 * 1024) { IsBackground = true, Name = $"Learner.Nn worker {w + 1}" };
            thread.Start(worker);
        }
        _workers = grown;
    }

    private static void Loop(object? state)
    {
        var self = (Worker)state!;
        while (true)
        {
            if (!SpinUntil(new Started(self))) self.Start.Wait();
            self.Start.Reset();
            try { _body(_state, self.Part); }
            catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
            if (Interlocked.Decrement(ref _pending) == 0) Done.Set();
        }
    }
}
