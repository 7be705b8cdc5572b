namespace Learner.Objectives.Kernels;

/// <summary>The loss of one anchor from its row of logits x_ik = a_i·c_k/τ, and its gradient written back into the row.
/// Implemented by structs so that <see cref="SoftmaxContrastKernel"/> is specialised per objective.</summary>
internal interface ILogitRow
{
    /// <summary>Whether anchor <paramref name="i"/> contributes (counted as active).</summary>
    bool IsActive(int i);

    /// <summary>The weighted loss of anchor <paramref name="i"/>; with <paramref name="wantGrad"/> the row is overwritten
    /// by invTau·d(loss)/d(x_i·) (0 where there is none), otherwise it is scratch.</summary>
    /// <param name="i">The anchor.</param>
    /// <param name="row">Its logits (the diagonal not masked).</param>
    /// <param name="self">Whether candidate i is the anchor itself (to be left out).</param>
    /// <param name="invTau">1/τ.</param>
    /// <param name="wantGrad">Whether to write the gradient.</param>
    /// <param name="scratch">Per-worker scratch of the row's length.</param>
    double Evaluate(int i, Span<float> row, bool self, float invTau, bool wantGrad, Span<float> scratch);
}
