using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Learner.Nn.Kernels;

namespace Learner.Nn.Optim;

/// <summary>
/// Fused, vectorized parameter updates on the engine's ladder driver (<see cref="Simd.Loop{TBody}"/>: Vector512, 256 or
/// 128, then the scalar form for the remainder). Every element goes through the same sequence of correctly rounded
/// float32 operations at every rung, so results do not depend on the machine's SIMD support. No fused multiply-add is
/// used, for the same reason.
/// </summary>
internal static unsafe class OptimKernels
{
    /// <summary>PyTorch's SGD update of one parameter (see <see cref="Sgd"/>).</summary>
    internal static void Sgd(Span<float> param, ReadOnlySpan<float> grad, Span<float> momentumBuffer, bool firstStep,
        float weightDecay, float momentum, float oneMinusDampening, float negLr, bool nesterov, bool maximize, SimdWidth width = SimdWidth.V512)
    {
        fixed (float* p = param, g = grad, b = momentumBuffer)
        {
            var body = new SgdBody
            {
                P = p, G = g, B = b, FirstStep = firstStep, UseWd = weightDecay != 0f, UseMomentum = momentum != 0f, Nesterov = nesterov,
                Maximize = maximize, Wd = weightDecay, Mom = momentum, Damp = oneMinusDampening, NegLr = negLr,
            };
            Simd.Loop(ref body, param.Length, width);
        }
    }

    /// <summary>PyTorch's AdamW update of one parameter (see <see cref="AdamW"/>).</summary>
    internal static void AdamW(Span<float> param, ReadOnlySpan<float> grad, Span<float> expAvg, Span<float> expAvgSq, Span<float> maxExpAvgSq,
        bool amsgrad, bool maximize, float decay, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
        float biasCorrection2Sqrt, float eps, float negStepSize, SimdWidth width = SimdWidth.V512)
    {
        fixed (float* p = param, g = grad, m = expAvg, v = expAvgSq, vm = maxExpAvgSq)
        {
            var body = new AdamWBody
            {
                P = p, G = g, M = m, V = v, VMax = vm, Amsgrad = amsgrad, Maximize = maximize, Decay = decay, B1 = beta1, Ob1 = oneMinusBeta1,
                B2 = beta2, Ob2 = oneMinusBeta2, Bc2 = biasCorrection2Sqrt, Eps = eps, Step = negStepSize,
            };
            Simd.Loop(ref body, param.Length, width);
        }
    }

