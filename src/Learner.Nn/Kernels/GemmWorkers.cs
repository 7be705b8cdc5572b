namespace Learner.Nn.Kernels;

/// <summary>A GEMM split into <see cref="Parts"/> slabs of C along rows (or columns), each a whole number of register tiles.</summary>
internal struct GemmJob
{
    public GemmProblem Problem;
    public GemmBlocking Blocking;
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

/// <summary>Runs a GEMM job's parts on the engine's <see cref="WorkerPool"/>.</summary>
internal static unsafe class GemmWorkers
{
    private struct Adapter : IParallelJob
    {
        public GemmJob Job;
        public delegate*<in GemmJob, int, void> Body;

        public readonly void RunPart(int part) => Body(Job, part);
    }

    /// <summary>Runs every part of <paramref name="job"/> (on the pool when it is free, else on this thread).</summary>
    internal static void Run(in GemmJob job, delegate*<in GemmJob, int, void> body)
    {
        var adapter = new Adapter { Job = job, Body = body };
        WorkerPool.Run(ref adapter, Math.Max(1, job.Parts));
    }
}
