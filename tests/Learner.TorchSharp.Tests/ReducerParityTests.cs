using Learner.Objectives;
using Learner.Objectives.Options;
using Learner.Objectives.Reducers;
using Learner.TorchSharp.Objectives;

namespace Learner.TorchSharp.Tests;

/// <summary>A user-written <see cref="ReducerBase"/> on the device pair and triplet objectives: the terms copied to the
/// host, weighed by the reducer and the weights pushed back give the managed objective's values, parts and gradients.</summary>
public class ReducerParityTests
{
    private const double Tolerance = 1e-5;

    /// <summary>The mean of the hardest half of the terms (ties at the cut included), positive pairs counted twice:
    /// weights that depend on each term's rank and kind, so neither a count reducer nor an order-blind copy gives them.</summary>
    sealed class HardestHalf : ReducerBase
    {
        public override void Weights(ReadOnlySpan<double> terms, ReadOnlySpan<TermKind> kinds, Span<double> weights)
        {
            if (terms.Length == 0) return;
            var sorted = terms.ToArray();
            Array.Sort(sorted);
            double cut = sorted[terms.Length - Math.Max(1, terms.Length / 2)];
            int kept = 0;
            foreach (double t in terms) if (t >= cut) kept++;
            for (int k = 0; k < terms.Length; k++)
                weights[k] = terms[k] >= cut ? (kinds[k] == TermKind.PositivePair ? 2.0 : 1.0) / kept : 0;
        }
    }

    static EmbeddingBatch Batch(int seed, bool pairs, bool views = false)
    {
        const int b = 10, d = 5;
        var rng = new Learner.Nn.Rng((ulong)seed);
        var e = new float[b * d];
        for (int k = 0; k < e.Length; k++) e[k] = (float)rng.NextGaussian();
        var labels = Enumerable.Range(0, b).Select(i => i % 3).ToArray();
        var scores = Enumerable.Range(0, b).Select(_ => MathF.Round((float)(rng.NextDouble() * 4), 1)).ToArray();
        var sampled = Enumerable.Range(0, 14).Select(k => new IndexPair(k % b, (k * 3 + 1) % b, k % 3 == 0)).Where(p => p.First != p.Second).ToArray();
        var triplets = new[] { new IndexTriplet(0, 3, 1), new IndexTriplet(4, 7, 2), new IndexTriplet(5, 8, 9), new IndexTriplet(6, 9, 1), new IndexTriplet(2, 5, 0) };
        return new EmbeddingBatch(e, b, d)
        {
            Labels = labels, Scores = scores, PatientIds = Enumerable.Range(0, b).Select(i => i / 2).ToArray(),
            Pairs = pairs ? sampled : default, Triplets = triplets,
            SecondView = views ? e.Select((x, k) => e[(k + 7) % e.Length] * 0.8f + 0.1f).ToArray() : default,
        };
    }

    /// <summary>Device and managed agree on value, parts and gradient, and the reducer changed the value (against the
    /// options' own reduction on the device).</summary>
    static void Same(IObjective managed, TorchSharpObjective device, TorchSharpObjective builtIn, EmbeddingBatch batch, string what)
    {
        var gm = new float[batch.Embeddings.Length]; var gd = new float[gm.Length];
        var rm = managed.Compute(batch, gm);
        var rd = device.Compute(batch, gd);
        rm.Loss.Should().BeGreaterThan(0, what);
        (Math.Abs(rd.Loss - rm.Loss) / Math.Abs(rm.Loss)).Should().BeLessThan(Tolerance, $"{what}: loss {rd.Loss} vs {rm.Loss}");
        double max = gm.Max(Math.Abs);
        max.Should().BeGreaterThan(0, what);
        for (int k = 0; k < gm.Length; k++) ((double)Math.Abs(gd[k] - gm[k])).Should().BeLessThan(Tolerance * max, $"{what}: grad[{k}]");
        rd.Parts.Count.Should().Be(rm.Parts.Count, what);
        for (int p = 0; p < rm.Parts.Count; p++) rd.Parts[p].Value.Should().BeApproximately(rm.Parts[p].Value, Tolerance * Math.Max(1, rm.Loss), what);
        rd.Mining.Should().Be(rm.Mining, what);
        builtIn.Compute(batch, default).Loss.Should().NotBeApproximately(rd.Loss, 1e-3 * rd.Loss, $"{what}: the reducer is used");
    }

