// CustomEncoder: plugging your own encoder into Learner's pretrainer through the encoder seam (IEncoder).
// The encoder below is written from scratch, without Learner.Nn modules or autograd: it turns a clip into fixed
// features (per-row-band mean intensity and its frame-to-frame change) and learns a linear map to the embedding with
// its own hand-derived gradient and its own momentum-SGD optimizer. Anything that can (1) map a batch to B×D embeddings,
// (2) take a B×D gradient back, (3) step its parameters and (4) save/load them can be pretrained the same way — a
// TorchSharp model, an ONNX-exported feature extractor with a trainable head, or a classical pipeline like this one.
using System.Globalization;
using Learner.Data;
using Learner.Data.Synthetic;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Nn;
using Learner.Nn.Serialization;
using Learner.Objectives;
using Learner.Reporting;
using Learner.Sampling;
using Learner.Training;

var cohort = new SyntheticLusOptions { Patients = 80, Seed = 3 };
var data = SyntheticLusCohort.Generate(cohort).WithQuantileLabels(4);
var encoder = new BandFeatureEncoder(frames: cohort.Frames, height: cohort.Height, width: cohort.Width, bands: 8, dimension: 16, seed: 1);
Console.WriteLine($"{encoder.Name}: {encoder.ParameterCount} parameters; {data.PatientCount} patients, {data.ScanCount} clips");

// Held out: 30 % of the patients are set aside before pretraining; the change classifier is fit on the others' pairs.
var split = PatientSplits.TrainValidationTest(data, 0, 0.3, seed: 1);
var train = split.Train;
string[] trainIds = train.Patients.Select(p => p.Id).ToArray(), testIds = split.Test.Patients.Select(p => p.Id).ToArray();
// The objective from its spec; the recipe scales its defaults by the training patients' score statistics.
var objective = ObjectiveRecipes.Default.Build(ObjectiveSpec.Parse("mse+weighted-contrastive"),
    new ObjectiveContext(encoder.EmbeddingDimension, 1, CohortStatistics.FromDataset(train)), ObjectiveRegistry.CreateDefault());
var options = new PretrainingOptions
{
    Epochs = 4, StepsPerEpoch = 40, WarmupSteps = 10, Seed = 1,
    Optimizer = new EncoderOptimizerOptions { Kind = OptimizerKind.Sgd, LearningRate = 0.05, Momentum = 0.9, WeightDecay = 0 },
    CheckpointDirectory = Path.Combine(Path.GetTempPath(), "learner-custom-encoder"),
};
var thresholds = ChangeThresholds.Absolute(cohort.ChangeThreshold);
// The pretrainer z-scores each clip (PretrainingOptions.InputNormalization); every embedding pass feeds the encoder the same.
var trainer = new Pretrainer(encoder, train, new PatientBatchSampler(train, 8, 4), objective, options);
var normalization = trainer.InputNormalization;
var before = ChangeEvaluation.FitAndPredict(data, Embedder.EmbedAll(encoder, data, normalization), encoder.EmbeddingDimension, thresholds, trainIds, testIds).Result;
var result = trainer.Run(new ConsoleProgressReporter(interval: TimeSpan.FromSeconds(5)));
var after = ChangeEvaluation.FitAndPredict(data, Embedder.EmbedAll(encoder, data, normalization), encoder.EmbeddingDimension, thresholds, trainIds, testIds).Result;
// A linear map of fixed features cannot add information a linear change classifier did not already have, so expect
// macro-F1 to move little here; this sample is about the seam. Put a trainable feature extractor behind it for gains.
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"change macro-F1 on {testIds.Length} held-out patients: {before.MacroF1:F3} at initialisation → {after.MacroF1:F3} after pretraining"));

// The checkpoint the pretrainer wrote goes through the encoder's own Save/Load.
var reloaded = new BandFeatureEncoder(cohort.Frames, cohort.Height, cohort.Width, 8, 16, seed: 99);
reloaded.Load(result.LastCheckpoint!);
var a = Embedder.EmbedAll(encoder, data, normalization);
var b = Embedder.EmbedAll(reloaded, data, Pretrainer.ReadCheckpointNormalization(result.LastCheckpoint!) ?? ScanNormalization.Unchanged);
Console.WriteLine($"reloaded from {result.LastCheckpoint}: embeddings identical = {a.AsSpan().SequenceEqual(b)}");
return 0;

