using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Learner.Nn.Kernels;

/// <summary>
/// Max pooling of 2-D planes with any window, stride and padding (ResNet's 3×3 stride-2 padding-1 pool after the
/// ImageNet stem), without a data-dependent branch: for one output row, each window tap's values across the row's
/// outputs are gathered into a buffer (padding as −∞), then merged into the running maximum and its arg-max with vector
/// compares and blends, taps in the scalar loop's order (rows of the window top to bottom, each left to right).
/// </summary>
/// <remarks>
/// The rule is the scalar loop's, bit for bit: a value replaces the running one when it is greater or NaN, so the
/// result is the first maximum in scan order (the first of tied values, −0 and +0 included) or the last NaN; the
/// arg-max starts at the window's first position inside the plane, which a window of −∞ keeps. Padding gathered as −∞
/// is never taken, which is the scalar loop's clamping. The general loop mispredicted on about every other element of
/// random activations; this is the gathered loads and two blends per tap and output.
/// </remarks>
internal static class MaxPoolWindows
{
    /// <summary>Widest output row handled (the row buffers are on the stack).</summary>
    internal const int MaxRow = 1024;

    /// <summary>Whether this kernel pools the geometry: 2-D (a depth window of 1), outputs at most <see cref="MaxRow"/>
    /// wide, and 256- or 128-bit vectors accelerated.</summary>
    internal static bool Applies(in ConvGeometry g) =>
        g.D == 1 && g.KD == 1 && g.SD == 1 && g.PD == 0 && g.OD == 1 && g.OW >= 1 && g.OW <= MaxRow
        && (Vector256.IsHardwareAccelerated || Vector128.IsHardwareAccelerated);

    /// <summary>y = the window maxima of one plane (H × W → OH × OW).</summary>
    internal static void Forward(in ConvGeometry g, ReadOnlySpan<float> x, Span<float> y)
    {
        int width = Padded(g.OW);
        Span<float> tap = stackalloc float[TapLength(g, width)], m = stackalloc float[width];
        Span<int> arg = stackalloc int[width];
        for (int oh = 0; oh < g.OH; oh++)
        {
            Row(g, x, oh, tap, m, arg);
            m.Slice(0, g.OW).CopyTo(y.Slice(oh * g.OW, g.OW));
        }
    }

    /// <summary>gx = the output gradient of one plane added at each window's arg-max, outputs in order (gx is cleared first).</summary>
    internal static void Backward(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> gy, Span<float> gx)
    {
        int width = Padded(g.OW);
        Span<float> tap = stackalloc float[TapLength(g, width)], m = stackalloc float[width];
        Span<int> arg = stackalloc int[width];
        gx.Clear();
        for (int oh = 0; oh < g.OH; oh++)
        {
            Row(g, x, oh, tap, m, arg);
            ReadOnlySpan<float> g0 = gy.Slice(oh * g.OW, g.OW);
            for (int ow = 0; ow < g0.Length; ow++) gx[arg[ow]] += g0[ow];
        }
    }

    private static int Padded(int ow) => (ow + 7) & ~7;

    /// <summary>The tap buffer: one row of taps, or at stride 2 the row's two column phases with room for every tap's
    /// shift (<see cref="Phases"/>).</summary>
    private static int TapLength(in ConvGeometry g, int width) => g.SW == 2 ? 2 * PhaseLength(g, width) : width;

    /// <summary>One column phase of a padded row at stride 2: the widest tap shift (kw / 2) past a padded row of outputs.</summary>
    private static int PhaseLength(in ConvGeometry g, int width) => Math.Max(width + (g.KW - 1) / 2, (g.W + 2 * g.PW + 1) / 2);

    /// <summary>Splits input row <paramref name="row"/>, padded by pw, into its even and odd padded columns (−∞ where
    /// padding): tap kw of output j reads padded column 2j + kw, element j + kw / 2 of phase kw mod 2.</summary>
    private static void Phases(in ConvGeometry g, ReadOnlySpan<float> row, Span<float> phases, int length)
    {
        phases.Slice(0, 2 * length).Fill(float.NegativeInfinity);
        for (int iw = 0; iw < row.Length; iw++)
        {
            int p = iw + g.PW;
            phases[(p & 1) * length + (p >> 1)] = row[iw];
        }
    }

