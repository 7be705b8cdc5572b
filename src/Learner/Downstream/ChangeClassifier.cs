using Learner.Nn;
using Learner.Nn.Modules;
using Learner.Nn.Optim;

namespace Learner.Downstream;

/// <summary>The classifier heads for three-way change prediction.</summary>
public enum ChangeHead
{
    /// <summary>Multinomial logistic regression with an L2 penalty on the weights.</summary>
    LogisticRegression,

    /// <summary>A small MLP (one hidden ReLU layer) with an L2 penalty.</summary>
    Mlp,
}

/// <summary>Settings of a <see cref="ChangeClassifier"/>.</summary>
public sealed record ChangeClassifierOptions
{
    /// <summary>The head. Default logistic regression.</summary>
    public ChangeHead Head { get; init; } = ChangeHead.LogisticRegression;

    /// <summary>L2 penalty λ on the weights (≥ 0), added as λ·Σw². Default 0.1 (on the development LUS cohort 0.1 and
    /// 0.01 beat 10⁻³ on held-out visit-level change in every diagnosis run; docs/results.md, "Diagnosis").</summary>
    public double L2 { get; init; } = 0.1;

    /// <summary>Full-batch AdamW iterations (≥ 1). Default 300.</summary>
    public int Iterations { get; init; } = 300;

    /// <summary>Learning rate (&gt; 0). Default 0.05.</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <summary>Hidden width of the MLP head (≥ 1). Default 32.</summary>
    public int Hidden { get; init; } = 32;

    /// <summary>Weight classes inversely to their frequency in the training set (sklearn's "balanced"). Default true.</summary>
    public bool BalanceClasses { get; init; } = true;

    /// <summary>Initialisation seed.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (!(L2 >= 0) || double.IsInfinity(L2)) throw new ArgumentException(FormattableString.Invariant($"L2 must be ≥ 0 and finite, got {L2}."), nameof(L2));
        if (Iterations < 1) throw new ArgumentException($"Iterations must be ≥ 1, got {Iterations}.", nameof(Iterations));
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentException(FormattableString.Invariant($"LearningRate must be positive, got {LearningRate}."), nameof(LearningRate));
        if (Hidden < 1) throw new ArgumentException($"Hidden must be ≥ 1, got {Hidden}.", nameof(Hidden));
    }
}

/// <summary>
/// A K-class classifier on feature vectors (for change prediction: embedding differences d = u(t+1) − u(t)), trained
/// full-batch on Learner.Nn with cross-entropy (class-weighted when asked) plus an L2 penalty. Features are
/// standardised with statistics of the training set only.
/// </summary>
public sealed class ChangeClassifier
{
    private readonly ChangeClassifierOptions _options;
    private Module? _model;
    private float[] _mean = Array.Empty<float>(), _scale = Array.Empty<float>();
    private int _features, _classes;

    /// <summary>Creates an untrained classifier.</summary>
    /// <param name="options">Settings (validated).</param>
    public ChangeClassifier(ChangeClassifierOptions? options = null)
    {
        _options = options ?? new ChangeClassifierOptions();
        _options.Validate();
    }

