using Learner.Data;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Nn;

namespace Learner.Tests.Downstream;

public class ChangeEvaluationTests
{
    private static LongitudinalDataset Cohort(int patients = 40)
    {
        var rng = new Rng(2);
        var scans = new List<Scan>();
        for (int p = 0; p < patients; p++)
        {
            double score = 200 + 200 * rng.NextDouble();
            for (int v = 0; v < 4; v++)
            {
                scans.Add(new Scan($"s{p}-{v}", $"p{p}", v, score, payload: new TensorPayload(Tensor.FromSpan(new[] { (float)score / 100, (float)rng.NextGaussian() }, 2))));
                score += (rng.NextInt(3) - 1) * 40 + 5 * rng.NextGaussian(); // worsen, stay or improve by ~40
            }
        }
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    [Theory]
    [InlineData(ChangeHead.LogisticRegression)]
    [InlineData(ChangeHead.Mlp)]
    public void Both_heads_learn_a_separable_three_class_problem(ChangeHead head)
    {
        var rng = new Rng(3);
        int n = 300;
        var x = new float[n * 2]; var y = new int[n];
        for (int i = 0; i < n; i++) { y[i] = i % 3; x[2 * i] = (y[i] - 1) * 3 + 0.3f * (float)rng.NextGaussian(); x[2 * i + 1] = (float)rng.NextGaussian(); }
        var clf = new ChangeClassifier(new ChangeClassifierOptions { Head = head }).Fit(x, 2, y, 3);
        var pred = clf.Predict(x);
        pred.Zip(y).Count(t => t.First == t.Second).Should().BeGreaterThan(290);
        clf.PredictProbabilities(x.AsSpan(0, 2)).Sum().Should().BeApproximately(1f, 1e-5f);
    }

    [Fact]
    public void Score_aligned_embeddings_predict_change_and_noise_does_not()
    {
        var data = Cohort();
        var thresholds = ChangeThresholds.Absolute(20);
        var aligned = new float[data.ScanCount];            // 1-D embedding = the score
        var noise = new float[data.ScanCount];
        var rng = new Rng(8);
        for (int i = 0; i < data.ScanCount; i++) { aligned[i] = (float)data.Scans[i].Score!.Value / 100; noise[i] = (float)rng.NextGaussian(); }
        var good = ChangeEvaluation.CrossValidate(data, aligned, 1, thresholds, folds: 4, seed: 1);
        var bad = ChangeEvaluation.CrossValidate(data, noise, 1, thresholds, folds: 4, seed: 1);
        good.Truth.Should().HaveCount(40 * 3);
        good.MacroF1.Should().BeGreaterThan(0.9);
        bad.MacroF1.Should().BeLessThan(0.6);
    }

    [Fact]
    public void Embedder_and_cross_validation_run_end_to_end_through_an_encoder()
    {
        var data = Cohort(20);
        var enc = new MlpEncoder(new MlpEncoderOptions { InputFeatures = 2, Hidden = new[] { 8 }, EmbeddingDimension = 3, BatchNorm = false });
        var e = Embedder.EmbedAll(enc, data, batchSize: 7);
        e.Should().HaveCount(data.ScanCount * 3);
        var single = new float[3];
        enc.Forward(data.LoadBatch(new[] { 5 }), single, false);
        e.AsSpan(15, 3).ToArray().Should().BeEquivalentTo(single, o => o.Using<float>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-5f)).WhenTypeIs<float>());
        var result = ChangeEvaluation.CrossValidate(data, e, 3, ChangeThresholds.Absolute(20), folds: 3);
        result.Predicted.Should().HaveSameCount(result.Truth);
        result.PatientIndices.Distinct().Should().HaveCount(20);
    }

    [Fact]
    public void Bad_classifier_input_is_named()
    {
        FluentActions.Invoking(() => new ChangeClassifier().Fit(new float[4], 2, new[] { 0, 3 }, 3)).Should().Throw<ArgumentException>().WithMessage("*Label 3 at index 1*");
        FluentActions.Invoking(() => new ChangeClassifier(new ChangeClassifierOptions { L2 = -1 })).Should().Throw<ArgumentException>().WithMessage("*L2*");
        FluentActions.Invoking(() => new ChangeClassifier().Predict(new float[2])).Should().Throw<InvalidOperationException>();
    }
}
