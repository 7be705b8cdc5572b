using Learner.Data;
using Learner.Nn;
using Learner.Training;

namespace Learner.Tests.Data;

/// <summary><see cref="AugmentationOptions.SharedWithinPatient"/>: a patient's scans in a batch share the geometric and
/// intensity draw (per view), the noise stays per scan, and without it every copy is augmented exactly as before.</summary>
public class SharedAugmentationTests
{
    /// <summary>Two patients × two visits; every scan the same 2 × 8 × 8 clip, so any difference between outputs is the augmentation's.</summary>
    private static LongitudinalDataset SameClips()
    {
        var x = Tensor.Normal(new Rng(3), 0, 1, 2, 8, 8);
        var scans = new List<Scan>();
        foreach (var p in new[] { "a", "b" })
            for (int v = 0; v < 2; v++)
                scans.Add(new Scan($"{p}{v}", p, v, 100 + v, payload: new TensorPayload(x)));
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }

    private static readonly AugmentationOptions NoNoise = new() { MaxShift = 2, FlipProbability = 0.5, MaxBrightness = 0.3f, MaxContrast = 0.3f, NoiseStd = 0 };

    [Fact]
    public void A_patients_scans_share_one_draw_per_view_and_other_patients_and_views_get_their_own()
    {
        var data = SameClips();
        int[] batch = { 0, 2, 1, 3 }; // a0, b0, a1, b1
        var shared = NoNoise with { SharedWithinPatient = true };
        var step = new Rng(17);
        float[] Copy(int copy, AugmentationOptions o) => Augment.ApplyToCopy(data.Scans[batch[copy % 4]].LoadPayload(), step, copy, batch, data, o).ToArray();
        // View 0: copies 0 and 2 are patient a's two scans, 1 and 3 patient b's; view 1 is copies 4–7.
        Copy(2, shared).Should().Equal(Copy(0, shared), "patient a's scans share the draw");
        Copy(3, shared).Should().Equal(Copy(1, shared));
        Copy(1, shared).Should().NotEqual(Copy(0, shared), "another patient draws again");
        Copy(4, shared).Should().NotEqual(Copy(0, shared), "the second view draws again");
        Copy(6, shared).Should().Equal(Copy(4, shared));
        // Without the option every copy draws on its own.
        Copy(2, NoNoise).Should().NotEqual(Copy(0, NoNoise));
    }

    [Fact]
    public void The_noise_stays_per_scan_and_without_the_option_a_copy_is_augmented_from_its_own_stream_as_before()
    {
        var data = SameClips();
        int[] batch = { 0, 1, 2, 3 };
        var step = new Rng(5);
        var noisy = new AugmentationOptions { MaxBrightness = 0.2f, NoiseStd = 0.1f, SharedWithinPatient = true };
        var a0 = Augment.ApplyToCopy(data.Scans[0].LoadPayload(), step, 0, batch, data, noisy).ToArray();
        var a1 = Augment.ApplyToCopy(data.Scans[1].LoadPayload(), step, 1, batch, data, noisy).ToArray();
        a1.Should().NotEqual(a0, "the noise is drawn per scan");
        // The shared part is the same: the mean differs by the noise's mean only (σ 0.1 over 128 pixels: well under 0.05).
        Math.Abs(a1.Average() - a0.Average()).Should().BeLessThan(0.05f);

        var plain = noisy with { SharedWithinPatient = false };
        for (int copy = 0; copy < 4; copy++)
        {
            var x = data.Scans[batch[copy]].LoadPayload();
            Augment.ApplyToCopy(x, step, copy, batch, data, plain).ToArray()
                .Should().Equal(Augment.Apply(x, step.Fork((ulong)copy), plain).ToArray(), "one draw per copy, from the copy's stream");
        }
    }

    [Fact]
    public void Two_generators_split_the_draws_between_the_transforms_and_the_noise()
    {
        var x = Tensor.Normal(new Rng(9), 0, 1, 2, 8, 8);
        var o = new AugmentationOptions { MaxShift = 1, MaxBrightness = 0.2f, NoiseStd = 0.05f };
        var one = new Rng(1);
        Augment.Apply(x, one, one, o).ToArray().Should().Equal(Augment.Apply(x, new Rng(1), o).ToArray(),
            "one generator for both parts is the one-generator overload");
        var noNoise = o with { NoiseStd = 0 };
        Augment.Apply(x, new Rng(1), new Rng(2), noNoise).ToArray().Should().Equal(Augment.Apply(x, new Rng(1), new Rng(3), noNoise).ToArray(),
            "without noise the second generator is not read");
        var noiseOnly = new AugmentationOptions { FlipProbability = 0, MaxBrightness = 0, MaxContrast = 0, NoiseStd = 0.05f };
        Augment.Apply(x, new Rng(1), new Rng(2), noiseOnly).ToArray().Should().Equal(Augment.Apply(x, new Rng(4), new Rng(2), noiseOnly).ToArray(),
            "the noise comes from the second generator only");
    }

    [Fact]
    public void A_pretraining_run_with_shared_draws_is_deterministic_and_differs_from_per_scan_draws()
    {
        var data = SyntheticClips();
        float[] Run(bool shared)
        {
            var encoder = new Learner.Encoders.Cnn2dEncoder(new Learner.Encoders.ConvEncoderOptions { Widths = new[] { 4 }, EmbeddingDimension = 4, Seed = 2, InputChannels = 2 });
            var options = TrainingOptions() with { Augmentation = new AugmentationOptions { MaxShift = 1, SharedWithinPatient = shared } };
            var objective = new Learner.Objectives.MseScoreRegression(new Learner.Objectives.Options.MseOptions { EmbeddingDimension = 4 });
            new Pretrainer(encoder, data, new Learner.Sampling.PatientBatchSampler(data, 2, 2), objective, options).Run();
            return encoder.Module.StateEntries().SelectMany(p => p.Value.ToArray()).ToArray();
        }
        var first = Run(true);
        Run(true).Should().Equal(first, "the same seed gives the same run");
        Run(false).Should().NotEqual(first);
    }

    private static PretrainingOptions TrainingOptions() => new()
    {
        Epochs = 1, StepsPerEpoch = 3, Seed = 4, WarmupSteps = 1, Optimizer = new Learner.Encoders.EncoderOptimizerOptions { LearningRate = 1e-2 },
    };

    /// <summary>Four patients × two visits of distinct 2 × 8 × 8 clips with scores.</summary>
    private static LongitudinalDataset SyntheticClips()
    {
        var rng = new Rng(8);
        var scans = new List<Scan>();
        for (int p = 0; p < 4; p++)
            for (int v = 0; v < 2; v++)
                scans.Add(new Scan($"p{p}-{v}", $"p{p}", v, 100 + 40 * p + 10 * v, payload: new TensorPayload(Tensor.Normal(rng, 0, 1, 2, 8, 8))));
        return new LongitudinalDataset(scans, higherIsHealthier: true);
    }
}
