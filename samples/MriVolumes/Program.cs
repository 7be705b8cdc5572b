// MriVolumes: the MRI-like cohort through the real file path. The synthetic cohort is first written to disk as NIfTI
// volumes (.nii.gz) and a manifest CSV, exactly as a user's own data would arrive; the experiment then reads the
// manifest back (Manifest.Read → NIfTI reader), pretrains the 3-D volume encoder with MSE and with MSE + weighted
// contrastive, and evaluates three-way change (worsened / stable / improved in MMSE-like score) with patient-grouped CV.
// Usage: dotnet run -c Release --project samples/MriVolumes [-- <folder> [patients]]
using System.Diagnostics;
using System.Globalization;
using Learner.Data;
using Learner.Data.Formats;
using Learner.Data.Synthetic;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Nn;
using Learner.Training;

string folder = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "learner-mri-sample");
int patients = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 80;
var clock = Stopwatch.StartNew();

// 1. Write the cohort: one .nii.gz per scan (float32, 1.5 mm voxels) and manifest.csv beside them.
var cohortOptions = new SyntheticMriOptions { Patients = patients, Seed = 11 };
var generated = SyntheticMriCohort.Generate(cohortOptions);
Directory.CreateDirectory(Path.Combine(folder, "volumes"));
var files = new Dictionary<string, string>();
foreach (var scan in generated.Scans)
{
    using var scope = TensorScope.Begin();
    string path = Path.Combine(folder, "volumes", scan.Id + ".nii.gz");
    Nifti.Write(path, scan.LoadPayload(), new NiftiWriteOptions { VoxelSpacing = new[] { 1.5f, 1.5f, 1.5f } });
    files[scan.Id] = path;
}
string manifestPath = Path.Combine(folder, "manifest.csv");
Manifest.Write(manifestPath, generated, s => files[s.Id]);
Console.WriteLine($"Wrote {files.Count} NIfTI volumes and {manifestPath} ({clock.Elapsed.TotalSeconds:F1} s).");

// 2. Read it back the way a user's data is read: every payload is a file the NIfTI reader loads on demand.
var data = Manifest.Read(manifestPath);
var shape = data.ValidatePayloadShapes();
Console.WriteLine($"Read {data.PatientCount} patients, {data.ScanCount} volumes of {string.Join("×", shape)} from the manifest; " +
    $"scan 0 is {((FilePayload)data.Scans[0].Payload!).Path}.");

// 3. Pretrain and evaluate.
var options = new ExperimentOptions
{
    Objectives = new[] { "mse", "mse+weighted-contrastive" },
    Seeds = new[] { 1 },
    Encoder = new EncoderOptions { Architecture = "volume", EmbeddingDimension = 32 },
    Pretraining = new PretrainingOptions { Epochs = 2, StepsPerEpoch = 30, WarmupSteps = 5 },
    ChangeThresholds = ChangeThresholds.Absolute(cohortOptions.ChangeThreshold),
    BootstrapResamples = 300,
};
var results = new LearnerExperiment(options).Run(data, new Progress<string>(Console.WriteLine));
Console.WriteLine(results.ToMarkdown());
Console.WriteLine($"Total {clock.Elapsed.TotalSeconds:F0} s. On this cohort the change labels are mostly score noise (see docs/results.md), so expect near-chance macro-F1.");
return 0;
