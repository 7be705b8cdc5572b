using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Learner.Nn.Kernels;

/// <summary>
/// Max pooling at stride 2 of planes 16 wide into 8 outputs a row, with AVX-512 (the ResNet-18 preset's 3×3/s2/p1 pool
/// from 16×16 to 8×8): an input row is one register, two output rows are one vector, and every tap of both rows is one
/// two-source permute of the two input rows it reads — no gather and no buffer per row.
/// </summary>
/// <remarks>The rule and the tap order are <see cref="MaxPoolWindows"/>' (rows of the window top to bottom, each left to
/// right; a value replaces the running one when greater or NaN; padding is −∞ and never taken; the arg-max starts at the
/// window's first position inside the plane), so the maxima and the gradient are the same bits.</remarks>
internal static unsafe class MaxPoolRows16
{
    /// <summary>Whether this kernel pools the geometry: 2-D windows of at most 4 columns over planes 16 wide, stride 2
    /// along the row into 8 outputs, and AVX-512.</summary>
    internal static bool Applies(in ConvGeometry g) =>
        Avx512F.IsSupported && MaxPoolWindows.Applies(g) && g.W == 16 && g.SW == 2 && g.OW == 8 && g.KW <= 4;

    /// <summary>y = the window maxima of one plane.</summary>
    internal static void Forward(in ConvGeometry g, ReadOnlySpan<float> x, Span<float> y)
    {
        fixed (float* px = x, py = y)
            for (int oh = 0; oh < g.OH; oh += 2)
            {
                Pair(g, px, oh, out var max, out _);
                if (oh + 1 < g.OH) max.Store(py + oh * 8);
                else max.GetLower().Store(py + oh * 8);
            }
    }

    /// <summary>gx = the output gradient of one plane added at each window's arg-max, outputs in order (gx is cleared first).</summary>
    internal static void Backward(in ConvGeometry g, ReadOnlySpan<float> x, ReadOnlySpan<float> gy, Span<float> gx)
    {
        gx.Clear();
        int* arg = stackalloc int[16];
        fixed (float* px = x)
            for (int oh = 0; oh < g.OH; oh += 2)
            {
                Pair(g, px, oh, out _, out var at);
                at.Store(arg);
                int count = oh + 1 < g.OH ? 16 : 8;
                for (int j = 0; j < count; j++) gx[arg[j]] += gy[oh * 8 + j];
            }
    }

    /// <summary>The maxima and arg-maxima of output rows <paramref name="oh"/> (lanes 0–7) and oh + 1 (lanes 8–15; past
    /// the plane they read −∞ only).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pair(in ConvGeometry g, float* x, int oh, out Vector512<float> max, out Vector512<int> at)
    {
        var minusInf = Vector512.Create(float.NegativeInfinity);
        var lane = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
        var upper = Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        max = minusInf;
        // The window's first position inside the plane, per output.
        int h0 = Math.Max(oh * g.SH - g.PH, 0), h1 = Math.Max((oh + 1) * g.SH - g.PH, 0);
        at = Vector512.Max(lane * 2 - Vector512.Create(g.PW), Vector512<int>.Zero)
             + Vector512.ConditionalSelect(upper.AsInt32() * -1, Vector512.Create(h1 * 16), Vector512.Create(h0 * 16));
        for (int kh = 0; kh < g.KH; kh++)
        {
            int ia = oh * g.SH - g.PH + kh, ib = ia + g.SH;
            bool inA = (uint)ia < (uint)g.H, inB = (uint)ib < (uint)g.H && oh + 1 < g.OH;
            if (!inA && !inB) continue;
            var rowA = inA ? Vector512.Load(x + ia * 16) : minusInf;
            var rowB = inB ? Vector512.Load(x + ib * 16) : minusInf;
            var rows = Vector512.ConditionalSelect(upper * -1, Vector512.Create(ib * 16), Vector512.Create(ia * 16));
            for (int kw = 0; kw < g.KW; kw++)
            {
                // Column 2·ow + kw − pw of row a (lanes 0–7) or row b (lanes 8–15; index bit 4).
                var col = lane * 2 + Vector512.Create(kw - g.PW);
                var inside = Vector512.GreaterThanOrEqual(col, Vector512<int>.Zero) & Vector512.LessThan(col, Vector512.Create(16));
                var index = (col & Vector512.Create(15)) + upper * 16;
                var v = Vector512.ConditionalSelect(inside.AsSingle(), Avx512F.PermuteVar16x32x2(rowA, index, rowB), minusInf);
                var take = Vector512.GreaterThan(v, max) | ~Vector512.Equals(v, v);
                max = Vector512.ConditionalSelect(take, v, max);
                at = Vector512.ConditionalSelect(take.AsInt32(), rows + col, at);
            }
        }
    }
}
