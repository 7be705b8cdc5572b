using Learner.Data;
using Learner.Downstream;
using Learner.Encoders;
using Learner.Nn;
using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Sampling;
using Learner.Training;

namespace Learner.Tests.Data;

public class PayloadCacheTests
{
    /// <summary>12 patients × 3 visits whose 6-feature payloads are generated on demand by a reader that counts its calls
    /// per scan (as a file reader would decode).</summary>
    private static (LongitudinalDataset Data, int[] Decodes) CountingCohort(PayloadCache? cache = null)
    {
        var rng = new Rng(11);
        var scans = new List<Scan>();
        var decodes = new int[36];
        for (int p = 0; p < 12; p++)
        {
            float offset = (float)rng.NextGaussian();
            double baseScore = 100 + 400 * rng.NextDouble();
            for (int v = 0; v < 3; v++)
            {
                int index = p * 3 + v;
                double score = baseScore + (30 * v + 25 * rng.NextDouble()) * (p % 2 == 0 ? 1 : -1);
                var x = new float[6];
                x[0] = (float)((score - 300) / 100);
                for (int k = 1; k < 6; k++) x[k] = offset + 0.1f * (float)rng.NextGaussian();
                scans.Add(new Scan($"s{p}-{v}", $"p{p}", v, score, payload: new DelegatePayload(() =>
                {
                    Interlocked.Increment(ref decodes[index]);
                    return new Tensor((float[])x.Clone(), 6);
                }, $"counted generator {index}")));
            }
        }
        var data = new LongitudinalDataset(scans, higherIsHealthier: true);
        return (cache is null ? data : data.WithPayloadCache(cache), decodes);
    }

    private static (PretrainingResult Result, float[] Weights, float[] Embeddings) Pretrain(LongitudinalDataset data, LongitudinalDataset validation)
    {
        var encoder = new MlpEncoder(new MlpEncoderOptions { InputFeatures = 6, Hidden = new[] { 16 }, EmbeddingDimension = 4, BatchNorm = false, Seed = 5 });
        var objective = new WeightedContrastiveLoss(new WeightedContrastiveOptions { UseProvidedPairs = false, PositiveThreshold = 40, GapScale = 100 });
        var options = new PretrainingOptions
        {
            Epochs = 4, StepsPerEpoch = 5, Seed = 21, WarmupSteps = 2,
            Optimizer = new EncoderOptimizerOptions { LearningRate = 1e-2 },
            Augmentation = new AugmentationOptions { NoiseStd = 0.05f },
        };
        var trainer = new Pretrainer(encoder, data, new PatientBatchSampler(data, 4, 2), objective, options) { ValidationSet = validation };
        var result = trainer.Run();
        var weights = encoder.Module.StateEntries().SelectMany(p => p.Value.ToArray()).ToArray();
        // Embedded as the pretrainer recorded (its normalised views are the payload objects the cache already holds).
        return (result, weights, Embedder.EmbedAll(encoder, trainer.InputNormalization.Apply(data), batchSize: 5));
    }

    [Fact]
    public void After_the_first_epoch_no_payload_is_decoded_again()
    {
        var (all, decodes) = CountingCohort();
        var train = all.SubsetByPatients(all.Patients.Take(9).Select(p => p.Id));
        var validation = all.SubsetByPatients(all.Patients.Skip(9).Select(p => p.Id));

        Pretrain(train, validation);

        // 4 epochs of two-view augmented steps, a validation pass per epoch and an embedding pass: each payload once.
        decodes.Should().OnlyContain(n => n <= 1);
        decodes.Take(27).Should().OnlyContain(n => n == 1, "every training scan is drawn or embedded");
        var stats = all.PayloadCache.Statistics;
        stats.Decodes.Should().Be(decodes.Sum());
        stats.Hits.Should().BeGreaterThan(stats.Decodes);
        stats.Batches.Should().BeGreaterThan(0);
        stats.LoadTime.Should().BePositive();
        stats.CachedPayloads.Should().Be(decodes.Sum());
        stats.CachedBytes.Should().Be(decodes.Sum() * 6L * sizeof(float));
    }

