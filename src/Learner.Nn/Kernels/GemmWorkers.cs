namespace Learner.Nn.Kernels;

/// <summary>A GEMM split into <see cref="Parts"/> slabs of C along rows (or columns), each a whole number of register tiles.</summary>
internal struct GemmJob
{
    public GemmProblem Problem;
    public int Parts;
    public bool SplitRows;
    /// <summary>Register-tile count along the split axis.</summary>
    public int Units;
    /// <summary>Register-tile extent along the split axis (MR or NR).</summary>
    public int Unit;

    /// <summary>The half-open range of the split axis that part <paramref name="part"/> computes.</summary>
    public readonly (int Start, int End) Range(int part)
    {
        int extent = SplitRows ? Problem.M : Problem.N;
        int start = (int)((long)Units * part / Parts) * Unit;
        int end = (int)((long)Units * (part + 1) / Parts) * Unit;
        return (Math.Min(start, extent), Math.Min(end, extent));
    }
}

/// <summary>
/// A small persistent team of background threads for GEMM: the calling thread runs part 0 and parked workers run
/// the other parts. No allocation per call (the work is a function pointer over static job state), no thread-pool
/// queueing latency. One call at a time uses the team; a concurrent caller is told to run on its own thread instead.
/// </summary>
internal static unsafe class GemmWorkers
{
    private sealed class Worker
    {
        public readonly ManualResetEventSlim Start = new(false);
        public int Part;
    }

    private static readonly object Gate = new();
    private static readonly ManualResetEventSlim Done = new(false);
    private static Worker[] _workers = Array.Empty<Worker>();
    private static delegate*<in GemmJob, int, void> _body;
    private static GemmJob _job;
    private static int _pending;
    private static Exception? _error;

    /// <summary>
    /// Runs <c>body(job, 0 .. job.Parts−1)</c>, part 0 on the calling thread, and returns true; or returns false without
    /// running anything when another call holds the team (the caller then does the work alone).
    /// </summary>
    internal static bool TryRun(in GemmJob job, delegate*<in GemmJob, int, void> body)
    {
        int parts = job.Parts;
        if (parts <= 1)
        {
            body(job, 0);
            return true;
        }
        if (!Monitor.TryEnter(Gate)) return false;
        try
        {
            EnsureWorkers(parts - 1);
            _job = job;
            _body = body;
            _error = null;
            Volatile.Write(ref _pending, parts - 1);
            Done.Reset();
            for (int w = 0; w < parts - 1; w++)
            {
                _workers[w].Part = w + 1;
                _workers[w].Start.Set();
            }
            try { body(_job, 0); }
            finally { Done.Wait(); }
            if (_error is not null) throw new AggregateException("A GEMM worker thread failed.", _error);
            return true;
        }
        finally
        {
            Monitor.Exit(Gate);
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
            var thread = new Thread(Loop, 256 * 1024) { IsBackground = true, Name = $"Learner.Nn GEMM worker {w + 1}" };
            thread.Start(worker);
        }
        _workers = grown;
    }

    private static void Loop(object? state)
    {
        var self = (Worker)state!;
        while (true)
        {
            self.Start.Wait();
            self.Start.Reset();
            try { _body(_job, self.Part); }
            catch (Exception e) { Interlocked.CompareExchange(ref _error, e, null); }
            if (Interlocked.Decrement(ref _pending) == 0) Done.Set();
        }
    }
}
