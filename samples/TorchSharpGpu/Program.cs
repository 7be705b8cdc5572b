// TorchSharpGpu: LEARNER pretraining on libtorch through TorchSharp, on whatever device TorchSharp finds (CUDA when a
// GPU and a TorchSharp-cuda package are present, else the CPU).
// 1. generate a synthetic lung-ultrasound cohort (clips of 8 frames of 32×32 with S/F-ratio-like scores);
// 2. pretrain the small ResNet-TSM with MSE + weighted contrastive on the TorchSharp backend — the same architecture,
//    initial weights and checkpoint format as the managed engine, the objectives computed on the device when it is
//    a GPU (--device-objectives on|off|auto);
// 3. evaluate three-way change prediction from same-patient embedding differences on held-out patients (a single
//    stratified 30 % test split: pretraining and the change classifier never see them);
// 4. with --compare, run the same experiment on the managed engine and print both.
// Usage: dotnet run -c Release --project samples/TorchSharpGpu [-- [--device auto|cpu|cuda]
//        [--device-objectives auto|on|off] [--patients N] [--steps N] [--compare]]
using System.Globalization;
using Learner.Data;
using Learner.Data.Synthetic;
using Learner.Encoders;
using Learner.Experiments;
using Learner.Reporting;
using Learner.TorchSharp;
using Learner.Training;

string device = "auto";
int patients = 120, steps = 80;
bool compare = false;
bool? deviceObjectives = null;
// Before libtorch loads: its OpenMP threads sleep when idle unless OMP_WAIT_POLICY says otherwise (docs/torchsharp.md).
LibTorchThreads.UsePassiveWaitUnlessSet();
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--device": device = Next(ref i); break;
        case "--patients": patients = int.Parse(Next(ref i), CultureInfo.InvariantCulture); break;
        case "--steps": steps = int.Parse(Next(ref i), CultureInfo.InvariantCulture); break;
        case "--compare": compare = true; break;
        case "--device-objectives":
            switch (Next(ref i))
            {
                case "auto": deviceObjectives = null; break;
                case "on": deviceObjectives = true; break;
                case "off": deviceObjectives = false; break;
                case var other:
                    Console.Error.WriteLine($"--device-objectives: '{other}' is not allowed; use auto, on or off.");
                    return 2;
            }
            break;
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: [--device auto|cpu|cuda|cuda:N] [--device-objectives auto|on|off] [--patients N] [--steps N] [--compare]");
            return 2;
    }
}

TorchSharp.torch.Device target;
try
{
    target = new TorchSharpOptions { Device = device }.ResolveDevice();
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"--device: {e.Message}");
    return 2;
}
catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException)
{
    Console.Error.WriteLine($"TorchSharp's native library could not be loaded ({e.GetType().Name}: {e.Message}). Add a TorchSharp-cpu or TorchSharp-cuda-* package, or put LibTorchSharp and libtorch on the library path (docs/torchsharp.md).");
    return 1;
}
Console.WriteLine($"TorchSharp device: {target}{(TorchSharp.torch.cuda.is_available() ? $" ({TorchSharp.torch.cuda.device_count()} CUDA device(s))" : " (no CUDA device found)")}");

var cohort = new SyntheticLusOptions { Patients = patients, Seed = 7 };
var data = SyntheticLusCohort.Generate(cohort);
Console.WriteLine($"cohort: {data.PatientCount} patients, {data.ScanCount} clips; change threshold ±{cohort.ChangeThreshold}");

var options = new ExperimentOptions
{
    Objectives = new[] { "mse", "mse+weighted-contrastive" },
    Seeds = new[] { 1 },
    Encoder = new EncoderOptions { Architecture = "tsm-resnet", EmbeddingDimension = 64, ClipLength = cohort.Frames },
    Pretraining = new PretrainingOptions { Epochs = 1, StepsPerEpoch = steps, WarmupSteps = 5 },
    ChangeThresholds = ChangeThresholds.Absolute(cohort.ChangeThreshold),
    Protocol = new ExperimentProtocolOptions { TestFraction = 0.3 },
};
var progress = new ConsoleProgressReporter();

var backends = new List<ComputeBackend> { TorchSharpBackend.Create(target, deviceObjectives) };
Console.WriteLine($"objectives computed on: {(TorchSharpBackend.UsesDeviceObjectives(target, deviceObjectives) ? target.ToString() : "the host (managed)")}");
if (compare) backends.Add(ComputeBackend.Managed);
foreach (var backend in backends)
{
    Console.WriteLine($"— {backend.Name}");
    var results = new LearnerExperiment(options, backend).Run(data, progress, progress);
    foreach (var r in results.Rows)
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{backend.Name,-16} {r.Objective,-26} macro-F1 {r.MacroF1.Estimate:F3} [{r.MacroF1.Lower:F3}, {r.MacroF1.Upper:F3}]  Spearman {r.Spearman.Estimate:F3}  pretraining {r.PretrainingSeconds:F1} s ({1000 * r.PretrainingSeconds / options.Pretraining.TotalSteps:F0} ms/step)"));
}
return 0;

string Next(ref int i)
{
    if (i + 1 >= args.Length) throw new ArgumentException($"{args[i]} needs a value.");
    return args[++i];
}