/// <summary>A hand-written encoder: fixed band features of a clip, then a trainable linear map W·f + b.</summary>
sealed class BandFeatureEncoder : IEncoder
{
    private readonly int _frames, _height, _width, _bands, _features, _dimension;
    private readonly float[] _weight, _bias, _gradWeight, _gradBias;
    private float[]? _lastFeatures;
    private int _lastCount;

    public BandFeatureEncoder(int frames, int height, int width, int bands, int dimension, ulong seed)
    {
        (_frames, _height, _width, _bands, _dimension) = (frames, height, width, bands, dimension);
        _features = 2 * bands;
        _weight = new float[dimension * _features];
        _bias = new float[dimension];
        _gradWeight = new float[_weight.Length];
        _gradBias = new float[dimension];
        var rng = new Rng(seed);
        for (int i = 0; i < _weight.Length; i++) _weight[i] = (float)(rng.NextGaussian() / Math.Sqrt(_features));
    }

    public string Name => "band-features+linear";
    public int EmbeddingDimension => _dimension;
    public long ParameterCount => _weight.Length + _bias.Length;
    public bool Training { get; private set; } = true;
    public void SetTraining(bool training) => Training = training;

    public void Forward(Tensor input, Span<float> embeddings, bool requiresGrad)
    {
        // The seam's contract: a batch that does not fit, or a buffer that is not B×D, is a ShapeMismatchException.
        int n = input.Rank > 0 ? input.Shape[0] : 0;
        if (input.Rank == 0 || input.Size != n * _frames * _height * _width)
            throw new ShapeMismatchException($"{Name}: expected clips [B, {_frames}, {_height}, {_width}], got {Tensor.FormatShape(input.Shape)}.");
        if (embeddings.Length != n * _dimension)
            throw new ShapeMismatchException($"{Name}: the embedding buffer holds {embeddings.Length} floats, expected B×D = {n}×{_dimension}.");
        var x = input.Data;
        var f = new float[n * _features];
        int rowsPerBand = _height / _bands, frameSize = _height * _width;
        for (int s = 0; s < n; s++)
            for (int band = 0; band < _bands; band++)
            {
                double sum = 0, change = 0;
                for (int t = 0; t < _frames; t++)
                    for (int r = band * rowsPerBand; r < (band + 1) * rowsPerBand; r++)
                        for (int c = 0; c < _width; c++)
                        {
                            int at = s * _frames * frameSize + t * frameSize + r * _width + c;
                            sum += x[at];
                            if (t > 0) change += Math.Abs(x[at] - x[at - frameSize]);
                        }
                double cells = rowsPerBand * _width;
                f[s * _features + band] = (float)(sum / (cells * _frames));
                f[s * _features + _bands + band] = (float)(change / (cells * (_frames - 1)));
            }
        for (int s = 0; s < n; s++)
            for (int d = 0; d < _dimension; d++)
            {
                float acc = _bias[d];
                for (int k = 0; k < _features; k++) acc += _weight[d * _features + k] * f[s * _features + k];
                embeddings[s * _dimension + d] = acc;
            }
        (_lastFeatures, _lastCount) = requiresGrad ? (f, n) : (null, 0);
    }

    public void Backward(ReadOnlySpan<float> g)
    {
        var f = _lastFeatures ?? throw new InvalidOperationException("Backward needs a Forward with requiresGrad: true first.");
        if (g.Length != _lastCount * _dimension)
            throw new ShapeMismatchException($"{Name}: the embedding gradient holds {g.Length} floats, expected B×D = {_lastCount}×{_dimension}.");
        // e = W f + b  ⇒  ∂L/∂W = Σ_s g_s f_sᵀ, ∂L/∂b = Σ_s g_s (accumulated, as autograd would).
        for (int s = 0; s < _lastCount; s++)
            for (int d = 0; d < _dimension; d++)
            {
                float gd = g[s * _dimension + d];
                _gradBias[d] += gd;
                for (int k = 0; k < _features; k++) _gradWeight[d * _features + k] += gd * f[s * _features + k];
            }
        _lastFeatures = null;
    }

