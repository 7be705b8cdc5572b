using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Learner.Nn.Optim;

/// <summary>
/// Fused, vectorized parameter updates (Vector512 or Vector256 with a scalar tail). Every element goes through the
/// same sequence of correctly rounded float32 operations whatever the vector width, so results do not depend on
/// the machine's SIMD support. No fused multiply-add is used, for the same reason.
/// </summary>
internal static class OptimKernels
{
    /// <summary>PyTorch's SGD update of one parameter (see <see cref="Sgd"/>).</summary>
    internal static void Sgd(Span<float> param, ReadOnlySpan<float> grad, Span<float> momentumBuffer, bool firstStep,
        float weightDecay, float momentum, float oneMinusDampening, float negLr, bool nesterov, bool maximize)
    {
        int n = param.Length;
        bool useWd = weightDecay != 0f, useMomentum = momentum != 0f;
        ref float p = ref MemoryMarshal.GetReference(param);
        ref float g = ref MemoryMarshal.GetReference(grad);
        ref float b = ref MemoryMarshal.GetReference(momentumBuffer);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vWd = Vector512.Create(weightDecay); var vMom = Vector512.Create(momentum);
            var vDamp = Vector512.Create(oneMinusDampening); var vLr = Vector512.Create(negLr);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var vp = Vector512.LoadUnsafe(ref p, (nuint)i);
                var d = Vector512.LoadUnsafe(ref g, (nuint)i);
                if (maximize) d = -d;
                if (useWd) d += vp * vWd;
                if (useMomentum)
                {
                    var vb = firstStep ? d : Vector512.LoadUnsafe(ref b, (nuint)i) * vMom + d * vDamp;
                    vb.StoreUnsafe(ref b, (nuint)i);
                    d = nesterov ? d + vb * vMom : vb;
                }
                (vp + d * vLr).StoreUnsafe(ref p, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vWd = Vector256.Create(weightDecay); var vMom = Vector256.Create(momentum);
            var vDamp = Vector256.Create(oneMinusDampening); var vLr = Vector256.Create(negLr);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var vp = Vector256.LoadUnsafe(ref p, (nuint)i);
                var d = Vector256.LoadUnsafe(ref g, (nuint)i);
                if (maximize) d = -d;
                if (useWd) d += vp * vWd;
                if (useMomentum)
                {
                    var vb = firstStep ? d : Vector256.LoadUnsafe(ref b, (nuint)i) * vMom + d * vDamp;
                    vb.StoreUnsafe(ref b, (nuint)i);
                    d = nesterov ? d + vb * vMom : vb;
                }
                (vp + d * vLr).StoreUnsafe(ref p, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float vp = Unsafe.Add(ref p, i);
            float d = Unsafe.Add(ref g, i);
            if (maximize) d = -d;
            if (useWd) d += vp * weightDecay;
            if (useMomentum)
            {
                float vb = firstStep ? d : Unsafe.Add(ref b, i) * momentum + d * oneMinusDampening;
                Unsafe.Add(ref b, i) = vb;
                d = nesterov ? d + vb * momentum : vb;
            }
            Unsafe.Add(ref p, i) = vp + d * negLr;
        }
    }

    /// <summary>PyTorch's AdamW update of one parameter (see <see cref="AdamW"/>).</summary>
    internal static void AdamW(Span<float> param, ReadOnlySpan<float> grad, Span<float> expAvg, Span<float> expAvgSq, Span<float> maxExpAvgSq,
        bool amsgrad, bool maximize, float decay, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
        float biasCorrection2Sqrt, float eps, float negStepSize)
    {
        int n = param.Length;
        ref float p = ref MemoryMarshal.GetReference(param);
        ref float g = ref MemoryMarshal.GetReference(grad);
        ref float m = ref MemoryMarshal.GetReference(expAvg);
        ref float v = ref MemoryMarshal.GetReference(expAvgSq);
        ref float vm = ref MemoryMarshal.GetReference(maxExpAvgSq);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vDecay = Vector512.Create(decay); var vB1 = Vector512.Create(beta1); var vOb1 = Vector512.Create(oneMinusBeta1);
            var vB2 = Vector512.Create(beta2); var vOb2 = Vector512.Create(oneMinusBeta2); var vBc2 = Vector512.Create(biasCorrection2Sqrt);
            var vEps = Vector512.Create(eps); var vStep = Vector512.Create(negStepSize);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var vg = Vector512.LoadUnsafe(ref g, (nuint)i);
                if (maximize) vg = -vg;
                var vp = Vector512.LoadUnsafe(ref p, (nuint)i) * vDecay;
                var vmm = Vector512.LoadUnsafe(ref m, (nuint)i) * vB1 + vg * vOb1;
                var vv = Vector512.LoadUnsafe(ref v, (nuint)i) * vB2 + vOb2 * vg * vg;
                vmm.StoreUnsafe(ref m, (nuint)i);
                vv.StoreUnsafe(ref v, (nuint)i);
                if (amsgrad)
                {
                    vv = Vector512.Max(Vector512.LoadUnsafe(ref vm, (nuint)i), vv);
                    vv.StoreUnsafe(ref vm, (nuint)i);
                }
                var denom = Vector512.Sqrt(vv) / vBc2 + vEps;
                (vp + vStep * (vmm / denom)).StoreUnsafe(ref p, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vDecay = Vector256.Create(decay); var vB1 = Vector256.Create(beta1); var vOb1 = Vector256.Create(oneMinusBeta1);
            var vB2 = Vector256.Create(beta2); var vOb2 = Vector256.Create(oneMinusBeta2); var vBc2 = Vector256.Create(biasCorrection2Sqrt);
            var vEps = Vector256.Create(eps); var vStep = Vector256.Create(negStepSize);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var vg = Vector256.LoadUnsafe(ref g, (nuint)i);
                if (maximize) vg = -vg;
                var vp = Vector256.LoadUnsafe(ref p, (nuint)i) * vDecay;
                var vmm = Vector256.LoadUnsafe(ref m, (nuint)i) * vB1 + vg * vOb1;
                var vv = Vector256.LoadUnsafe(ref v, (nuint)i) * vB2 + vOb2 * vg * vg;
                vmm.StoreUnsafe(ref m, (nuint)i);
                vv.StoreUnsafe(ref v, (nuint)i);
                if (amsgrad)
                {
                    vv = Vector256.Max(Vector256.LoadUnsafe(ref vm, (nuint)i), vv);
                    vv.StoreUnsafe(ref vm, (nuint)i);
                }
                var denom = Vector256.Sqrt(vv) / vBc2 + vEps;
                (vp + vStep * (vmm / denom)).StoreUnsafe(ref p, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float vg = Unsafe.Add(ref g, i);
            if (maximize) vg = -vg;
            float vp = Unsafe.Add(ref p, i) * decay;
            float vmm = Unsafe.Add(ref m, i) * beta1 + vg * oneMinusBeta1;
            float vv = Unsafe.Add(ref v, i) * beta2 + oneMinusBeta2 * vg * vg;
            Unsafe.Add(ref m, i) = vmm;
            Unsafe.Add(ref v, i) = vv;
            if (amsgrad)
            {
                vv = MathF.Max(Unsafe.Add(ref vm, i), vv);
                Unsafe.Add(ref vm, i) = vv;
            }
            float denom = MathF.Sqrt(vv) / biasCorrection2Sqrt + eps;
            Unsafe.Add(ref p, i) = vp + negStepSize * (vmm / denom);
        }
    }
}
