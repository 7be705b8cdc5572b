// TinyNet: train a small CNN with Learner.Nn, the embedded engine behind Learner.
//
// The task: 16×16 noisy images that hold either a vertical or a horizontal bright bar, at a random
// position. A two-layer CNN with batch norm learns to tell them apart in a few seconds on a laptop CPU.
// The sample shows the engine's everyday API: modules, a TensorScope per step (tensor storage is reused
// from a pool), AdamW with warm-up + cosine, gradient clipping, evaluation under NoGrad and a safetensors
// checkpoint round trip.
using System.Diagnostics;
using Learner.Nn;
using Learner.Nn.Modules;
using Learner.Nn.Optim;
using Learner.Nn.Serialization;

const int Size = 16, TrainCount = 1024, TestCount = 512, BatchSize = 64, Epochs = 6;
var rng = new Rng(2024);

(Tensor Images, int[] Labels) MakeData(int count, Rng r)
{
    var x = Tensor.Zeros(count, 1, Size, Size);
    var y = new int[count];
    var d = x.Data;
    for (int n = 0; n < count; n++)
    {
        y[n] = r.NextInt(2);
        int pos = r.NextInt(2, Size - 2);
        var img = d.Slice(n * Size * Size, Size * Size);
        for (int i = 0; i < img.Length; i++) img[i] = (float)(0.6 * r.NextGaussian());
        for (int k = 0; k < Size; k++)
        {
            int idx = y[n] == 0 ? k * Size + pos : pos * Size + k; // 0: vertical bar, 1: horizontal bar
            img[idx] += 1.5f;
        }
    }
    return (x, y);
}

var (trainX, trainY) = MakeData(TrainCount, rng.Fork(1));
var (testX, testY) = MakeData(TestCount, rng.Fork(2));

var model = new Sequential(
    new Conv2d(1, 8, 3, rng, padding: 1), new BatchNorm2d(8), new Relu(), new MaxPool2d(2),
    new Conv2d(8, 16, 3, rng, padding: 1), new BatchNorm2d(16), new Relu(),
    new GlobalAvgPool(), new Linear(16, 2, rng));
Console.WriteLine($"TinyNet: {model.ParameterCount} parameters, {TrainCount} training images of {Size}×{Size}");

int stepsPerEpoch = TrainCount / BatchSize;
var optimizer = new AdamW(model.Parameters(), learningRate: 1e-2, weightDecay: 1e-4);
var schedule = new CosineWithWarmup(optimizer, warmupSteps: stepsPerEpoch, totalSteps: Epochs * stepsPerEpoch, minLr: 1e-4);

double Accuracy(Tensor x, int[] y)
{
    model.Eval();
    using var scope = TensorScope.Begin();
    using var noGrad = Autograd.NoGrad();
    var logits = model.Forward(x);
    int correct = 0;
    for (int n = 0; n < y.Length; n++) if ((logits[n, 1] > logits[n, 0] ? 1 : 0) == y[n]) correct++;
    model.Train();
    return (double)correct / y.Length;
}

var order = Enumerable.Range(0, TrainCount).ToArray();
var batchLabels = new int[BatchSize];
var sw = Stopwatch.StartNew();
for (int epoch = 1; epoch <= Epochs; epoch++)
{
    rng.Shuffle(order.AsSpan());
    double lossSum = 0;
    for (int s = 0; s < stepsPerEpoch; s++)
    {
        using var scope = TensorScope.Begin();
        var idx = order.AsSpan(s * BatchSize, BatchSize);
        var xb = Ops.IndexSelect(trainX, 0, idx);
        for (int i = 0; i < BatchSize; i++) batchLabels[i] = trainY[idx[i]];
        optimizer.ZeroGrad();
        var loss = Ops.CrossEntropy(model.Forward(xb), batchLabels);
        loss.Backward();
        GradClip.ClipGradNorm(model.Parameters(), 5f);
        optimizer.Step();
        schedule.Step();
        lossSum += loss.Item();
    }
    Console.WriteLine($"epoch {epoch}/{Epochs}  loss {lossSum / stepsPerEpoch:F4}  test accuracy {Accuracy(testX, testY):P1}  lr {schedule.LastLr:G3}  ({sw.Elapsed.TotalSeconds:F1} s)");
}

// Save, reload into a fresh model, and check the reloaded model predicts the same.
string path = Path.Combine(Path.GetTempPath(), $"tinynet-{Environment.ProcessId}.safetensors");
Checkpoint.Save(path, model, optimizer, schedule, new Dictionary<string, string> { ["sample"] = "TinyNet" });
double before = Accuracy(testX, testY);
var fresh = new Sequential(
    new Conv2d(1, 8, 3, new Rng(1), padding: 1), new BatchNorm2d(8), new Relu(), new MaxPool2d(2),
    new Conv2d(8, 16, 3, new Rng(1), padding: 1), new BatchNorm2d(16), new Relu(),
    new GlobalAvgPool(), new Linear(16, 2, new Rng(1)));
Checkpoint.Load(path, fresh);
model = fresh;
double after = Accuracy(testX, testY);
File.Delete(path);
Console.WriteLine($"checkpoint round trip: accuracy {before:P1} → {after:P1} ({new FileInfo(path).Name})");
return after >= 0.9 && after == before ? 0 : 1;
