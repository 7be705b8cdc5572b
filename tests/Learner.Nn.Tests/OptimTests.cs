using System.Text.Json;
using Learner.Nn;
using Learner.Nn.Optim;

namespace Learner.Nn.Tests;

public class OptimTests
{
    public static TheoryData<string> OptimizerCases => new()
    {
        "sgd_plain", "sgd_momentum_dampening", "sgd_nesterov_weight_decay", "sgd_weight_decay", "sgd_groups_maximize",
        "adamw", "adamw_amsgrad", "adamw_groups",
    };

    private static FixtureCase Case(string name) => Fixtures.Load("optim.json").Single(c => c.Name == name);

    private static double Num(JsonElement p, string name, double fallback) => p.TryGetProperty(name, out var v) ? v.GetDouble() : fallback;

    private static bool Flag(JsonElement p, string name) => p.TryGetProperty(name, out var v) && v.GetBoolean();

    private static Optimizer Build(FixtureCase c, Tensor[] ps)
    {
        var p = c.Params;
        var groupsOf = c.Ints("groups_of");
        var overrides = p.GetProperty("group_overrides");
        var specs = new List<ParameterGroupSpec>();
        for (int g = 0; g <= groupsOf.Max(); g++)
        {
            var members = ps.Where((_, k) => groupsOf[k] == g).ToArray();
            double? lr = null, wd = null;
            if (overrides.TryGetProperty(g.ToString(), out var o))
            {
                if (o.TryGetProperty("lr", out var l)) lr = l.GetDouble();
                if (o.TryGetProperty("weight_decay", out var w)) wd = w.GetDouble();
            }
            specs.Add(new ParameterGroupSpec(members, lr, wd));
        }
        double baseLr = p.GetProperty("lr").GetDouble();
        if (p.GetProperty("optimizer").GetString() == "sgd")
            return new Sgd(specs, baseLr, Num(p, "momentum", 0), Num(p, "dampening", 0), Num(p, "weight_decay", 0), Flag(p, "nesterov"), Flag(p, "maximize"));
        var betas = p.TryGetProperty("betas", out var b) ? b.EnumerateArray().Select(e => e.GetDouble()).ToArray() : new[] { 0.9, 0.999 };
        return new AdamW(specs, baseLr, betas[0], betas[1], Num(p, "eps", 1e-8), Num(p, "weight_decay", 1e-2), Flag(p, "amsgrad"), Flag(p, "maximize"));
    }

    private static Tensor Row(Tensor stacked, int s)
    {
        var shape = stacked.ShapeArray[1..];
        int n = stacked.Size / stacked.Shape[0];
        return Tensor.FromSpan(stacked.Data.Slice(s * n, n), shape);
    }

    [Theory]
    [MemberData(nameof(OptimizerCases))]
    public void Optimizer_trajectories_match_pytorch(string name)
    {
        var c = Case(name);
        var ps = Enumerable.Range(0, 3).Select(k => c.Tensor($"p{k}_init").RequireGrad()).ToArray();
        var opt = Build(c, ps);
        var p2Steps = c.Ints("p2_grad_steps");
        for (int s = 0; s < c.Int("steps"); s++)
        {
            for (int k = 0; k < 3; k++)
                ps[k].Grad = k == 2 && !p2Steps.Contains(s) ? null : Row(c.Tensor($"p{k}_grads"), s);
            opt.Step();
            for (int k = 0; k < 3; k++)
                Fixtures.AssertClose(ps[k].Data, Row(c.Tensor($"p{k}_traj"), s).Data, $"{name} p{k} after step {s + 1}", rtol: 1e-5, atol: 1e-6);
        }
        int FlatIndex(Tensor t) => opt.Parameters.ToList().IndexOf(t);
        opt.StepCount(FlatIndex(ps[0])).Should().Be(c.Int("steps"));
        opt.StepCount(FlatIndex(ps[2])).Should().Be(p2Steps.Length);
        var state = opt.GetState();
        ps[0].Should().BeSameAs(opt.Parameters[0]);
        foreach (var key in new[] { "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer" })
        {
            bool expected = c.Tensors.ContainsKey($"p0_{key}");
            state.Parameters[0].Buffers.ContainsKey(key).Should().Be(expected, key);
            if (expected) Fixtures.AssertClose(state.Parameters[0].Buffers[key].Data, c.Tensor($"p0_{key}").Data, $"{name} {key}", rtol: 1e-5, atol: 1e-7);
        }
    }

