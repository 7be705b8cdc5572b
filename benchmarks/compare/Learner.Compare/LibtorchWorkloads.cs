using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using TTensor = TorchSharp.torch.Tensor;

namespace Learner.Compare;

/// <summary>
/// The libtorch column: every workload of the other areas once more, as the same code the Python scripts run in
/// PyTorch 1.13, written against libtorch 2.10 through TorchSharp (CPU) in this process, named "{name}@libtorch".
/// Inputs are created once, outside the timed action; each timed call runs in a dispose scope, so its temporaries are
/// freed as PyTorch's are when they go out of scope.
/// </summary>
public static class LibtorchWorkloads
{
    /// <summary>The suffix that marks a libtorch workload.</summary>
    public const string Suffix = "@libtorch";

    /// <summary>Adds the libtorch twins of the GEMM, conv, objective and training workloads.</summary>
    public static void Register(WorkloadRegistry registry)
    {
        foreach (var (m, n, k) in GemmWorkloads.Shapes)
            registry.Add($"gemm/{m}x{n}x{k}{Suffix}", $"libtorch: C.addmm_(A, B, beta 0) for C[{m}×{n}], A[{m}×{k}], B[{k}×{n}] (torch.mm(a, b, out=c))", () =>
            {
                Libtorch.EnsureLoaded();
                var a = randn(m, k); var b = randn(k, n); var c = zeros(m, n);
                return () => c.addmm_(a, b, beta: 0, alpha: 1);
            });

        foreach (var (k, s, cin, cout, hw, n) in ConvWorkloads.Shapes)
            registry.Add($"conv/k{k}s{s}-{cin}-{cout}-{hw}-n{n}{Suffix}", $"libtorch: F.conv2d {k}×{k}/{s} {cin}→{cout}, {n}×{hw}×{hw}, forward+backward", () =>
            {
                Libtorch.EnsureLoaded();
                var x = empty(n, cin, hw, hw).uniform_(-1, 1).requires_grad_();
                var w = empty(cout, cin, k, k).uniform_(-0.1, 0.1).requires_grad_();
                var bias = empty(cout).uniform_(-0.1, 0.1).requires_grad_();
                long o = (hw + 2 * (k / 2) - k) / s + 1;
                var gy = empty(n, cout, o, o).uniform_(-1, 1);
                return () =>
                {
                    using var scope = NewDisposeScope();
                    x.grad = null; w.grad = null; bias.grad = null;
                    F.conv2d(x, w, bias, strides: new long[] { s, s }, padding: new long[] { k / 2, k / 2 }).backward(new[] { gy });
                };
            });

        foreach (var (name, b) in ObjectiveWorkloads.Cases)
            registry.Add($"objective/{name}-b{b}{Suffix}", $"libtorch: {name}, B={b}, D=128, forward+backward (the formula of compare_objectives.py)", () =>
            {
                Libtorch.EnsureLoaded();
                return Objective(name, b);
            });

        registry.Add($"train/small-cnn-b32{Suffix}", "libtorch: the small CNN step of compare_training.py (TorchSharp nn modules, AdamW)", () =>
        {
            Libtorch.EnsureLoaded();
            var model = nn.Sequential(
                nn.Conv2d(1, 16, 3, padding: 1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(16, 32, 3, padding: 1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 3, padding: 1), nn.BatchNorm2d(64), nn.ReLU(),
                nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 3));
            var opt = optim.AdamW(model.parameters(), lr: 1e-3);
            var x = randn(32, 1, 32, 32);
            var y = arange(32, ScalarType.Int64).remainder(3);
            return () =>
            {
                using var scope = NewDisposeScope();
                opt.zero_grad();
                F.cross_entropy(model.forward(x), y).backward();
                opt.step();
            };
        });
    }

