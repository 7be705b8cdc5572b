// The code example of README.md, compiled here so that it cannot rot: tests/Learner.Tests/Docs/ReadmeExampleTests.cs
// checks that README.md shows exactly the usings (README:BEGIN … README:BODY), a blank line, then the method body
// (README:BEGIN-BODY … README:END-BODY, unindented).
// README:BEGIN
using Learner.Data.Synthetic;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Objectives;
using Learner.Reporting;
using Learner.Training;
// README:BODY

/// <summary>The README's example as a method (not run by QuickStart).</summary>
internal static class ReadmeExample
{
    public static void Run()
    {
        // README:BEGIN-BODY
        var cohort = new SyntheticLusCohort(new SyntheticLusOptions { Patients = 200, Seed = 7 });
        var experiment = new LearnerExperiment(new ExperimentOptions
        {
            ChangeThresholds = cohort.ChangeThresholds, // ±20 S/F points: the change that counts (no default)
            Objectives = new[] { "mse", "mse-within-patient", ObjectiveRecipes.PaperRecipe },
            UseSelectedLearningRates = true,            // each objective at the rate its validation search selected
            Seeds = new[] { 1, 2, 3 },
            Encoder = new EncoderOptions { Architecture = "tsm-resnet", EmbeddingDimension = 64 },
            Pretraining = new PretrainingOptions { Epochs = 2, StepsPerEpoch = 60 },
        });
        ExperimentResults results = experiment.Run(cohort.Dataset);
        Console.WriteLine(results.ToMarkdown());
        HtmlReport.Write("report.html", results);
        // README:END-BODY
    }
}
