// DependencyInjection: a generic-host console app that configures Learner from appsettings.json through
// services.AddLearner(...), with logging, options validated at start, and the pretrainer and the experiment resolved
// from the container. Try breaking appsettings.json (e.g. "Folds": 1) to see the start-up validation name the option.
using Learner.Data;
using Learner.Data.Synthetic;
using Learner.DependencyInjection;
using Learner.Experiments;
using Learner.Sampling;
using Learner.Training;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddLearner(builder.Configuration.GetSection("Learner"));
builder.Services.AddSingleton(_ => SyntheticLusCohort.Generate(new SyntheticLusOptions { Patients = 60, Seed = 7 }));
using var host = builder.Build();
await host.StartAsync(); // ValidateOnStart: an invalid "Learner" section fails here, naming the option.

var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Sample");
var data = host.Services.GetRequiredService<LongitudinalDataset>();

// 1. One pretraining run of your own, built by the registered factory (its logger comes from the host).
var split = PatientSplits.TrainValidationTest(data, validationFraction: 0.2, testFraction: 0, seed: 1);
var (pretrainer, encoder) = host.Services.GetRequiredService<PretrainerFactory>().Create(split.Train, "mse+weighted-contrastive", seed: 1, validation: split.Validation);
var run = pretrainer.Run();
log.LogInformation("Pretrained {Encoder}: {Steps} steps; validation Spearman per epoch: {Spearman}", encoder.Name, run.CompletedSteps,
    string.Join(", ", run.Epochs.Select(e => e.Validation?.Spearman.ToString("F3", System.Globalization.CultureInfo.InvariantCulture))));

// 2. The configured comparison.
var results = host.Services.GetRequiredService<LearnerExperiment>().Run(data, new Progress<string>(line => log.LogInformation("{Line}", line)));
Console.WriteLine(results.ToMarkdown());
await host.StopAsync();