    /// <summary>The maxima <paramref name="m"/> and arg-maxima <paramref name="arg"/> (plane indices) of output row
    /// <paramref name="oh"/>; lanes past OW hold −∞ and a valid index.</summary>
    private static void Row(in ConvGeometry g, ReadOnlySpan<float> x, int oh, Span<float> tap, Span<float> m, Span<int> arg)
    {
        int ow = g.OW, width = m.Length, h0 = Math.Max(oh * g.SH - g.PH, 0);
        m.Fill(float.NegativeInfinity);
        if (g.SW != 2) tap.Slice(ow).Fill(float.NegativeInfinity);
        int phase = g.SW == 2 ? PhaseLength(g, width) : 0;
        for (int j = 0; j < width; j++) arg[j] = h0 * g.W + Math.Max(Math.Min(j, ow - 1) * g.SW - g.PW, 0);
        for (int kh = 0; kh < g.KH; kh++)
        {
            int ih = oh * g.SH - g.PH + kh;
            if ((uint)ih >= (uint)g.H) continue;
            ReadOnlySpan<float> row = x.Slice(ih * g.W, g.W);
            if (g.SW == 2)
            {
                // Each tap's values are a slice of one column phase: no per-element gather. Lanes past the row's
                // outputs read −∞ or values of later columns, and are never kept.
                Phases(g, row, tap, phase);
                for (int kw = 0; kw < g.KW; kw++)
                    Merge(tap.Slice((kw & 1) * phase + (kw >> 1), width), m, arg, ih * g.W + kw - g.PW, 2);
                continue;
            }
            for (int kw = 0; kw < g.KW; kw++)
            {
                int off = kw - g.PW;
                // The tap's value at every output of the row; outside the plane, −∞ (never taken).
                if (g.SW == 1)
                {
                    var (lo, hi) = ConvGeometry.ValidRange(off, 1, g.W, ow);
                    tap.Slice(0, lo).Fill(float.NegativeInfinity);
                    row.Slice(lo + off, hi - lo).CopyTo(tap.Slice(lo));
                    tap.Slice(hi, ow - hi).Fill(float.NegativeInfinity);
                }
                else
                    for (int j = 0; j < ow; j++)
                    {
                        int iw = j * g.SW + off;
                        tap[j] = (uint)iw < (uint)g.W ? row[iw] : float.NegativeInfinity;
                    }
                Merge(tap, m, arg, ih * g.W + off, g.SW);
            }
        }
    }

    /// <summary>Where <c>tap[j]</c> &gt; <c>m[j]</c> or is NaN: <c>m[j] = tap[j]</c>, <c>arg[j] = first + j·step</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Merge(ReadOnlySpan<float> tap, Span<float> m, Span<int> arg, int first, int step)
    {
        ref float t = ref MemoryMarshal.GetReference(tap);
        ref float mr = ref MemoryMarshal.GetReference(m);
        ref int ar = ref MemoryMarshal.GetReference(arg);
        int n = m.Length, j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var lane = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * step;
            for (; j < n; j += 8)
            {
                var v = Vector256.LoadUnsafe(ref t, (nuint)j);
                var cur = Vector256.LoadUnsafe(ref mr, (nuint)j);
                var take = Vector256.GreaterThan(v, cur) | ~Vector256.Equals(v, v);
                Vector256.ConditionalSelect(take, v, cur).StoreUnsafe(ref mr, (nuint)j);
                var at = Vector256.Create(first + j * step) + lane;
                Vector256.ConditionalSelect(take.AsInt32(), at, Vector256.LoadUnsafe(ref ar, (nuint)j)).StoreUnsafe(ref ar, (nuint)j);
            }
            return;
        }
        var lane4 = Vector128.Create(0, 1, 2, 3) * step;
        for (; j < n; j += 4)
        {
            var v = Vector128.LoadUnsafe(ref t, (nuint)j);
            var cur = Vector128.LoadUnsafe(ref mr, (nuint)j);
            var take = Vector128.GreaterThan(v, cur) | ~Vector128.Equals(v, v);
            Vector128.ConditionalSelect(take, v, cur).StoreUnsafe(ref mr, (nuint)j);
            var at = Vector128.Create(first + j * step) + lane4;
            Vector128.ConditionalSelect(take.AsInt32(), at, Vector128.LoadUnsafe(ref ar, (nuint)j)).StoreUnsafe(ref ar, (nuint)j);
        }
    }
}