    private struct SgdBody : Simd.ILoopBody
    {
        public float* P, G, B;
        public bool FirstStep, UseWd, UseMomentum, Nesterov, Maximize;
        public float Wd, Mom, Damp, NegLr;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At512(nint i)
        {
            var vp = Vector512.Load(P + i);
            var d = Vector512.Load(G + i);
            if (Maximize) d = -d;
            if (UseWd) d += vp * Wd;
            if (UseMomentum)
            {
                var vb = FirstStep ? d : Vector512.Load(B + i) * Mom + d * Damp;
                vb.Store(B + i);
                d = Nesterov ? d + vb * Mom : vb;
            }
            (vp + d * NegLr).Store(P + i);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At256(nint i)
        {
            var vp = Vector256.Load(P + i);
            var d = Vector256.Load(G + i);
            if (Maximize) d = -d;
            if (UseWd) d += vp * Wd;
            if (UseMomentum)
            {
                var vb = FirstStep ? d : Vector256.Load(B + i) * Mom + d * Damp;
                vb.Store(B + i);
                d = Nesterov ? d + vb * Mom : vb;
            }
            (vp + d * NegLr).Store(P + i);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At128(nint i)
        {
            var vp = Vector128.Load(P + i);
            var d = Vector128.Load(G + i);
            if (Maximize) d = -d;
            if (UseWd) d += vp * Wd;
            if (UseMomentum)
            {
                var vb = FirstStep ? d : Vector128.Load(B + i) * Mom + d * Damp;
                vb.Store(B + i);
                d = Nesterov ? d + vb * Mom : vb;
            }
            (vp + d * NegLr).Store(P + i);
        }

        /// <summary>The remainder in the scalar form (correctly rounded, so the same bits as a vector would give).</summary>
        public readonly void Tail(nint i, int count, int lanes)
        {
            for (int k = 0; k < count; k++) At1(i + k);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At1(nint i)
        {
            float vp = P[i];
            float d = G[i];
            if (Maximize) d = -d;
            if (UseWd) d += vp * Wd;
            if (UseMomentum)
            {
                float vb = FirstStep ? d : B[i] * Mom + d * Damp;
                B[i] = vb;
                d = Nesterov ? d + vb * Mom : vb;
            }
            P[i] = vp + d * NegLr;
        }
    }

    private struct AdamWBody : Simd.ILoopBody
    {
        public float* P, G, M, V, VMax;
        public bool Amsgrad, Maximize;
        public float Decay, B1, Ob1, B2, Ob2, Bc2, Eps, Step;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At512(nint i)
        {
            var vg = Vector512.Load(G + i);
            if (Maximize) vg = -vg;
            var vp = Vector512.Load(P + i) * Decay;
            var vmm = Vector512.Load(M + i) * B1 + vg * Ob1;
            var vv = Vector512.Load(V + i) * B2 + Vector512.Create(Ob2) * vg * vg;
            vmm.Store(M + i);
            vv.Store(V + i);
            if (Amsgrad)
            {
                vv = Vector512.Max(Vector512.Load(VMax + i), vv);
                vv.Store(VMax + i);
            }
            var denom = Vector512.Sqrt(vv) / Vector512.Create(Bc2) + Vector512.Create(Eps);
            (vp + Vector512.Create(Step) * (vmm / denom)).Store(P + i);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At256(nint i)
        {
            var vg = Vector256.Load(G + i);
            if (Maximize) vg = -vg;
            var vp = Vector256.Load(P + i) * Decay;
            var vmm = Vector256.Load(M + i) * B1 + vg * Ob1;
            var vv = Vector256.Load(V + i) * B2 + Vector256.Create(Ob2) * vg * vg;
            vmm.Store(M + i);
            vv.Store(V + i);
            if (Amsgrad)
            {
                vv = Vector256.Max(Vector256.Load(VMax + i), vv);
                vv.Store(VMax + i);
            }
            var denom = Vector256.Sqrt(vv) / Vector256.Create(Bc2) + Vector256.Create(Eps);
            (vp + Vector256.Create(Step) * (vmm / denom)).Store(P + i);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At128(nint i)
        {
            var vg = Vector128.Load(G + i);
            if (Maximize) vg = -vg;
            var vp = Vector128.Load(P + i) * Decay;
            var vmm = Vector128.Load(M + i) * B1 + vg * Ob1;
            var vv = Vector128.Load(V + i) * B2 + Vector128.Create(Ob2) * vg * vg;
            vmm.Store(M + i);
            vv.Store(V + i);
            if (Amsgrad)
            {
                vv = Vector128.Max(Vector128.Load(VMax + i), vv);
                vv.Store(VMax + i);
            }
            var denom = Vector128.Sqrt(vv) / Vector128.Create(Bc2) + Vector128.Create(Eps);
            (vp + Vector128.Create(Step) * (vmm / denom)).Store(P + i);
        }

        /// <summary>The remainder in the scalar form (correctly rounded, so the same bits as a vector would give).</summary>
        public readonly void Tail(nint i, int count, int lanes)
        {
            for (int k = 0; k < count; k++) At1(i + k);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public readonly void At1(nint i)
        {
            float vg = G[i];
            if (Maximize) vg = -vg;
            float vp = P[i] * Decay;
            float vmm = M[i] * B1 + vg * Ob1;
            float vv = V[i] * B2 + Ob2 * vg * vg;
            M[i] = vmm;
            V[i] = vv;
            if (Amsgrad)
            {
                vv = MathF.Max(VMax[i], vv);
                VMax[i] = vv;
            }
            float denom = MathF.Sqrt(vv) / Bc2 + Eps;
            P[i] = vp + Step * (vmm / denom);
        }
    }
}
