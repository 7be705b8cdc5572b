namespace Learner.Metrics;

/// <summary>Metrics of a continuous prediction of a continuous target (such as a health-score probe).</summary>
public static class Regression
{
    /// <summary>
    /// The coefficient of determination, 1 − Σ(y − ŷ)² / Σ(y − ȳ)², with ȳ the mean of <paramref name="truth"/>:
    /// scikit-learn's <c>r2_score</c>. It is 1 for a perfect prediction, 0 for predicting the mean and negative for
    /// worse; sums are accumulated in double.
    /// </summary>
    /// <param name="truth">The targets (finite, at least one).</param>
    /// <param name="predicted">The predictions (same length).</param>
    /// <returns>R², or NaN when the targets are all equal (the ratio is undefined there; scikit-learn's
    /// <c>force_finite</c> would report 1 or 0 instead).</returns>
    /// <exception cref="ArgumentException">The spans are empty, differ in length, or hold a non-finite value (named by index).</exception>
    public static double RSquared(ReadOnlySpan<double> truth, ReadOnlySpan<double> predicted)
    {
        if (truth.IsEmpty) throw new ArgumentException("R² needs at least one target; 'truth' is empty.", nameof(truth));
        if (truth.Length != predicted.Length)
            throw new ArgumentException($"R² needs one prediction per target: {truth.Length} targets, {predicted.Length} predictions.", nameof(predicted));
        double mean = 0;
        for (int i = 0; i < truth.Length; i++)
        {
            if (!double.IsFinite(truth[i])) throw new ArgumentException($"Target {i} is {truth[i]}; R² needs finite targets.", nameof(truth));
            if (!double.IsFinite(predicted[i])) throw new ArgumentException($"Prediction {i} is {predicted[i]}; R² needs finite predictions.", nameof(predicted));
            mean += truth[i];
        }
        mean /= truth.Length;
        double residual = 0, total = 0;
        for (int i = 0; i < truth.Length; i++)
        {
            double e = truth[i] - predicted[i], c = truth[i] - mean;
            residual += e * e;
            total += c * c;
        }
        return total > 0 ? 1 - residual / total : double.NaN;
    }
}
