using Learner.Data;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Objectives;
using Learner.Objectives.Miners;
using Learner.Objectives.Options;
using Learner.Training;

namespace Learner.Tests.Objectives;

/// <summary>The early data check refuses what a step would refuse: an objective that takes the sampler's pairs or coarse
/// labels needs the labels when its batch source draws no pairs.</summary>
public class RequiresGivenTests
{
    [Fact]
    public void Pair_objectives_need_labels_unless_the_batches_carry_pairs()
    {
        var contrastive = new ContrastiveLoss(new ContrastiveOptions { UseProvidedPairs = true });
        contrastive.Requires.Should().Be(BatchFields.None, "either pairs or labels will do");
        contrastive.RequiresGiven(BatchFields.Pairs).Should().Be(BatchFields.None);
        contrastive.RequiresGiven(BatchFields.None).Should().Be(BatchFields.Labels);
        new ContrastiveLoss(new ContrastiveOptions { UseProvidedPairs = false }).RequiresGiven(BatchFields.Pairs).Should().Be(BatchFields.Labels);
        new PairPenaltyLoss("p", new Learner.Examples.Extensions.SoftMarginPenalty()).RequiresGiven(BatchFields.None).Should().Be(BatchFields.Labels);
        new WeightedContrastiveLoss().RequiresGiven(BatchFields.None).Should().Be(BatchFields.Scores);
        // A miner supplies the pairs itself (and needs labels for them); a composite unites its components.
        new MinedObjective(new PairMarginMiner(), contrastive).RequiresGiven(BatchFields.None).Should().Be(BatchFields.Labels);
        new CompositeObjective(new CompositeTerm("w", new WeightedContrastiveLoss(), 1), new CompositeTerm("c", contrastive, 1))
            .RequiresGiven(BatchFields.None).Should().Be(BatchFields.Scores | BatchFields.Labels);
    }

    [Fact]
    public void The_pretrainer_refuses_a_cohort_without_labels_for_the_contrastive_recipe_before_the_first_step()
    {
        var cohort = Experiments.LearnerExperimentTests.Cohort();
        // No labels and no scores (so the factory cannot bin scores into labels); the patient batches draw no pairs.
        var unlabelled = new LongitudinalDataset(cohort.Scans.Select(s => new Scan(s.Id, s.PatientId, s.Time, null, null, s.Payload)), cohort.HigherIsHealthier);
        var factory = new PretrainerFactory(new ExperimentOptions
        {
            Encoder = new EncoderOptions { Architecture = "mlp", InputFeatures = 3, EmbeddingDimension = 4, WidthMultiplier = 0.05 },
            Pretraining = new PretrainingOptions { Epochs = 1, StepsPerEpoch = 1, WarmupSteps = 1 },
            BatchSource = new BatchSourceOptions { PatientsPerBatch = 4, ScansPerPatient = 2 },
        });
        var ex = Assert.Throws<MissingLabelException>(() => factory.Create(unlabelled, "contrastive"));
        ex.Message.Should().Contain("contrastive").And.Contain("training set");

        factory.Create(cohort, "contrastive").Pretrainer.Should().NotBeNull("the labelled cohort passes");
    }
}