    /// <summary>Trains on row-major features and integer labels.</summary>
    /// <param name="features">N×F features.</param>
    /// <param name="featureCount">F.</param>
    /// <param name="labels">N labels in [0, K).</param>
    /// <param name="classCount">K (≥ 2).</param>
    /// <returns>This classifier.</returns>
    public ChangeClassifier Fit(ReadOnlySpan<float> features, int featureCount, ReadOnlySpan<int> labels, int classCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(featureCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 2);
        int n = labels.Length;
        if (n == 0) throw new ArgumentException("Fit needs at least one example.", nameof(labels));
        if (features.Length != n * featureCount) throw new ArgumentException($"{features.Length} feature values for {n} examples of {featureCount} features.", nameof(features));
        for (int i = 0; i < n; i++)
            if ((uint)labels[i] >= (uint)classCount) throw new ArgumentException($"Label {labels[i]} at index {i} is outside [0, {classCount}).", nameof(labels));
        _features = featureCount; _classes = classCount;

        // Standardisation statistics from the training set only.
        _mean = new float[featureCount]; _scale = new float[featureCount];
        for (int f = 0; f < featureCount; f++)
        {
            double s = 0, sq = 0;
            for (int i = 0; i < n; i++) { double v = features[i * featureCount + f]; s += v; sq += v * v; }
            double mean = s / n, var = Math.Max(0, sq / n - mean * mean);
            _mean[f] = (float)mean;
            _scale[f] = var > 1e-12 ? (float)(1 / Math.Sqrt(var)) : 1f;
        }
        var x = Standardize(features, n);

        var weights = new float[classCount];
        if (_options.BalanceClasses)
        {
            var counts = new int[classCount];
            foreach (int label in labels) counts[label]++;
            for (int k = 0; k < classCount; k++) weights[k] = counts[k] == 0 ? 0f : (float)n / (classCount * counts[k]);
        }
        else Array.Fill(weights, 1f);

        var rng = new Rng(_options.Seed);
        _model = _options.Head == ChangeHead.Mlp
            ? new Sequential(new Linear(featureCount, _options.Hidden, rng), new Relu(), new Linear(_options.Hidden, classCount, rng))
            : new Sequential(new Linear(featureCount, classCount, rng));
        var weightTensors = _model.NamedParameters().Where(p => p.Key.EndsWith("weight", StringComparison.Ordinal)).Select(p => p.Value).ToArray();
        var opt = new AdamW(_model.Parameters(), _options.LearningRate, weightDecay: 0);
        var y = labels.ToArray();
        for (int it = 0; it < _options.Iterations; it++)
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            var loss = Ops.CrossEntropy(_model.Forward(x), y, weights);
            foreach (var w in weightTensors) loss = Ops.Add(loss, Ops.Mul(Ops.Sum(Ops.Square(w)), (float)_options.L2));
            loss.Backward();
            opt.Step();
        }
        return this;
    }

    private Tensor Standardize(ReadOnlySpan<float> features, int n)
    {
        var x = Tensor.FromSpan(features, n, _features);
        var d = x.Data;
        for (int i = 0; i < n; i++)
            for (int f = 0; f < _features; f++)
                d[i * _features + f] = (d[i * _features + f] - _mean[f]) * _scale[f];
        return x;
    }

    /// <summary>Class probabilities for each row (N×K, row-major).</summary>
    /// <param name="features">N×F features.</param>
    /// <returns>The probabilities.</returns>
    /// <exception cref="InvalidOperationException">The classifier is not trained.</exception>
    public float[] PredictProbabilities(ReadOnlySpan<float> features)
    {
        if (_model is null) throw new InvalidOperationException("The classifier is not trained; call Fit first.");
        if (features.Length % _features != 0) throw new ArgumentException($"{features.Length} feature values are not a multiple of {_features} features.", nameof(features));
        int n = features.Length / _features;
        using var scope = TensorScope.Begin();
        using var noGrad = Autograd.NoGrad();
        return Ops.Softmax(_model.Forward(Standardize(features, n)), 1).ToArray();
    }

    /// <summary>The most probable class of each row.</summary>
    /// <param name="features">N×F features.</param>
    /// <returns>Predicted labels.</returns>
    public int[] Predict(ReadOnlySpan<float> features)
    {
        return ArgMax(PredictProbabilities(features), _classes);
    }

    /// <summary>The most probable class of each row of row-major N×K probabilities (the first on ties).</summary>
    internal static int[] ArgMax(ReadOnlySpan<float> probabilities, int classes)
    {
        int n = probabilities.Length / classes;
        var r = new int[n];
        for (int i = 0; i < n; i++) r[i] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(probabilities.Slice(i * classes, classes));
        return r;
    }
}
