namespace Learner.Nn.Kernels;

/// <summary>One block of a batched convolution: output positions [P0, P0 + Cols) of samples [N0, N1).</summary>
internal readonly record struct ConvBlock(int N0, int N1, int P0, int Cols)
{
    /// <summary>Samples in the block.</summary>
    public int Samples => N1 - N0;

    /// <summary>Columns of the block's matrices: the samples' output positions side by side.</summary>
    public int Width => Samples * Cols;
}

/// <summary>
/// How a convolution's batch is cut into the blocks of <see cref="ConvKernels"/>: enough whole samples per block for
/// <see cref="MinColumns"/> output positions and <see cref="MinBlockMacs"/> multiply–adds per GEMM, as far as its im2col and output matrices stay within
/// <see cref="ConvKernels.MaxColElements"/>, the batch split evenly; a sample too large for that is cut into column
/// tiles (multiples of 16 output positions, the last one shorter). Batches of samples too small to split a GEMM over the
/// cores are cut into <see cref="Independent"/> blocks of <see cref="MinColumns"/> columns instead.
/// </summary>
/// <remarks>Depends on the geometry only — never on the machine or its core count — because the weight gradient is
/// summed block by block in this order.</remarks>
internal readonly struct ConvBlocks
{
    /// <summary>Columns a block aims for: samples with fewer output positions are batched up to this many, larger ones
    /// are a block each (a wider block no longer helps the GEMMs, and its im2col matrix falls out of the L2 cache).</summary>
    internal const int MinColumns = 256;

    /// <summary>Multiply–adds a block's GEMM (one group) aims for: twice the size from which <see cref="Gemm"/> splits a
    /// product over the cores, so that the small convolutions of narrow networks still run on every core.</summary>
    internal const long MinBlockMacs = 2 * Gemm.ParallelThreshold;

    /// <summary>Samples whose GEMMs (all groups) stay below this many multiply–adds, with at most
    /// <see cref="MaxIndependentRows"/> rows, are too small to split over the cores: their blocks run one per core
    /// instead (<see cref="Independent"/>).</summary>
    internal const long MaxIndependentSampleMacs = MinBlockMacs;

    /// <summary>Most output channels per group for <see cref="Independent"/> blocks: narrower GEMMs (few rows) split
    /// poorly over the cores; wider ones (ResNet-18's 1×1 shortcuts) keep the split GEMMs.</summary>
    internal const int MaxIndependentRows = 64;

    /// <summary>Largest total of the per-block weight-gradient partials of <see cref="Independent"/> blocks, in elements.</summary>
    internal const int MaxPartialElements = ConvKernels.MaxColElements;

    private readonly int _n, _samplesPerBlockCount, _tile, _tilesPerSample, _os;

    internal ConvBlocks(in ConvGeometry g)
    {
        _n = g.N;
        _os = g.OutSpatial;
        long rows = Math.Max(1, Math.Max(g.K, g.Cout));
        long perSample = rows * Math.Max(1, _os);
        if (perSample <= ConvKernels.MaxColElements)
        {
            long groupMacs = Math.Max(1, (long)g.CoutG * g.Kg * _os);
            long byColumns = (MinColumns + _os - 1) / Math.Max(1, _os);
            int maxPerBlock = (int)Math.Max(1, ConvKernels.MaxColElements / perSample);
            // Narrow convolutions: blocks of MinColumns columns run side by side, each on one core, with a
            // weight-gradient partial of its own (summed in block order afterwards).
            int independent = BlockCount(_n, (int)Math.Clamp(byColumns, 1, maxPerBlock));
            Independent = _n >= 2 && g.CoutG <= MaxIndependentRows && groupMacs * g.Groups < MaxIndependentSampleMacs && independent >= 2
                && (long)independent * g.Cout * g.Kg <= MaxPartialElements;
            long wanted = Independent ? byColumns : Math.Max(byColumns, (MinBlockMacs + groupMacs - 1) / groupMacs);
            _samplesPerBlockCount = BlockCount(_n, (int)Math.Clamp(wanted, 1, maxPerBlock));
            _tile = _os;
            _tilesPerSample = 1;
            Count = _n == 0 ? 0 : _samplesPerBlockCount;
            MaxWidth = _n == 0 ? 0 : (_n + Count - 1) / Count * _os;
        }
        else
        {
            _tile = (int)Math.Min(_os, Math.Max(16, ConvKernels.MaxColElements / rows / 16 * 16));
            _tilesPerSample = (_os + _tile - 1) / _tile;
            _samplesPerBlockCount = 0;
            Count = _n * _tilesPerSample;
            MaxWidth = _tile;
        }
    }

    private static int BlockCount(int n, int perBlock) => Math.Max(1, (n + perBlock - 1) / perBlock);

    /// <summary>The blocks are whole samples whose GEMMs are too small to split over the cores: they run in parallel,
    /// each single-threaded, the weight gradient as one partial per block summed in block order (so still independent
    /// of the core count). Otherwise the blocks run one after another, each GEMM split over the cores.</summary>
    internal bool Independent { get; }

    /// <summary>Number of blocks.</summary>
    internal int Count { get; }

    /// <summary>The widest block's <see cref="ConvBlock.Width"/> (the workspace size per matrix row).</summary>
    internal int MaxWidth { get; }

    /// <summary>Block <paramref name="i"/>, in the order the weight gradient is summed.</summary>
    internal ConvBlock this[int i]
    {
        get
        {
            if (_tilesPerSample == 1)
            {
                int blocks = _samplesPerBlockCount;
                return new ConvBlock((int)((long)_n * i / blocks), (int)((long)_n * (i + 1) / blocks), 0, _os);
            }
            int n = i / _tilesPerSample, p0 = i % _tilesPerSample * _tile;
            return new ConvBlock(n, n + 1, p0, Math.Min(_tile, _os - p0));
        }
    }
}
