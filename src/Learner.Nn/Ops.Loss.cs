using System.Numerics.Tensors;

namespace Learner.Nn;

public static partial class Ops
{
    /// <summary>
    /// Cross-entropy of class logits against integer targets, fused with a stable log-softmax:
    /// <c>L = Σᵢ wᵧᵢ · (−log softmax(xᵢ)ᵧᵢ) / Σᵢ wᵧᵢ</c> (PyTorch's <c>cross_entropy</c> with <c>reduction='mean'</c>
    /// and optional class weights).
    /// </summary>
    /// <param name="logits">Logits [N, C].</param>
    /// <param name="targets">N class indices in [0, C).</param>
    /// <param name="classWeights">Optional C non-negative class weights (empty for none).</param>
    /// <returns>A scalar tensor.</returns>
    /// <exception cref="ShapeMismatchException">Shapes disagree or a target is out of range.</exception>
    /// <exception cref="ArgumentException">A class weight is negative or non-finite, or the targets' total weight is zero.</exception>
    public static Tensor CrossEntropy(Tensor logits, ReadOnlySpan<int> targets, ReadOnlySpan<float> classWeights = default)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Rank != 2) throw new ShapeMismatchException($"CrossEntropy: logits must be [N, C], got {Tensor.ShapeString(logits.Shape)}.");
        int n = logits.Shape[0], c = logits.Shape[1];
        if (targets.Length != n) throw new ShapeMismatchException($"CrossEntropy: {targets.Length} targets for logits {Tensor.ShapeString(logits.Shape)}.");
        if (n == 0 || c == 0) throw new ShapeMismatchException($"CrossEntropy: empty logits {Tensor.ShapeString(logits.Shape)}.");
        if (!classWeights.IsEmpty && classWeights.Length != c)
            throw new ShapeMismatchException($"CrossEntropy: {classWeights.Length} class weights for {c} classes.");
        for (int k = 0; k < classWeights.Length; k++)
            if (!(classWeights[k] >= 0) || float.IsInfinity(classWeights[k]))
                throw new ArgumentException($"CrossEntropy: class weight {k} is {classWeights[k]}; weights must be finite and non-negative.", nameof(classWeights));
        var y = targets.ToArray();
        var w = new float[n];
        double wSum = 0;
        for (int i = 0; i < n; i++)
        {
            if ((uint)y[i] >= (uint)c) throw new ShapeMismatchException($"CrossEntropy: target {y[i]} at row {i} is outside [0, {c}).");
            w[i] = classWeights.IsEmpty ? 1f : classWeights[y[i]];
            wSum += w[i];
        }
        if (wSum <= 0) throw new ArgumentException("CrossEntropy: the targets' classes all have weight 0.", nameof(classWeights));

        var x = logits.Data;
        var logp = Tensor.CreateOwned(new[] { n, c }, clear: false); // log-softmax, kept for the backward
        var lp = logp.Data;
        double loss = 0;
        for (int i = 0; i < n; i++)
        {
            var row = x.Slice(i * c, c);
            var dst = lp.Slice(i * c, c);
            float max = TensorPrimitives.Max(row);
            if (float.IsNegativeInfinity(max)) max = 0f;
            TensorPrimitives.Subtract(row, max, dst);
            TensorPrimitives.Exp(dst, dst);
            float lse = (float)Math.Log(TensorPrimitives.Sum(dst));
            TensorPrimitives.Subtract(row, max + lse, dst);
            loss -= (double)w[i] * dst[y[i]];
        }
        var o = Tensor.CreateOwned(Array.Empty<int>(), clear: false);
        o.Data[0] = (float)(loss / wSum);
        if (!Autograd.ShouldRecord(logits)) return o;
        float inv = (float)(1.0 / wSum);
        return Autograd.Record(o, "CrossEntropy", new[] { logits }, g =>
        {
            var gi = Tensor.CreateOwned(new[] { n, c }, clear: false);
            var gd = gi.Data;
            float go = g.Data[0];
            var lpd = logp.Data;
            for (int i = 0; i < n; i++)
            {
                var dst = gd.Slice(i * c, c);
                TensorPrimitives.Exp(lpd.Slice(i * c, c), dst);
                dst[y[i]] -= 1f;
                TensorPrimitives.Multiply(dst, go * w[i] * inv, dst);
            }
            return new[] { gi };
        });
    }

    /// <summary>Mean squared error <c>mean((a − b)²)</c> (PyTorch's <c>mse_loss</c>), differentiable in both arguments.</summary>
    /// <param name="prediction">Predictions.</param>
    /// <param name="target">Targets of the same shape.</param>
    /// <returns>A scalar tensor.</returns>
    public static Tensor MseLoss(Tensor prediction, Tensor target)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(target);
        if (!ShapeUtil.SameShape(prediction.Shape, target.Shape))
            throw new ShapeMismatchException($"MseLoss: prediction {Tensor.ShapeString(prediction.Shape)} and target {Tensor.ShapeString(target.Shape)} differ.");
        return Mean(Square(Sub(prediction, target)));
    }
}