    [TorchSharpFact]
    public void A_user_reducer_gives_the_managed_values_on_the_device_pair_objectives()
    {
        var dev = TestDevice.Current;
        foreach (bool pairs in new[] { false, true })
            foreach (bool patients in new[] { false, true })
            {
                var batch = Batch(5, pairs);
                var c = new ContrastiveOptions { Margin = 2f, UseProvidedPairs = pairs, InterPatientOnly = patients };
                using (var d = new TorchSharpContrastiveLoss(c, dev, reducer: new HardestHalf()))
                using (var plain = new TorchSharpContrastiveLoss(c, dev))
                    Same(new ContrastiveLoss(c, null, new HardestHalf()), d, plain, batch, $"contrastive pairs={pairs} patients={patients}");
                var w = new WeightedContrastiveOptions { Margin = 2f, PositiveThreshold = 0.3f, UseProvidedPairs = pairs, InterPatientOnly = patients };
                using (var d = new TorchSharpWeightedContrastiveLoss(w, dev, reducer: new HardestHalf()))
                using (var plain = new TorchSharpWeightedContrastiveLoss(w, dev))
                    Same(new WeightedContrastiveLoss(w, null, new HardestHalf()), d, plain, batch, $"weighted pairs={pairs} patients={patients}");
            }
    }

    [TorchSharpFact]
    public void A_user_reducer_gives_the_managed_values_on_the_device_triplet_objective()
    {
        var dev = TestDevice.Current;
        foreach (var selection in new[] { TripletSelection.BatchHard, TripletSelection.Provided })
        {
            var t = new TripletOptions { Selection = selection, Margin = 1.5f, Reduction = Reduction.Mean };
            using var d = new TorchSharpTripletLoss(t, dev, reducer: new HardestHalf());
            using var plain = new TorchSharpTripletLoss(t, dev);
            Same(new TripletLoss(t, null, new HardestHalf()), d, plain, Batch(7, pairs: false), $"triplet {selection}");
        }
        foreach (var selection in new[] { TripletSelection.BatchAll, TripletSelection.SemiHard })
            Assert.Throws<ArgumentException>(() => new TorchSharpTripletLoss(new TripletOptions { Selection = selection }, dev, reducer: new HardestHalf()))
                .ParamName.Should().Be("reducer");
        using var counted = new TorchSharpTripletLoss(new TripletOptions { Selection = TripletSelection.BatchAll }, dev, reducer: SumReducer.Instance);
        counted.Reducer.Should().BeSameAs(SumReducer.Instance);
    }

    /// <summary>The per-anchor objectives with a user reducer, managed and on the device, with and without a second view.</summary>
    public static TheoryData<string> AnchorObjectives() => new() { "ntxent", "rnc", "supcon", "y-aware", "infonce", "infonce-symmetric", "infonce-ntxent" };

    static InfoNceOptions Nce(InfoNceVariant variant) => new() { Temperature = 0.5f, Variant = variant };

