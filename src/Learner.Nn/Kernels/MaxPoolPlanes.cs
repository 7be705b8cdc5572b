using System.Buffers;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Learner.Nn.Kernels;

/// <summary>
/// Max pooling of planes with narrow outputs (fewer than 16 per row: the ResNet-18 preset's 3×3 stride-2 pool from 16×16
/// to 8×8), a whole plane at a time: a table built once per call says, for every window tap and output, which plane
/// element it reads (or that it falls in the padding), and each plane is then 8 outputs per vector, every tap one AVX2
/// gather and the compares and blends of <see cref="MaxPoolWindows"/>. Per output row the row kernel would spend more
/// on splitting input rows and filling buffers than on the maxima.
/// </summary>
/// <remarks>The rule and the tap order are <see cref="MaxPoolWindows"/>' (rows of the window top to bottom, each left to
/// right; a value replaces the running one when greater or NaN; padding is −∞ and never taken; the arg-max starts at the
/// window's first position inside the plane), so the maxima and the gradient are the same bits.</remarks>
internal sealed unsafe class MaxPoolPlanes
{
    /// <summary>The largest table (taps × outputs) built.</summary>
    internal const int MaxEntries = 1 << 14;

    private readonly int[] _table, _first; // index then keep (WindowTaps), and each output's first position in the plane
    private readonly int _taps, _outputs, _padded;

    /// <summary>Whether planes of this geometry are pooled whole: 2-D windows (<see cref="MaxPoolWindows.Applies"/>)
    /// with outputs narrower than 16, a table of at most <see cref="MaxEntries"/>, and AVX2 gathers.</summary>
    internal static bool Applies(in ConvGeometry g) =>
        Avx2.IsSupported && MaxPoolWindows.Applies(g) && g.OW < 16 && (long)Pad8(g.OutSpatial) * g.KH * g.KW <= MaxEntries;

    private static int Pad8(int n) => (n + 7) & ~7;

    /// <summary>Builds the table of a geometry that <see cref="Applies"/> (rented: <see cref="Return"/> it).</summary>
    internal MaxPoolPlanes(in ConvGeometry g)
    {
        _taps = g.KH * g.KW;
        _outputs = g.OutSpatial;
        _padded = Pad8(_outputs);
        _table = ArrayPool<int>.Shared.Rent(2 * _taps * _padded);
        _first = ArrayPool<int>.Shared.Rent(_padded);
        fixed (int* t = _table)
            WindowTaps.Fill(t, t + _taps * _padded, g.H, g.W, g.OH, g.OW, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, 1, 0, _padded);
        for (int o = 0; o < _padded; o++)
            _first[o] = o >= _outputs ? 0 : Math.Max(o / g.OW * g.SH - g.PH, 0) * g.W + Math.Max(o % g.OW * g.SW - g.PW, 0);
    }

    /// <summary>Gives the table back to the pool.</summary>
    internal void Return()
    {
        ArrayPool<int>.Shared.Return(_table);
        ArrayPool<int>.Shared.Return(_first);
    }

    /// <summary>y = the window maxima of one plane.</summary>
    internal void Forward(ReadOnlySpan<float> x, Span<float> y)
    {
        Span<float> m = stackalloc float[8];
        Span<int> arg = stackalloc int[8];
        for (int o = 0; o < _outputs; o += 8)
        {
            Chunk(x, o, m, arg);
            m.Slice(0, Math.Min(8, _outputs - o)).CopyTo(y.Slice(o));
        }
    }

    /// <summary>gx = the output gradient of one plane added at each window's arg-max, outputs in order (gx is cleared first).</summary>
    internal void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> gy, Span<float> gx)
    {
        Span<float> m = stackalloc float[8];
        Span<int> arg = stackalloc int[8];
        gx.Clear();
        for (int o = 0; o < _outputs; o += 8)
        {
            Chunk(x, o, m, arg);
            int count = Math.Min(8, _outputs - o);
            for (int j = 0; j < count; j++) gx[arg[j]] += gy[o + j];
        }
    }

    /// <summary>The maxima and arg-maxima of outputs o … o + 7 (lanes past the plane hold −∞ and index 0).</summary>
    private void Chunk(ReadOnlySpan<float> x, int o, Span<float> m, Span<int> arg)
    {
        fixed (float* px = x)
        fixed (int* table = _table, first = _first)
        {
            int* index = table, keep = table + _taps * _padded;
            var max = Vector256.Create(float.NegativeInfinity);
            var at = Vector256.Load(first + o);
            var minusInf = Vector256.Create(float.NegativeInfinity);
            for (int t = 0; t < _taps; t++)
            {
                int* ix = index + t * _padded + o;
                var idx = Vector256.Load(ix);
                var v = Vector256.ConditionalSelect(Vector256.Load(keep + t * _padded + o).AsSingle(), Avx2.GatherVector256(px, idx, 4), minusInf);
                var take = Vector256.GreaterThan(v, max) | ~Vector256.Equals(v, v);
                max = Vector256.ConditionalSelect(take, v, max);
                at = Vector256.ConditionalSelect(take.AsInt32(), idx, at);
            }
            fixed (float* pm = m) max.Store(pm);
            fixed (int* pa = arg) at.Store(pa);
        }
    }
}
