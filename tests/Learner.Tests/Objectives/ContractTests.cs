using Learner.Objectives;
using Learner.Objectives.Options;
using static Learner.Tests.Objectives.ObjectiveHarness;

namespace Learner.Tests.Objectives;

/// <summary>The public objective contract: Requires (must be present) against Reads (read when present), results that a
/// later call does not change, sub-terms and mining statistics, the options base class.</summary>
public class ContractTests
{
    [Fact]
    public void Requires_lists_what_must_be_present_and_Reads_what_is_used_when_present()
    {
        var pairs = new ContrastiveLoss(new ContrastiveOptions { UseProvidedPairs = true, InterPatientOnly = true });
        pairs.Requires.Should().Be(BatchFields.None, "sampler pairs or labels will do");
        pairs.Reads.Should().Be(BatchFields.Pairs | BatchFields.Labels | BatchFields.PatientIds);
        new ContrastiveLoss(new ContrastiveOptions { UseProvidedPairs = false }).Requires.Should().Be(BatchFields.Labels);
        new SupConLoss().Reads.Should().Be(BatchFields.Labels | BatchFields.SecondView);
        new SupConLoss().Requires.Should().Be(BatchFields.Labels, "a second view is used when given, never required");
        new WeightedContrastiveLoss().Requires.Should().Be(BatchFields.Scores);
        new TripletLoss(new TripletOptions { Selection = TripletSelection.Provided }).Requires.Should().Be(BatchFields.Triplets);
        var composite = new CompositeObjective(new CompositeTerm("a", pairs, 1), new CompositeTerm("b", new SupConLoss(), 1));
        composite.Requires.Should().Be(BatchFields.Labels);
        composite.Reads.Should().Be(BatchFields.Pairs | BatchFields.Labels | BatchFields.PatientIds | BatchFields.SecondView);
        // What Requires names is refused by name when absent.
        var r = Random(1, 6, 3);
        Assert.Throws<ObjectiveInputException>(() => new SupConLoss().Compute(new EmbeddingBatch(F(r.E), 6, 3), default)).Field.Should().Be("Labels");
    }

    [Fact]
    public void A_result_is_not_changed_by_the_next_call()
    {
        // A composite of more than two terms is the case whose terms live in an array rather than inline: the result
        // of one call must keep its values when the objective computes the next batch.
        var o = new CompositeObjective(
            new CompositeTerm("contrastive", new ContrastiveLoss(new ContrastiveOptions { UseProvidedPairs = false }), 1),
            new CompositeTerm("supcon", new SupConLoss(), 0.5),
            new CompositeTerm("ntxent", new NtXentLoss(), 0.25));
        var a = Random(2, 8, 4); var b = Random(3, 8, 4);
        var first = o.Compute(new EmbeddingBatch(F(a.E), 8, 4) { Labels = a.Labels }, default);
        var terms = first.Terms; var parts = first.Parts;
        terms.Count.Should().BeGreaterThan(2);
        var values = Enumerable.Range(0, terms.Count).Select(k => terms[k].Value).ToArray();
        var partValues = Enumerable.Range(0, parts.Count).Select(k => parts[k].Value).ToArray();
        var second = o.Compute(new EmbeddingBatch(F(b.E), 8, 4) { Labels = b.Labels }, default);
        second.Loss.Should().NotBe(first.Loss);
        for (int k = 0; k < values.Length; k++)
        {
            first.Terms[k].Value.Should().Be(values[k]);
            terms[k].Value.Should().Be(values[k]);
            second.Terms[k].Value.Should().NotBe(values[k]);
        }
        for (int k = 0; k < partValues.Length; k++) parts[k].Value.Should().Be(partValues[k]);
    }

    [Fact]
    public void Objectives_report_their_parts_and_what_they_mined()
    {
        int b = 7;
        var r = Random(4, b, 5, classes: 3);
        var e = F(r.E);
        var c = new ContrastiveLoss(ContrastiveOptions.PytorchMetricLearning).Compute(new EmbeddingBatch(e, b, 5) { Labels = r.Labels }, default);
        c.Parts.Count.Should().Be(2);
        c.Parts[0].Name.Should().Be("contrastive.positive");
        c.Parts[1].Name.Should().Be("contrastive.negative");
        (c.Parts[0].Value + c.Parts[1].Value).Should().BeApproximately(c.Loss, 1e-12);
        int positives = 0;
        for (int i = 0; i < b; i++) for (int j = i + 1; j < b; j++) if (r.Labels![i] == r.Labels[j]) positives++;
        c.Mining.Pairs.Should().Be(b * (b - 1) / 2);
        c.Mining.PositivePairs.Should().Be(positives);
        c.Mining.Active.Should().Be(c.ActiveCount);
        var t = new TripletLoss(new TripletOptions { Selection = TripletSelection.BatchAll }).Compute(new EmbeddingBatch(e, b, 5) { Labels = r.Labels }, default);
        long triplets = 0;
        for (int a = 0; a < b; a++)
            triplets += (long)Enumerable.Range(0, b).Count(p => p != a && r.Labels![p] == r.Labels[a]) * Enumerable.Range(0, b).Count(q => r.Labels![q] != r.Labels[a]);
        t.Mining.Triplets.Should().Be(triplets);
        var n = new NtXentLoss().Compute(new EmbeddingBatch(e, b, 5) { Labels = r.Labels }, default);
        n.Mining.PositivePairs.Should().Be(2 * positives, "ordered positive pairs");
        var composite = new CompositeObjective(new CompositeTerm("pull", new ContrastiveLoss(ContrastiveOptions.PytorchMetricLearning), 0.5))
            .Compute(new EmbeddingBatch(e, b, 5) { Labels = r.Labels }, default);
        composite.Parts.ToArray().Select(p => p.Name).Should().Equal("pull.positive", "pull.negative");
        composite.Parts[0].Weight.Should().Be(0.5);
        composite.Mining.Pairs.Should().Be(b * (b - 1) / 2);
    }

    [Fact]
    public void The_options_base_validates_once_and_defaults_null_options()
    {
        new NtXentLoss().Options.Should().Be(new NtXentOptions());
        Assert.Throws<ArgumentOutOfRangeException>(() => new NtXentLoss(new NtXentOptions { Temperature = 0 })).ParamName.Should().Be("Temperature");
        Assert.Throws<ArgumentOutOfRangeException>(() => new TripletLoss(new TripletOptions { Reduction = Learner.Objectives.Reducers.Reduction.PositiveNegativeMeansOverActive }))
            .Message.Should().Contain("a triplet has no positive/negative parts");
    }
}