    /// <summary>Managed, device with the reducer, device with its mean; Views: null reads both batch shapes, false none,
    /// true needs a second view.</summary>
    static (IObjective Managed, TorchSharpObjective Device, TorchSharpObjective BuiltIn, bool? Views) Anchor(string name, ReducerBase reducer, global::TorchSharp.torch.Device dev) => name switch
    {
        "ntxent" => (new NtXentLoss(new NtXentOptions { Temperature = 0.5f }, reducer), new TorchSharpNtXentLoss(new NtXentOptions { Temperature = 0.5f }, dev, reducer),
            new TorchSharpNtXentLoss(new NtXentOptions { Temperature = 0.5f }, dev), null),
        "rnc" => (new RankNContrastLoss(new RankNContrastOptions { Temperature = 2f }, reducer), new TorchSharpRankNContrastLoss(new RankNContrastOptions { Temperature = 2f }, dev, reducer),
            new TorchSharpRankNContrastLoss(new RankNContrastOptions { Temperature = 2f }, dev), false),
        "supcon" => (new SupConLoss(new SupConOptions { Temperature = 0.5f }, reducer), new TorchSharpSupConLoss(new SupConOptions { Temperature = 0.5f }, dev, reducer),
            new TorchSharpSupConLoss(new SupConOptions { Temperature = 0.5f }, dev), null),
        "y-aware" => (new YAwareInfoNceLoss(new YAwareOptions { Temperature = 0.5f, Sigma = 0.8f }, reducer),
            new TorchSharpYAwareInfoNceLoss(new YAwareOptions { Temperature = 0.5f, Sigma = 0.8f }, dev, reducer),
            new TorchSharpYAwareInfoNceLoss(new YAwareOptions { Temperature = 0.5f, Sigma = 0.8f }, dev), null),
        "infonce" => (new InfoNceLoss(Nce(InfoNceVariant.CrossView), reducer), new TorchSharpInfoNceLoss(Nce(InfoNceVariant.CrossView), dev, reducer),
            new TorchSharpInfoNceLoss(Nce(InfoNceVariant.CrossView), dev), true),
        "infonce-symmetric" => (new InfoNceLoss(Nce(InfoNceVariant.Symmetric), reducer), new TorchSharpInfoNceLoss(Nce(InfoNceVariant.Symmetric), dev, reducer),
            new TorchSharpInfoNceLoss(Nce(InfoNceVariant.Symmetric), dev), true),
        "infonce-ntxent" => (new InfoNceLoss(Nce(InfoNceVariant.NtXent), reducer), new TorchSharpInfoNceLoss(Nce(InfoNceVariant.NtXent), dev, reducer),
            new TorchSharpInfoNceLoss(Nce(InfoNceVariant.NtXent), dev), true),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown"),
    };

    [TorchSharpTheory]
    [MemberData(nameof(AnchorObjectives))]
    public void A_user_reducer_over_anchor_terms_gives_the_managed_values_on_the_device(string name)
    {
        foreach (bool views in new[] { false, true })
        {
            var (managed, device, builtIn, readsViews) = Anchor(name, new HardestHalf(), TestDevice.Current);
            using (device)
            using (builtIn)
            {
                if (readsViews is { } only && only != views) continue;
                var batch = Batch(9, pairs: false, views);
                int len = batch.Embeddings.Length;
                float[] gm = new float[len], gd = new float[len], sm = new float[views ? len : 0], sd = new float[views ? len : 0];
                var rm = managed.Compute(batch, gm, sm);
                var rd = device.Compute(batch, gd, sd);
                string what = $"{name} views={views}";
                rm.Loss.Should().BeGreaterThan(0, what);
                (Math.Abs(rd.Loss - rm.Loss) / rm.Loss).Should().BeLessThan(Tolerance, $"{what}: loss {rd.Loss} vs {rm.Loss}");
                double max = gm.Concat(sm).Max(Math.Abs);
                for (int k = 0; k < len; k++) ((double)Math.Abs(gd[k] - gm[k])).Should().BeLessThan(Tolerance * max, $"{what}: grad[{k}]");
                for (int k = 0; k < sm.Length; k++) ((double)Math.Abs(sd[k] - sm[k])).Should().BeLessThan(Tolerance * max, $"{what}: second-view grad[{k}]");
                rd.Mining.Should().Be(rm.Mining, what);
                builtIn.Compute(batch, default).Loss.Should().BeLessThan(rd.Loss * 0.98, $"{what}: the hardest half averages above the mean");
            }
        }
    }
}
