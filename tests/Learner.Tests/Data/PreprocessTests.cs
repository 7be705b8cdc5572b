using Learner.Data;
using Learner.Nn;

namespace Learner.Tests.Data;

public class PreprocessTests
{
    private static Tensor FromFixture(System.Text.Json.JsonElement e) =>
        new(DataFixtures.Values(e).Select(v => (float)v).ToArray(), DataFixtures.Shape(e));

    public static TheoryData<string> ResizeCases()
    {
        var d = new TheoryData<string>();
        foreach (var p in DataFixtures.Section("resize").EnumerateObject())
            if (p.Name.Contains('_')) d.Add(p.Name);
        return d;
    }

    [Theory]
    [MemberData(nameof(ResizeCases))]
    public void Resize_matches_torch_interpolate(string name)
    {
        var section = DataFixtures.Section("resize");
        var expected = section.GetProperty(name);
        var shape = DataFixtures.Shape(expected);
        Tensor got = name.StartsWith("bilinear", StringComparison.Ordinal)
            ? Preprocess.ResizeBilinear(FromFixture(section.GetProperty("clip")), shape[^2], shape[^1])
            : Preprocess.ResizeTrilinear(FromFixture(section.GetProperty("volume")), shape[^3], shape[^2], shape[^1]);
        got.ShapeArray.Should().Equal(shape);
        var want = DataFixtures.Values(expected);
        var data = got.ToArray();
        for (int i = 0; i < want.Length; i++) data[i].Should().BeApproximately((float)want[i], 2e-5f, $"element {i}");
    }

    [Fact]
    public void Resize_to_the_same_size_is_identity_and_batches_leading_axes()
    {
        var x = Tensor.Normal(new Rng(2), 0, 1, 2, 3, 5, 6);
        Preprocess.ResizeBilinear(x, 5, 6).ToArray().Should().Equal(x.ToArray());
        Preprocess.ResizeTrilinear(x, 3, 5, 6).ToArray().Should().Equal(x.ToArray());
        Preprocess.ResizeBilinear(x, 10, 3).ShapeArray.Should().Equal(2, 3, 10, 3);
        FluentActions.Invoking(() => Preprocess.ResizeTrilinear(Tensor.Zeros(3, 3), 2, 2, 2)).Should().Throw<ShapeMismatchException>();
    }

    [Fact]
    public void Percentiles_match_numpy()
    {
        var e = DataFixtures.Section("percentile");
        var sorted = DataFixtures.Values(e).Select(v => (float)v).OrderBy(v => v).ToArray();
        var qs = e.GetProperty("q").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        var expected = e.GetProperty("expected").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        for (int i = 0; i < qs.Length; i++) Preprocess.Percentile(sorted, qs[i]).Should().BeApproximately(expected[i], 1e-6);
    }