    // The formulas of compare_objectives.py, line for line.
    private static Action Objective(string name, int b)
    {
        const int D = 128;
        var e = randn(b, D).requires_grad_();
        var v = randn(b, D).requires_grad_();
        var scores = 100 + 400 * rand(b);
        var patients = arange(b, ScalarType.Int64).div(4, rounding_mode: RoundingMode.floor);
        var labels = ((scores - 100) / 100).to(ScalarType.Int64).clamp(max: 3);
        var eye = torch.eye(b, dtype: ScalarType.Bool);
        var same = labels.unsqueeze(1).eq(labels.unsqueeze(0));
        Func<TTensor> loss;
        switch (name)
        {
            case "infonce":
            {
                var target = arange(b, ScalarType.Int64);
                loss = () => F.cross_entropy(F.normalize(e, dim: 1).matmul(F.normalize(v, dim: 1).t()) / 0.1, target);
                break;
            }
            case "triplet-batch-hard":
            {
                var positives = same.logical_and(eye.logical_not());
                loss = () =>
                {
                    var d = cdist(e, e);
                    var (hp, _) = (d * positives).max(1);
                    var (hn, _) = d.masked_fill(same, double.PositiveInfinity).min(1);
                    return F.relu(hp - hn + 0.2).mean();
                };
                break;
            }
            case "supcon":
            {
                var pos = same.to(ScalarType.Float32) - eye.to(ScalarType.Float32);
                loss = () =>
                {
                    var z = F.normalize(e, dim: 1);
                    var logits = (z.matmul(z.t()) / 0.1).masked_fill(eye, double.NegativeInfinity);
                    var logp = (logits - logits.logsumexp(1, keepdim: true)).masked_fill(eye, 0);
                    var count = pos.sum(1);
                    var per = -(pos * logp).sum(1) / count.clamp(min: 1);
                    return per.masked_select(count.gt(0)).mean();
                };
                break;
            }
            case "weighted-contrastive":
            {
                var gap = (scores.unsqueeze(1) - scores.unsqueeze(0)).abs();
                var inter = patients.unsqueeze(1).ne(patients.unsqueeze(0));
                var upper = ones(b, b, dtype: ScalarType.Bool).triu(1).logical_and(inter);
                var pos = upper.logical_and(gap.le(20));
                var neg = upper.logical_and(gap.gt(20));
                var g = gap / 100;
                var w = g / g.masked_select(neg).mean();
                var pairs = upper.sum();
                var zero = zeros(1);
                loss = () =>
                {
                    var z = F.normalize(e, dim: 1);
                    var d = 1 - z.matmul(z.t());
                    var terms = where(pos, d.pow(2), where(neg, w * F.relu(0.5 - d).pow(2), zero));
                    return terms.sum() / pairs;
                };
                break;
            }
            default:
                throw new ArgumentException($"No libtorch formula for objective '{name}'.");
        }
        return () =>
        {
            using var scope = NewDisposeScope();
            e.grad = null; v.grad = null;
            loss().backward();
        };
    }
}

/// <summary>libtorch's process-wide settings, applied before its first use.</summary>
public static class Libtorch
{
    private static int _threads = Environment.ProcessorCount;
    private static bool _loaded;

    /// <summary>libtorch's intra-op threads (default: the processor count, as Learner uses); set before the first
    /// libtorch workload.</summary>
    public static int Threads
    {
        get => _threads;
        set => _threads = value >= 1 ? value : throw new ArgumentException($"--libtorch-threads must be ≥ 1, got {value}.");
    }

    /// <summary>The OpenMP wait policy libtorch runs with (PASSIVE unless the environment sets one: its spinning threads
    /// otherwise steal the second core from everything else, docs/torchsharp.md).</summary>
    public static string WaitPolicy { get; private set; } = "";

    /// <summary>Loads libtorch with <see cref="Threads"/> threads; throws with the loader's reason when it cannot load.</summary>
    public static void EnsureLoaded()
    {
        if (_loaded) return;
        WaitPolicy = Learner.TorchSharp.LibTorchThreads.UsePassiveWaitUnlessSet();
        try { using var probe = ones(1); }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or NotSupportedException or InvalidOperationException)
        {
            throw new InvalidOperationException($"libtorch (TorchSharp's native library) could not be loaded: {e.Message} On Debian 12 run scripts/libtorch-loadable.sh on this tool's build folder first (docs/torchsharp.md).", e);
        }
        set_num_threads(_threads);
        _loaded = true;
    }

    /// <summary>A description for the JSON machine record, or null when no libtorch workload ran.</summary>
    public static object? Describe() => _loaded
        ? new { torchsharp = typeof(torch).Assembly.GetName().Version?.ToString(), threads = get_num_threads(), omp_wait_policy = WaitPolicy }
        : null;
}