    public void DiscardGraph() => _lastFeatures = null;

    public IEncoderOptimizer CreateOptimizer(EncoderOptimizerOptions options) => new MomentumSgd(this, options);

    public void Save(string path, IEncoderOptimizer? optimizer = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var tensors = new List<KeyValuePair<string, Tensor>>
        {
            new("weight", Tensor.FromSpan(_weight, _dimension, _features)),
            new("bias", Tensor.FromSpan(_bias, _dimension)),
        };
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>());
        if (optimizer is MomentumSgd sgd)
        {
            tensors.Add(new("momentum.weight", Tensor.FromSpan(sgd.VelocityWeight, _dimension, _features)));
            tensors.Add(new("momentum.bias", Tensor.FromSpan(sgd.VelocityBias, _dimension)));
            meta["optimizer.steps"] = sgd.StepCount.ToString(CultureInfo.InvariantCulture);
        }
        Safetensors.Save(path, tensors, meta);
    }

    public IReadOnlyDictionary<string, string> Load(string path, IEncoderOptimizer? optimizer = null, bool strict = true)
    {
        var file = Safetensors.Load(path);
        Tensor Get(string key, int size) => file.Tensors.TryGetValue(key, out var t) && t.Size == size ? t
            : throw new InvalidDataException($"'{path}' has no '{key}' of {size} values for {Name}.");
        var w = Get("weight", _weight.Length);
        var b = Get("bias", _bias.Length);
        if (optimizer is MomentumSgd sgd)
        {
            Get("momentum.weight", _weight.Length).Data.CopyTo(sgd.VelocityWeight);
            Get("momentum.bias", _bias.Length).Data.CopyTo(sgd.VelocityBias);
            sgd.StepCount = long.Parse(file.Metadata["optimizer.steps"], CultureInfo.InvariantCulture);
        }
        w.Data.CopyTo(_weight);
        b.Data.CopyTo(_bias);
        return file.Metadata;
    }

    /// <summary>SGD with momentum and decoupled weight decay over the encoder's two arrays.</summary>
    private sealed class MomentumSgd(BandFeatureEncoder e, EncoderOptimizerOptions o) : IEncoderOptimizer
    {
        public float[] VelocityWeight { get; } = new float[e._weight.Length];
        public float[] VelocityBias { get; } = new float[e._bias.Length];
        public double LearningRate { get; set; } = o.LearningRate;
        public long StepCount { get; set; }

        public void ZeroGrad()
        {
            Array.Clear(e._gradWeight);
            Array.Clear(e._gradBias);
        }

        public double ClipGradNorm(double maxNorm)
        {
            double sq = e._gradWeight.Sum(v => (double)v * v) + e._gradBias.Sum(v => (double)v * v), norm = Math.Sqrt(sq);
            if (norm > maxNorm)
            {
                float scale = (float)(maxNorm / (norm + 1e-6));
                for (int i = 0; i < e._gradWeight.Length; i++) e._gradWeight[i] *= scale;
                for (int i = 0; i < e._gradBias.Length; i++) e._gradBias[i] *= scale;
            }
            return norm;
        }

        public void CheckGradientsFinite()
        {
            Check(e._gradWeight, "weight");
            Check(e._gradBias, "bias");

            void Check(float[] g, string what)
            {
                for (int i = 0; i < g.Length; i++)
                    if (!float.IsFinite(g[i])) throw new NonFiniteValueException($"{e.Name}: {what} gradient {i} is {g[i]}.", i);
            }
        }

        public void Step()
        {
            float lr = (float)LearningRate, m = (float)o.Momentum, wd = (float)o.WeightDecay;
            Update(e._weight, e._gradWeight, VelocityWeight, lr, m, wd);
            Update(e._bias, e._gradBias, VelocityBias, lr, m, 0);
            StepCount++;
        }

        private static void Update(float[] p, float[] g, float[] v, float lr, float m, float wd)
        {
            for (int i = 0; i < p.Length; i++)
            {
                v[i] = m * v[i] + g[i];
                p[i] -= lr * (v[i] + wd * p[i]);
            }
        }
    }
}