    [Fact]
    public void Normalizations_have_their_defining_properties()
    {
        var x = Tensor.Normal(new Rng(3), 5, 3, 4, 8, 8);
        x.Data[7] = 1000; // an outlier
        var z = Preprocess.Normalize(x, IntensityNormalization.ZScore).ToArray();
        ((double)z.Average()).Should().BeApproximately(0, 1e-4);
        Math.Sqrt(z.Select(v => (double)v * v).Average()).Should().BeApproximately(1, 1e-4);
        var m = Preprocess.Normalize(x, IntensityNormalization.MinMax).ToArray();
        m.Min().Should().Be(0);
        m.Max().Should().BeApproximately(1, 1e-6f);
        var p = Preprocess.Normalize(x, IntensityNormalization.PercentileClip, 1, 99).ToArray();
        p.Min().Should().Be(0);
        p.Max().Should().BeApproximately(1, 1e-6f);
        p.Count(v => v >= 0.999f).Should().BeGreaterThan(1, "the top percent is clipped to 1, not just the outlier");
        Preprocess.Normalize(Tensor.Full(3, 5), IntensityNormalization.ZScore).ToArray().Should().AllBeEquivalentTo(0f);
        Preprocess.Normalize(x, IntensityNormalization.None).ToArray().Should().Equal(x.ToArray());
        var nan = Tensor.Zeros(4);
        nan.Data[2] = float.NaN;
        FluentActions.Invoking(() => Preprocess.Normalize(nan, IntensityNormalization.MinMax)).Should().Throw<NonFiniteValueException>().WithMessage("*index 2*");
        FluentActions.Invoking(() => Preprocess.Normalize(x, IntensityNormalization.PercentileClip, 50, 10)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Frame_sampling_uniform_and_contiguous()
    {
        var clip = new Tensor(Enumerable.Range(0, 10).SelectMany(t => Enumerable.Repeat((float)t, 4)).ToArray(), 10, 2, 2);
        FirstValues(Preprocess.SampleFramesUniform(clip, 4)).Should().Equal(0, 3, 6, 9);
        FirstValues(Preprocess.SampleFramesUniform(clip, 1)).Should().Equal(4);
        FirstValues(Preprocess.SampleFramesUniform(Preprocess.SampleFramesUniform(clip, 3), 5)).Should().Equal(0, 5, 5, 9, 9); // repeats when short
        var c = FirstValues(Preprocess.SampleFramesContiguous(clip, 4, new Rng(9)));
        c.Should().HaveCount(4);
        c.Zip(c.Skip(1), (a, b) => b - a).Should().AllBeEquivalentTo(1f);
        FirstValues(Preprocess.SampleFramesContiguous(clip, 4, new Rng(9))).Should().Equal(c);
        FluentActions.Invoking(() => Preprocess.SampleFramesContiguous(clip, 11, new Rng(1))).Should().Throw<ShapeMismatchException>().WithMessage("*11*10*");
    }

    private static float[] FirstValues(Tensor t)
    {
        int f = t.Size / t.Dim(0);
        return Enumerable.Range(0, t.Dim(0)).Select(i => t.Data[i * f]).ToArray();
    }

    [Fact]
    public void Augmentations_are_seeded_and_shape_correct()
    {
        var x = Tensor.Normal(new Rng(4), 0, 1, 3, 16, 20);
        var opts = new AugmentationOptions { CropHeight = 12, CropWidth = 14, FlipProbability = 0.5, NoiseStd = 0.1f };
        var a = Augment.Apply(x, new Rng(77), opts);
        var b = Augment.Apply(x, new Rng(77), opts);
        a.ShapeArray.Should().Equal(3, 12, 14);
        a.ToArray().Should().Equal(b.ToArray());
        Augment.Apply(x, new Rng(78), opts).ToArray().Should().NotEqual(a.ToArray());
        x.ToArray().Should().Equal(Tensor.Normal(new Rng(4), 0, 1, 3, 16, 20).ToArray(), "inputs are not modified");

        var flipped = Augment.RandomFlip(x, new Rng(1), probability: 1);
        flipped[0, 0, 0].Should().Be(x[0, 0, 19]);
        Augment.RandomFlip(flipped, new Rng(1), probability: 1).ToArray().Should().Equal(x.ToArray());
        Augment.RandomFlip(x, new Rng(1), probability: 0).ToArray().Should().Equal(x.ToArray());

        var crop = Augment.Crop(x, 2, 3, 4, 5);
        crop[1, 0, 0].Should().Be(x[1, 2, 3]);
        crop[2, 3, 4].Should().Be(x[2, 5, 7]);
        FluentActions.Invoking(() => Augment.RandomCrop(x, 17, 4, new Rng(1))).Should().Throw<ShapeMismatchException>();

        var big = Tensor.Zeros(100_000);
        var noisy = Augment.GaussianNoise(big, new Rng(5), 0.5f).ToArray();
        Math.Sqrt(noisy.Select(v => (double)v * v).Average()).Should().BeApproximately(0.5, 0.01);

        var bc = Augment.BrightnessContrast(x, new Rng(6), 0.2f, 0.3f).ToArray();
        var xs = x.ToArray();
        double mx = xs.Average(), mb = bc.Average();
        Math.Abs(mb - mx).Should().BeLessThanOrEqualTo(0.2 + 1e-5);
        double sx = Math.Sqrt(xs.Select(v => (v - mx) * (v - mx)).Average()), sb = Math.Sqrt(bc.Select(v => (v - mb) * (v - mb)).Average());
        (sb / sx).Should().BeInRange(0.7 - 1e-5, 1.3 + 1e-5);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(2, -3)]
    [InlineData(-1, 4)]
    [InlineData(16, 0)]
    [InlineData(0, -25)]
    [InlineData(-40, 40)]
    [InlineData(int.MinValue, int.MaxValue)]
    [InlineData(int.MaxValue, int.MinValue)]
    public void Shift_translates_the_last_two_axes_with_the_edges_repeated(int dy, int dx)
    {
        var x = Tensor.Normal(new Rng(9), 0, 1, 2, 3, 16, 20);
        var y = Augment.Shift(x, dy, dx);
        y.ShapeArray.Should().Equal(2, 3, 16, 20);
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 3; b++)
                for (int r = 0; r < 16; r++)
                    for (int c = 0; c < 20; c++)
                        y[a, b, r, c].Should().Be(x[a, b, (int)Math.Clamp((long)r - dy, 0, 15), (int)Math.Clamp((long)c - dx, 0, 19)], $"pixel ({a}, {b}, {r}, {c})");
        var plane = Tensor.Normal(new Rng(2), 0, 1, 5, 7);
        Augment.Shift(plane, 1, -2)[3, 1].Should().Be(plane[2, 3], "rank 2 works");
    }

    [Fact]
    public void RandomShift_moves_every_frame_together_within_the_bound_and_is_seeded()
    {
        var x = Tensor.Normal(new Rng(3), 0, 1, 4, 12, 12);
        var seen = new HashSet<(int, int)>();
        for (ulong seed = 0; seed < 200; seed++)
        {
            var y = Augment.RandomShift(x, 2, new Rng(seed));
            Augment.RandomShift(x, 2, new Rng(seed)).ToArray().Should().Equal(y.ToArray());
            // Exactly one offset in ±2 reproduces the output, for all four frames at once.
            var match = (from dy in Enumerable.Range(-2, 5) from dx in Enumerable.Range(-2, 5)
                         where Augment.Shift(x, dy, dx).ToArray().SequenceEqual(y.ToArray()) select (dy, dx)).ToList();
            match.Should().ContainSingle();
            seen.Add(match[0]);
        }
        seen.Should().HaveCount(25, "every offset in ±2 × ±2 is drawn");
        Augment.RandomShift(x, 0, new Rng(1)).ToArray().Should().Equal(x.ToArray());
        FluentActions.Invoking(() => Augment.RandomShift(x, -1, new Rng(1))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*-1*");
        FluentActions.Invoking(() => Augment.Shift(Tensor.Zeros(5), 1, 1)).Should().Throw<ShapeMismatchException>().WithMessage("*[5]*");
        var flipOnly = new AugmentationOptions { FlipProbability = 0.5, MaxBrightness = 0, MaxContrast = 0, NoiseStd = 0 };
        for (ulong seed = 0; seed < 8; seed++)
        {
            var rng = new Rng(seed);
            var expected = Augment.RandomFlip(Augment.RandomShift(x, 3, rng), rng, 0.5);
            Augment.Apply(x, new Rng(seed), flipOnly with { MaxShift = 3 }).ToArray().Should().Equal(expected.ToArray(), "Apply shifts, then flips, from one generator");
        }
        FluentActions.Invoking(() => Augment.Apply(x, new Rng(1), flipOnly with { MaxShift = -2 })).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*-2*");
    }

    [Fact]
    public void NormalizeIntensities_z_scores_every_scan_on_load_and_keeps_ids_scores_and_labels()
    {
        var scans = new[]
        {
            new Scan("a", "p", 0, 10, 1, new TensorPayload(new Tensor(new[] { 1f, 2f, 3f, 4f }, 4)), exactScore: 11),
            new Scan("b", "p", 1, 20, 2, new TensorPayload(new Tensor(new[] { 10f, 30f, 10f, 30f }, 4))),
            new Scan("c", "q", 0, 30, 0),
        };
        var data = new LongitudinalDataset(scans, higherIsHealthier: true);
        var none = Preprocess.NormalizeIntensities(data, IntensityNormalization.None);
        none.Scans.Should().BeSameAs(data.Scans, "none keeps the payloads");
        none.Normalization.Should().Be(new ScanNormalization(IntensityNormalization.None, 1), "and records the choice");
        data.Normalization.Should().BeNull();
        var z = Preprocess.NormalizeIntensities(data, IntensityNormalization.ZScore);
        z.Scans.Select(s => (s.Id, s.PatientId, s.Time, s.Score, s.CoarseLabel, s.ExactScore)).Should().Equal(data.Scans.Select(s => (s.Id, s.PatientId, s.Time, s.Score, s.CoarseLabel, s.ExactScore)));
        z.Scans[2].Payload.Should().BeNull();
        foreach (var s in z.Scans.Take(2))
        {
            var v = s.LoadPayload().ToArray();
            ((double)v.Average()).Should().BeApproximately(0, 1e-6);
            Math.Sqrt(v.Select(x => x * x).Average()).Should().BeApproximately(1, 1e-5);
        }
        z.Scans[1].LoadPayload().ToArray().Should().Equal(-1f, 1f, -1f, 1f);
        data.Scans[1].LoadPayload().ToArray().Should().Equal(new[] { 10f, 30f, 10f, 30f }, "the source dataset is unchanged");
        // minimumRank 2 (the experiment's default): clips and volumes are normalised, feature vectors are not.
        var images = Preprocess.NormalizeIntensities(data, IntensityNormalization.ZScore, minimumRank: 2);
        images.Scans[1].LoadPayload().ToArray().Should().Equal(new[] { 10f, 30f, 10f, 30f }, "a rank-1 payload is a feature vector");
        var clip = new LongitudinalDataset(new[] { new Scan("k", "p", 0, 1, 0, new TensorPayload(new Tensor(new[] { 10f, 30f, 10f, 30f }, 2, 2))) }, true);
        Preprocess.NormalizeIntensities(clip, IntensityNormalization.ZScore, minimumRank: 2).Scans[0].LoadPayload().ToArray().Should().Equal(-1f, 1f, -1f, 1f);
    }

    [Fact]
    public void A_normalised_dataset_records_its_normalisation_is_not_normalised_twice_and_shares_its_views()
    {
        var data = new LongitudinalDataset([new Scan("k", "p", 0, 1, 0, new TensorPayload(new Tensor([10f, 30f, 10f, 30f], 2, 2)))], true);
        var z = ScanNormalization.Default.Apply(data);

        z.Normalization.Should().Be(ScanNormalization.Default);
        z.SubsetByPatients(["p"]).WithoutScores().Normalization.Should().Be(ScanNormalization.Default, "derived datasets keep the record");
        ScanNormalization.Default.Apply(z).Should().BeSameAs(z);
        FluentActions.Invoking(() => Preprocess.NormalizeIntensities(z, IntensityNormalization.MinMax)).Should().Throw<ArgumentException>().WithMessage("*already normalised (zscore:2)*");
        ScanNormalization.Default.Apply(data).Scans[0].Payload.Should().BeSameAs(z.Scans[0].Payload, "one view per payload and normalisation");
        ScanNormalization.Parse(ScanNormalization.Default.ToString()).Should().Be(ScanNormalization.Default);
        ScanNormalization.Parse("percentile-clip:0").Should().Be(new ScanNormalization(IntensityNormalization.PercentileClip, 0));
        FluentActions.Invoking(() => ScanNormalization.Parse("zscore")).Should().Throw<FormatException>();
    }
}
