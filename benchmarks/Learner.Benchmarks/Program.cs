using BenchmarkDotNet.Running;
using Learner.Benchmarks;

// Every [Benchmark] class in this assembly is listed; pick with --filter, e.g.
//   dotnet run -c Release --project benchmarks/Learner.Benchmarks -- --filter '*Gemm*'
// `-- data-share [patients] [epochs]` prints the share of pretraining time spent assembling batches instead;
// `-- gemm-kernels [shapes]` times the GEMM micro-kernels side by side in one process;
// `-- machine` prints the CPU and the cache sizes the engine reads.
if (args.Length > 0 && args[0] == "data-share") DataShare.Run(args);
else if (args.Length > 0 && args[0] == "gemm-kernels") GemmKernels.Run(args);
else if (args.Length > 0 && args[0] == "machine") Console.WriteLine(Machine.Describe());
else BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