    [Fact]
    public void Results_are_bit_identical_with_and_without_the_cache()
    {
        var (cached, cachedDecodes) = CountingCohort();
        var (uncached, uncachedDecodes) = CountingCohort(new PayloadCache(0));
        string[] train = Enumerable.Range(0, 10).Select(p => $"p{p}").ToArray(), held = new[] { "p10", "p11" };

        var a = Pretrain(cached.SubsetByPatients(train), cached.SubsetByPatients(held));
        var b = Pretrain(uncached.SubsetByPatients(train), uncached.SubsetByPatients(held));

        uncachedDecodes.Sum().Should().BeGreaterThan(3 * cachedDecodes.Sum(), "without the cache every use decodes");
        a.Result.Losses.Select(BitConverter.DoubleToInt64Bits).Should().Equal(b.Result.Losses.Select(BitConverter.DoubleToInt64Bits));
        a.Weights.Select(BitConverter.SingleToInt32Bits).Should().Equal(b.Weights.Select(BitConverter.SingleToInt32Bits));
        a.Embeddings.Select(BitConverter.SingleToInt32Bits).Should().Equal(b.Embeddings.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void The_budget_bounds_what_is_held_and_the_rest_is_decoded_on_each_use()
    {
        // 24 bytes per payload; a 60-byte budget admits two, and keeps them (no eviction).
        var (data, decodes) = CountingCohort(new PayloadCache(60));
        int[] all = Enumerable.Range(0, 36).ToArray();
        for (int round = 0; round < 3; round++)
            using (TensorScope.Begin()) data.LoadBatch(all);

        data.PayloadCache.Count.Should().Be(2);
        data.PayloadCache.CachedBytes.Should().Be(48);
        decodes.Take(2).Should().Equal(1, 1);
        decodes.Skip(2).Should().OnlyContain(n => n == 3);
        data.PayloadCache.Statistics.Hits.Should().Be(4);
    }

    [Fact]
    public void A_transform_that_works_in_place_does_not_change_the_stored_values()
    {
        var (data, _) = CountingCohort();
        var first = data.LoadBatch(new[] { 0, 1 }).ToArray();
        data.LoadBatch(new[] { 0, 1 }, 2, (x, _) => { x.Data.Fill(-7f); return x; }).ToArray().Should().OnlyContain(v => v == -7f);
        data.LoadBatch(new[] { 0, 1 }).ToArray().Should().Equal(first);
    }

    [Fact]
    public void Batches_assembled_in_a_scope_return_their_storage_to_the_pool()
    {
        var (data, _) = CountingCohort();
        float[] storage;
        using (TensorScope.Begin())
        {
            var batch = data.LoadBatch(new[] { 3, 4, 5, 6 }, 2, null);
            batch.ShapeArray.Should().Equal(8, 6);
            storage = GetStorage(batch);
        }
        using (TensorScope.Begin())
        {
            var again = data.LoadBatch(new[] { 7, 8, 9, 10 }, 2, null);
            GetStorage(again).Should().BeSameAs(storage, "the second batch reuses the first one's pooled buffer");
        }
    }

    [Fact]
    public void The_budget_variable_is_parsed()
    {
        PayloadCache.ParseBudget("0").Should().Be(0);
        PayloadCache.ParseBudget("512").Should().Be(512L << 20);
        PayloadCache.ParseBudget(null).Should().BeInRange(1, 4L << 30);
        FluentActions.Invoking(() => PayloadCache.ParseBudget("-3")).Should().Throw<InvalidOperationException>().WithMessage("*LEARNER_PAYLOAD_CACHE_MB*'-3'*");
        FluentActions.Invoking(() => PayloadCache.ParseBudget("1.5")).Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void Bad_budgets_are_rejected()
    {
        FluentActions.Invoking(() => new PayloadCache(-1)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => CountingCohort().Data.WithPayloadCache(null!)).Should().Throw<ArgumentNullException>();
    }

    private static float[] GetStorage(Tensor t)
    {
        var field = typeof(Tensor).GetField("_storage", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        return (float[])field.GetValue(t)!;
    }
}