    private static (Tensor[] Params, Func<int, int, Tensor> Grad) Problem(int seed, params int[] sizes)
    {
        var rng = new Rng(seed);
        var ps = sizes.Select(n => Tensor.Uniform(rng, -1, 1, n).RequireGrad()).ToArray();
        var grads = Enumerable.Range(0, 8).Select(s => sizes.Select(n => Tensor.Uniform(rng, -2, 2, n)).ToArray()).ToArray();
        return (ps, (s, k) => grads[s][k]);
    }

    public static TheoryData<string> Kinds => new() { "sgd", "nesterov", "adamw", "amsgrad" };

    private static Optimizer Make(string kind, IEnumerable<Tensor> ps) => kind switch
    {
        "sgd" => new Sgd(ps, 0.1, momentum: 0.9, dampening: 0.2, weightDecay: 0.01),
        "nesterov" => new Sgd(ps, 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true),
        "adamw" => new AdamW(ps, 1e-2),
        _ => new AdamW(ps, 1e-2, amsgrad: true, weightDecay: 0.1),
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Vector_body_and_scalar_tail_give_identical_updates(string kind)
    {
        // The same values updated as one 37-element tensor (vector body + tail) and as 37 one-element tensors (tail only).
        var rng = new Rng(11);
        var big = Tensor.Uniform(rng, -1, 1, 37).RequireGrad();
        var smalls = Enumerable.Range(0, 37).Select(i => Tensor.FromSpan(new[] { big.Data[i] }, 1).RequireGrad()).ToArray();
        var a = Make(kind, new[] { big });
        var b = Make(kind, smalls);
        for (int s = 0; s < 5; s++)
        {
            var g = Tensor.Uniform(rng, -3, 3, 37);
            big.Grad = g;
            for (int i = 0; i < 37; i++) smalls[i].Grad = Tensor.FromSpan(new[] { g.Data[i] }, 1);
            a.Step();
            b.Step();
        }
        big.ToArray().Should().Equal(smalls.Select(t => t.Data[0]));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_step_allocates_nothing_once_state_exists(string kind)
    {
        var (ps, grad) = Problem(3, 100, 37, 1);
        var opt = Make(kind, ps);
        for (int k = 0; k < ps.Length; k++) ps[k].Grad = grad(0, k);
        opt.Step();
        opt.ZeroGrad();
        SteadyStateAllocations.Bytes(() => { for (int s = 0; s < 20; s++) { opt.Step(); opt.ZeroGrad(); } }).Should().Be(0);
    }

    [Fact]
    public void Parameters_without_gradient_are_skipped_and_updates_record_no_graph()
    {
        var (ps, grad) = Problem(4, 5, 6);
        var before = ps[1].ToArray();
        ps[0].Grad = grad(0, 0);
        var opt = new AdamW(ps, 0.1);
        opt.Step();
        ps[1].ToArray().Should().Equal(before);
        opt.StepCount(1).Should().Be(0);
        opt.StepCount(0).Should().Be(1);
        opt.GetState().Parameters[1].Buffers.Should().BeEmpty();
        ps.Should().OnlyContain(p => p.IsLeaf);
    }

    [Fact]
    public void ZeroGrad_zeroes_every_gradient()
    {
        var (ps, grad) = Problem(5, 9, 2);
        for (int k = 0; k < 2; k++) ps[k].Grad = grad(0, k).Clone();
        new Sgd(ps, 0.1).ZeroGrad();
        ps.Should().OnlyContain(p => p.Grad!.ToArray().All(v => v == 0));
    }

    [Fact]
    public void Invalid_configurations_are_rejected_with_clear_messages()
    {
        var p = Tensor.Zeros(3).RequireGrad();
        ((Action)(() => new Sgd(new[] { p, p }, 0.1))).Should().Throw<ArgumentException>().WithMessage("*more than once*");
        ((Action)(() => new Sgd(new[] { Ops.Mul(p, 2f) }, 0.1))).Should().Throw<ArgumentException>().WithMessage("*not a leaf*");
        ((Action)(() => new Sgd(Array.Empty<Tensor>(), 0.1))).Should().Throw<ArgumentException>().WithMessage("*empty parameter list*");
        ((Action)(() => new Sgd(new[] { p }, -1))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*learning rate*-1*");
        ((Action)(() => new Sgd(new[] { p }, 0.1, nesterov: true))).Should().Throw<ArgumentException>().WithMessage("*Nesterov*");
        ((Action)(() => new AdamW(new[] { p }, beta1: 1.0))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*beta1*");
        var opt = new AdamW(new[] { p });
        ((Action)(() => opt.ParamGroups[0].LearningRate = double.NaN)).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*group 0*");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Saved_state_resumes_bit_identically(string kind)
    {
        var (pa, grad) = Problem(6, 20, 3);
        var pb = pa.Select(t => t.Clone().RequireGrad()).ToArray();
        var a = Make(kind, pa);
        var b = Make(kind, pb);
        for (int s = 0; s < 3; s++) { for (int k = 0; k < 2; k++) pa[k].Grad = grad(s, k); a.Step(); }
        for (int k = 0; k < 2; k++) pa[k].Data.CopyTo(pb[k].Data);
        b.LoadState(a.GetState());
        for (int s = 3; s < 8; s++)
        {
            for (int k = 0; k < 2; k++) { pa[k].Grad = grad(s, k); pb[k].Grad = grad(s, k); }
            a.Step();
            b.Step();
        }
        for (int k = 0; k < 2; k++) pb[k].ToArray().Should().Equal(pa[k].ToArray());
        b.StepCount(0).Should().Be(8);
    }

    [Fact]
    public void Loading_a_state_that_does_not_fit_lists_every_problem_and_changes_nothing()
    {
        var (pa, grad) = Problem(7, 4, 5);
        var a = new AdamW(pa, 0.1);
        for (int k = 0; k < 2; k++) pa[k].Grad = grad(0, k);
        a.Step();
        var other = new AdamW(new[] { Tensor.Zeros(4).RequireGrad(), Tensor.Zeros(6).RequireGrad() }, 0.5, amsgrad: true);
        var act = () => other.LoadState(a.GetState());
        act.Should().Throw<ArgumentException>().WithMessage("*amsgrad*").WithMessage("*parameter 1*[5]*[6]*");
        other.ParamGroups[0].LearningRate.Should().Be(0.5);
        other.StepCount(0).Should().Be(0);
        var sgd = new Sgd(pa, 0.1);
        ((Action)(() => sgd.LoadState(a.GetState()))).Should().Throw<ArgumentException>().WithMessage("*AdamW*Sgd*");
    }

    [Fact]
    public void Clip_grad_norm_matches_pytorch()
    {
        foreach (var name in new[] { "clip_active", "clip_inactive" })
        {
            var c = Case(name);
            var ps = Enumerable.Range(0, 3).Select(k => { var g = c.Tensor($"g{k}"); var p = Tensor.Zeros(g.ShapeArray).RequireGrad(); p.Grad = g; return p; }).ToArray();
            float total = GradClip.ClipGradNorm(ps, c.Float("max_norm"));
            total.Should().BeApproximately(c.Tensor("total_norm").Data[0], 1e-5f * c.Tensor("total_norm").Data[0], name);
            for (int k = 0; k < 3; k++) Fixtures.AssertClose(ps[k].Grad!.Data, c.Tensor($"clipped{k}").Data, $"{name} g{k}", rtol: 1e-5, atol: 1e-7);
        }
    }

    [Fact]
    public void Clip_grad_norm_names_a_non_finite_gradient()
    {
        var rng = new Rng(8);
        var model = new Learner.Nn.Modules.Sequential(new Learner.Nn.Modules.Linear(3, 4, rng), new Learner.Nn.Modules.Linear(4, 2, rng));
        foreach (var p in model.Parameters()) p.Grad = Tensor.Ones(p.ShapeArray);
        model.Parameters().ElementAt(2).Grad!.Data[5] = float.NaN;
        var act = () => GradClip.ClipGradNorm(model, 1f);
        act.Should().Throw<NonFiniteValueException>().WithMessage("*'1.weight'*NaN*[1, 1]*");
        var list = model.Parameters().ToList();
        ((Action)(() => GradClip.ClipGradNorm(list, 1f))).Should().Throw<NonFiniteValueException>().WithMessage("*'weight'*");
        ((Action)(() => GradClip.ClipGradNorm(list, 0f))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Clip_grad_norm_skips_missing_gradients_and_sums_in_double()
    {
        var a = Tensor.Zeros(1000).RequireGrad();
        a.Grad = Tensor.Full(0.1f, 1000);
        var b = Tensor.Zeros(3).RequireGrad();
        float norm = GradClip.ClipGradNorm(new[] { a, b }, float.PositiveInfinity);
        norm.Should().BeApproximately((float)Math.Sqrt(1000 * (double)0.1f * 0.1f), 1e-6f);
        a.Grad.Data[0].Should().Be(0.1f);
        var rng = new Rng(9);
        var x = Tensor.Uniform(rng, -1, 1, 1003);
        GradClip.SumOfSquares(x.Data).Should().BeApproximately(x.ToArray().Sum(v => (double)v * v), 1e-9);
    }
}
