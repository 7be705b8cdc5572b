// DependencyInjection: a generic-host console app that configures Learner from appsettings.json through
// services.AddLearner(...), with logging, options validated at start, and the pretrainer and the experiment resolved
// from the container. Try breaking appsettings.json (e.g. "Protocol": { "OuterFolds": 1 }, or an objective spec such as
// "weighted-contrastive(margn=1)") to see the start-up validation name the option.
using Learner.Data;
using Learner.Data.Synthetic;
using Learner.Experiments;
using Learner.Sampling;
using Learner.Training;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

// appsettings.json is copied beside the executable; reading it from there (not from the current directory, the host's
// default content root) makes `dotnet run --project samples/DependencyInjection` from the repository root find it.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
var section = builder.Configuration.GetSection("Learner");
if (!section.Exists())
    throw new InvalidOperationException($"No \"Learner\" section in the configuration (looked for appsettings.json in {AppContext.BaseDirectory}).");
// Bound from the section, ChangeThresholds included: the pretrainer's validation uses the experiment's change thresholds,
// so each epoch's validation also reports change macro-F1 (Pretraining:Validation:ChangeFolds sets its folds).
builder.Services.AddLearner(section);
builder.Services.AddSingleton(_ => SyntheticLusCohort.Generate(new SyntheticLusOptions { Patients = 60, Seed = 7 }));
using var host = builder.Build();
try
{
    await host.StartAsync(); // ValidateOnStart: an invalid "Learner" section fails here, naming the option.
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"Invalid configuration: {e.Message}");
    return 2;
}

var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Sample");
var data = host.Services.GetRequiredService<LongitudinalDataset>();

// 1. One pretraining run of your own, built by the registered factory (its logger comes from the host).
var split = PatientSplits.TrainValidationTest(data, validationFraction: 0.2, testFraction: 0, seed: 1);
var (pretrainer, encoder) = host.Services.GetRequiredService<PretrainerFactory>().Create(split.Train, "mse+weighted-contrastive", seed: 1, validation: split.Validation);
var run = pretrainer.Run();
log.LogInformation("Pretrained {Encoder}: {Steps} steps; validation Spearman per epoch: {Spearman}", encoder.Name, run.CompletedSteps,
    string.Join(", ", run.Epochs.Select(e => e.Validation?.Spearman.ToString("F3", System.Globalization.CultureInfo.InvariantCulture))));

// 2. The configured comparison, held out by patient (appsettings.json: one 30 % test split).
var results = host.Services.GetRequiredService<LearnerExperiment>().Run(data, new Progress<string>(line => log.LogInformation("{Line}", line)));
Console.WriteLine(results.ToMarkdown());
await host.StopAsync();
return 0;
