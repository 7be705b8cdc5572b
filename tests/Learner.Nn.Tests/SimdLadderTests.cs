using Learner.Nn.Kernels;
using Learner.Nn.Optim;

namespace Learner.Nn.Tests;

/// <summary>Every rung of the SIMD ladder (512/256/128 where the machine accelerates them, and scalar) against scalar references.</summary>
public class SimdLadderTests
{
    public static TheoryData<string> Widths()
    {
        var data = new TheoryData<string>();
        foreach (var w in Simd.Supported()) data.Add(w.ToString());
        return data;
    }

    /// <summary>The vector rungs only: for tests whose reference is the scalar form itself, the scalar rung would compare
    /// it with itself.</summary>
    public static TheoryData<string> VectorWidths()
    {
        var data = new TheoryData<string>();
        foreach (var w in Simd.Supported().Where(w => w != SimdWidth.Scalar)) data.Add(w.ToString());
        return data;
    }

    private static SimdWidth W(string name) => Enum.Parse<SimdWidth>(name);

    private static readonly int[] Lengths = { 0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 100, 1000 };

    private static float[] Random(Rng rng, int n, float lo = -3f, float hi = 3f)
    {
        var x = new float[n];
        rng.FillUniform(x, lo, hi);
        return x;
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void Double_accumulated_reductions_match_the_scalar_reference(string width)
    {
        var rng = new Rng(3);
        foreach (int n in Lengths)
        {
            var x = Random(rng, n);
            var y = Random(rng, n);
            double sum = 0, dot = 0, sq = 0, abs = 0;
            for (int i = 0; i < n; i++)
            {
                sum += x[i]; dot += (double)x[i] * y[i]; sq += ((double)x[i] - y[i]) * ((double)x[i] - y[i]); abs += Math.Abs(x[i]) + Math.Abs((double)x[i] * y[i]);
            }
            double tol = 1e-14 * (abs + 1) * (n + 1);
            Simd.Sum(x, W(width)).Should().BeApproximately(sum, tol, $"n = {n}");
            Simd.Dot(x, y, W(width)).Should().BeApproximately(dot, tol, $"n = {n}");
            Simd.SquaredDistance(x, y, W(width)).Should().BeApproximately(sq, tol * 8, $"n = {n}");
            Simd.MaxNoNaN(x, W(width)).Should().Be(n == 0 ? float.NegativeInfinity : x.Max(), $"n = {n}");
        }
    }

    [Theory]
    [MemberData(nameof(Widths))]
    public void The_finiteness_scan_finds_the_first_NaN_or_infinity_at_every_position(string width)
    {
        var rng = new Rng(5);
        foreach (int n in Lengths)
        {
            var x = Random(rng, n, -1e30f, 1e30f);
            x[..Math.Min(n, 3)].AsSpan().Fill(float.MaxValue);  // the largest finite value is not flagged
            Simd.IndexOfNonFinite(x, W(width)).Should().Be(-1, $"n = {n}");
            foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
                for (int at = 0; at < n; at += Math.Max(1, n / 7))
                {
                    var y = (float[])x.Clone();
                    y[at] = bad;
                    if (at + 5 < n) y[at + 5] = float.NaN;  // a later one must not be reported instead
                    Simd.IndexOfNonFinite(y, W(width)).Should().Be(at, $"n = {n}, {bad} at {at}");
                }
        }
    }

    [Fact]
    public void The_scalar_rung_sums_in_order()
    {
        var x = new[] { 1e16f, 1f, -1e16f, 1f };
        Simd.Sum(x, SimdWidth.Scalar).Should().Be(((1e16 + 1) - 1e16) + 1);
        FluentActions.Invoking(() => Simd.Dot(new float[3], new float[2])).Should().Throw<ArgumentException>();
    }

    /// <summary>Each operator at the given rung against its own scalar form, element by element (exactly for the
    /// correctly rounded ones, to a few ulp for those with exp/log, whose vector and scalar implementations differ).</summary>
    [VectorRungsTheory]
    [MemberData(nameof(VectorWidths))]
    public void Elementwise_maps_match_the_scalar_form_at_every_rung(string width)
    {
        var w = W(width);
        var rng = new Rng(5);
        foreach (int n in Lengths)
        {
            var a = Random(rng, n); var b = Random(rng, n); var c = Random(rng, n, 0.1f, 2f);
            Check1(new ReluForward(), a, w, exact: true);
            Check1(new LeakyReluForward(0.1f), a, w, exact: true);
            Check1(new CenteredAffine(0.25f, 1e-9f, 1.5f, -0.5f), a, w, exact: true);
            Check1(new GeluForward(), a, w, exact: false);
            Check1(new GeluTanhForward(), a, w, exact: false);
            Check1(new SoftplusForward(1f, 20f), a, w, exact: false);
            Check1(new ExpShift(1f), a, w, exact: false);
            Check2(new ReluBackward(), a, b, w, exact: true);
            Check2(new MulOp(), a, b, w, exact: true);
            Check2(new TanhBackward(), a, b, w, exact: true);
            Check2(new SoftmaxBackwardOp(0.3f), a, b, w, exact: true);
            Check2(new NormInputGrad(2f, 0.5f, -0.25f, 0.1f, 0f, 0.01f), a, b, w, exact: true);
            Check2(new GeluBackward(), a, b, w, exact: false);
            Check2(new GeluTanhBackward(), a, b, w, exact: false);
            Check2(new SoftplusBackward(2f, 20f), a, b, w, exact: false);
            Check3(new CenteredAffineElementwise(0.1f, 0f, 1.25f), a, b, c, w);
            Check3(new AccumulateNormalizedProduct(0.1f, 0f, 1.25f), a, b, c, w);
        }
    }

    private static void Check1<TOp>(TOp op, float[] x, SimdWidth w, bool exact) where TOp : struct, IVectorOp1
    {
        var y = new float[x.Length];
        VectorMap.Map(op, x, y, w);
        for (int i = 0; i < x.Length; i++) Close(y[i], op.Invoke(x[i]), exact, $"{typeof(TOp).Name} at {i} of {x.Length}, {w}");
        var inPlace = (float[])x.Clone();
        VectorMap.Map(op, inPlace, inPlace, w);
        inPlace.Should().Equal(y, "the map may run in place");
    }

    private static void Check2<TOp>(TOp op, float[] a, float[] b, SimdWidth w, bool exact) where TOp : struct, IVectorOp2
    {
        var y = new float[a.Length];
        VectorMap.Map(op, a, b, y, w);
        for (int i = 0; i < a.Length; i++) Close(y[i], op.Invoke(a[i], b[i]), exact, $"{typeof(TOp).Name} at {i} of {a.Length}, {w}");
    }

    private static void Check3<TOp>(TOp op, float[] a, float[] b, float[] c, SimdWidth w) where TOp : struct, IVectorOp3
    {
        var y = new float[a.Length];
        VectorMap.Map(op, a, b, c, y, w);
        for (int i = 0; i < a.Length; i++) Close(y[i], op.Invoke(a[i], b[i], c[i]), true, $"{typeof(TOp).Name} at {i} of {a.Length}, {w}");
    }

    private static void Close(float actual, float expected, bool exact, string because)
    {
        if (exact) BitConverter.SingleToInt32Bits(actual).Should().Be(BitConverter.SingleToInt32Bits(expected), because);
        else actual.Should().BeApproximately(expected, 4e-6f * Math.Max(1f, Math.Abs(expected)), because);
    }

    /// <summary>The optimizers' updates are bit-identical at every rung (correctly rounded operations only).</summary>
    [VectorRungsTheory]
    [MemberData(nameof(VectorWidths))]
    public void Optimizer_updates_are_bit_identical_at_every_rung(string width)
    {
        var rng = new Rng(9);
        foreach (int n in Lengths)
            foreach (bool amsgrad in new[] { false, true })
            {
                var p0 = Random(rng, n); var g = Random(rng, n); var m0 = Random(rng, n); var v0 = Random(rng, n, 0f, 1f); var vm0 = Random(rng, n, 0f, 1f);
                (float[] P, float[] M, float[] V, float[] Vm) Run(SimdWidth w)
                {
                    var p = (float[])p0.Clone(); var m = (float[])m0.Clone(); var v = (float[])v0.Clone(); var vm = (float[])vm0.Clone();
                    OptimKernels.AdamW(p, g, m, v, amsgrad ? vm : Span<float>.Empty, amsgrad, false, 0.999f, 0.9f, 0.1f, 0.999f, 0.001f, 0.7f, 1e-8f, -1e-3f, w);
                    return (p, m, v, vm);
                }
                var got = Run(W(width));
                var reference = Run(SimdWidth.Scalar);
                got.P.Should().Equal(reference.P);
                got.M.Should().Equal(reference.M);
                got.V.Should().Equal(reference.V);
                got.Vm.Should().Equal(reference.Vm);

                var sp = (float[])p0.Clone(); var sb = (float[])m0.Clone();
                var rp = (float[])p0.Clone(); var rb = (float[])m0.Clone();
                OptimKernels.Sgd(sp, g, sb, false, 0.01f, 0.9f, 0.9f, -0.1f, amsgrad, false, W(width));
                OptimKernels.Sgd(rp, g, rb, false, 0.01f, 0.9f, 0.9f, -0.1f, amsgrad, false, SimdWidth.Scalar);
                sp.Should().Equal(rp);
                sb.Should().Equal(rb);
            }
    }
}
