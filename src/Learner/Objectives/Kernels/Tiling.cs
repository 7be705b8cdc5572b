namespace Learner.Objectives.Kernels;

/// <summary>Row tiling of the B×N similarity / distance matrices: each tile holds whole rows, about
/// <see cref="TileElements"/> values (8 MB), so memory stays O(tile·N) however large the batch.</summary>
internal static class Tiling
{
    /// <summary>Target elements per tile. Internal and settable so that tests can force many small tiles.</summary>
    internal static int TileElements { get; set; } = 1 << 21;

    /// <summary>Rows in [<paramref name="rowsTotal"/>'s] tile for rows of <paramref name="columns"/> values.</summary>
    public static int Rows(int rowsTotal, int columns) => Math.Clamp(TileElements / Math.Max(columns, 1), 1, Math.Max(rowsTotal, 1));

    /// <summary>Minimum elements in a tile before its rows are split over cores.</summary>
    internal static int ParallelThreshold { get; set; } = 1 << 15;

    /// <summary>Workers for row-parallel loops.</summary>
    public static int Workers => Math.Min(Learner.Nn.Kernels.WorkerPool.Threads, 8);
}

/// <summary>Work on a range of rows of a tile, run by one worker.</summary>
internal interface IRowJob
{
    /// <summary>Processes rows [<paramref name="r0"/>, <paramref name="r1"/>) with worker-private scratch <paramref name="worker"/>.</summary>
    void Run(int r0, int r1, int worker);
}

/// <summary>Runs row jobs serially, or split over the cores when the tile is large enough.</summary>
internal static class RowParallel
{
    /// <summary>Runs <paramref name="job"/> over <paramref name="rows"/> rows of <paramref name="columns"/> values.
    /// The serial path allocates nothing.</summary>
    public static void Run<TJob>(TJob job, int rows, int columns) where TJob : struct, IRowJob
    {
        int workers = Tiling.Workers;
        if (workers > 1 && rows > 1 && (long)rows * columns >= Tiling.ParallelThreshold) Split(job, rows, workers);
        else job.Run(0, rows, 0);
    }

    private static void Split<TJob>(TJob job, int rows, int workers) where TJob : struct, IRowJob
    {
        // On the engine's own worker threads (not the thread pool, whose idle spinning steals the cores from the GEMMs
        // around this loop on small machines).
        var parts = new Parts<TJob> { Job = job, Rows = rows, Per = (rows + workers - 1) / workers };
        Learner.Nn.Kernels.WorkerPool.Run(ref parts, workers);
    }

    private struct Parts<TJob> : Learner.Nn.Kernels.IParallelJob where TJob : struct, IRowJob
    {
        public TJob Job;
        public int Rows, Per;

        public readonly void RunPart(int part) => Job.Run(part * Per, Math.Min(Rows, (part + 1) * Per), part);
    }
}
