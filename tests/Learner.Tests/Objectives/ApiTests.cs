using Learner.Nn;
using Learner.Objectives;
using Learner.Objectives.Options;
using Microsoft.Extensions.DependencyInjection;
using static Learner.Tests.Objectives.ObjectiveHarness;

namespace Learner.Tests.Objectives;

/// <summary>Input validation, options validation, the registry, DI, the composite and the tensor-graph adapter.</summary>
public class ApiTests
{
    [Fact]
    public void Non_finite_embeddings_throw_naming_the_row()
    {
        var r = Random(31, 6, 4, secondView: true);
        foreach (var (name, create, _) in ObjectiveCatalog.All())
        {
            var e = F(r.E); e[3 * 4 + 1] = float.NaN;
            var ex = Assert.Throws<NonFiniteEmbeddingException>(() => create(4).Compute(ToBatch(r, e, F(r.V!), F(r.Scores!)), new float[e.Length]));
            ex.Row.Should().Be(3, name); ex.Column.Should().Be(1); ex.Input.Should().Be("embeddings");
            ex.Message.Should().Contain("row 3").And.Contain("NaN");
        }
        var v = F(r.V!); v[5 * 4] = float.PositiveInfinity;
        var ev = Assert.Throws<NonFiniteEmbeddingException>(() => new InfoNceLoss().Compute(ToBatch(r, F(r.E), v, F(r.Scores!)), new float[v.Length]));
        ev.Row.Should().Be(5); ev.Input.Should().Be("second view");
        var s = F(r.Scores!); s[2] = float.NaN;
        var es = Assert.Throws<NonFiniteEmbeddingException>(() => new RankNContrastLoss().Compute(ToBatch(r, F(r.E), null, s), Span<float>.Empty));
        es.Row.Should().Be(2); es.Input.Should().Be("scores");
    }

    [Fact]
    public void Missing_or_mis_sized_metadata_throws_naming_the_field()
    {
        var e = new float[5 * 3];
        void Throws(IObjective o, EmbeddingBatch b, string field, float[]? grad = null)
        {
            try { o.Compute(b, grad ?? new float[e.Length]); }
            catch (ObjectiveInputException ex) { ex.Field.Should().Be(field, o.Name); return; }
            throw new Xunit.Sdk.XunitException($"{o.Name}: expected ObjectiveInputException for {field}.");
        }
        Throws(new InfoNceLoss(), new EmbeddingBatch(e, 5, 3), "SecondView");
        Throws(new SupConLoss(), new EmbeddingBatch(e, 5, 3), "Labels");
        Throws(new SupConLoss(), new EmbeddingBatch(e, 5, 3) { Labels = new int[4] }, "Labels");
        Throws(new YAwareInfoNceLoss(), new EmbeddingBatch(e, 5, 3), "Scores");
        Throws(new WeightedContrastiveLoss(), new EmbeddingBatch(e, 5, 3) { Scores = new float[5], PatientIds = new int[2] }, "PatientIds");
        Throws(new ContrastiveLoss(), new EmbeddingBatch(e, 5, 3) { Pairs = new[] { new IndexPair(0, 7, true) } }, "Pairs");
        Throws(new TripletLoss(new TripletOptions { Selection = TripletSelection.Provided }), new EmbeddingBatch(e, 5, 3), "Triplets");
        Throws(new TripletLoss(new TripletOptions { Selection = TripletSelection.Provided }), new EmbeddingBatch(e, 5, 3) { Triplets = new[] { new IndexTriplet(0, 1, -1) } }, "Triplets");
        Throws(new SupConLoss(), new EmbeddingBatch(e, 5, 3) { Labels = new int[5] }, "gradEmbeddings", new float[7]);
        Throws(new MseScoreRegression(new MseOptions { EmbeddingDimension = 4 }), new EmbeddingBatch(e, 5, 3) { Scores = new float[5] }, "Dimension");
        Assert.Throws<ObjectiveInputException>(() => new EmbeddingBatch(e, 4, 3)).Field.Should().Be("embeddings");
    }

    [Fact]
    public void Options_validation_names_the_option()
    {
        void Bad(Action a, string option)
        {
            var ex = Assert.ThrowsAny<ArgumentException>(a);
            ex.ParamName.Should().Be(option);
            ex.Message.Should().Contain(option);
        }
        Bad(() => new InfoNceLoss(new InfoNceOptions { Temperature = 0 }), "Temperature");
        Bad(() => new SupConLoss(new SupConOptions { Temperature = float.NaN }), "Temperature");
        Bad(() => new YAwareInfoNceLoss(new YAwareOptions { Sigma = -1 }), "Sigma");
        Bad(() => new RankNContrastLoss(new RankNContrastOptions { Temperature = -2 }), "Temperature");
        Bad(() => new ContrastiveLoss(new ContrastiveOptions { Margin = -0.1f }), "Margin");
        Bad(() => new TripletLoss(new TripletOptions { Margin = float.PositiveInfinity }), "Margin");
        Bad(() => new TripletLoss(new TripletOptions { Selection = (TripletSelection)42 }), "Selection");
        Bad(() => new WeightedContrastiveLoss(new WeightedContrastiveOptions { GapScale = 0 }), "GapScale");
        Bad(() => new WeightedContrastiveLoss(new WeightedContrastiveOptions { GapFunction = ScoreGapFunction.Custom }), "CustomGapFunction");
        Bad(() => new WeightedContrastiveLoss(new WeightedContrastiveOptions { WeightByGap = false }), "WeightByGap");
        Bad(() => new MseScoreRegression(new MseOptions()), "EmbeddingDimension");
        Bad(() => new MseScoreRegression(new MseOptions { EmbeddingDimension = 3, ScoreScale = 0 }), "ScoreScale");
        Bad(() => new CompositeOptions().Validate(), "Terms");
        // Numbers in messages do not follow the culture (CI runs this suite under de-DE too, where 0.1 reads "0,1").
        Assert.ThrowsAny<ArgumentException>(() => new ContrastiveLoss(new ContrastiveOptions { Margin = -0.1f })).Message.Should().Contain("got -0.1");
        Assert.ThrowsAny<ArgumentException>(() => new Learner.Encoders.EncoderOptimizerOptions { Momentum = 1.5 }.Validate()).Message.Should().Contain("got 1.5");
        Assert.ThrowsAny<ArgumentException>(() => new Learner.Downstream.ChangeClassifierOptions { L2 = -0.5 }.Validate()).Message.Should().Contain("got -0.5");
        Assert.ThrowsAny<ArgumentException>(() => new CohortStatistics(10, 0.5, -0.5, 0, 1, 0)).Message.Should().Contain("got -0.5");
    }

    [Fact]
    public void Custom_gap_function_returning_a_negative_value_is_rejected()
    {
        var r = Random(32, 6, 3, patients: 3);
        var o = new WeightedContrastiveLoss(new WeightedContrastiveOptions { GapFunction = ScoreGapFunction.Custom, CustomGapFunction = g => -g });
        Assert.Throws<ArgumentException>(() => Run(o, r)).Message.Should().Contain("CustomGapFunction");
    }

    [Fact]
    public void Registry_creates_every_objective_by_name()
    {
        var reg = ObjectiveRegistry.CreateDefault();
        reg.Names.Should().BeEquivalentTo(new[] { "mse", "contrastive", "weighted-contrastive", "triplet", "infonce", "supcon", "ntxent", "rnc", "y-aware", "composite" });
        reg.Create("infonce").Should().BeOfType<InfoNceLoss>();
        reg.Create("TRIPLET", new TripletOptions { Margin = 1 }).Should().BeOfType<TripletLoss>().Which.Options.Margin.Should().Be(1);
        reg.Create("mse", new MseOptions { EmbeddingDimension = 8 }).Name.Should().Be("mse");
        foreach (var n in new[] { "contrastive", "weighted-contrastive", "supcon", "ntxent", "rnc", "y-aware" }) reg.Create(n).Name.Should().Be(n);
        Assert.Throws<KeyNotFoundException>(() => reg.Create("nope")).Message.Should().Contain("infonce");
        Assert.Throws<ArgumentException>(() => reg.Create("infonce", new TripletOptions())).Message.Should().Contain("InfoNceOptions");
        Assert.Throws<ArgumentException>(() => reg.Create("mse")).Message.Should().Contain("EmbeddingDimension");
        var comp = reg.Create("composite", new CompositeOptions
        {
            Terms = new[] { new CompositeTermOptions("mse", 1, new MseOptions { EmbeddingDimension = 4 }), new CompositeTermOptions("weighted-contrastive", 0.5, Name: "wc") },
        });
        ((CompositeObjective)comp).Terms.Select(t => t.Name).Should().Equal("mse", "wc");
    }

    [Fact]
    public void DI_registers_a_transient_objective_resolved_through_the_registry()
    {
        var services = new ServiceCollection();
        services.AddObjective("supcon", new SupConOptions { Temperature = 0.2f });
        var descriptor = services.Single(d => d.ServiceType == typeof(IObjective));
        descriptor.Lifetime.Should().Be(ServiceLifetime.Transient);
        var provider = new MiniProvider(services);
        var a = provider.GetRequiredService<IObjective>();
        a.Should().BeOfType<SupConLoss>().Which.Options.Temperature.Should().Be(0.2f);
        provider.GetRequiredService<IObjective>().Should().NotBeSameAs(a);
        Assert.ThrowsAny<ArgumentException>(() => new ServiceCollection().AddObjective("infonce", new InfoNceOptions { Temperature = -1 }));
    }

    [Fact]
    public void Composite_is_the_weighted_sum_and_reports_each_term()
    {
        var r = Random(33, 8, 5, patients: 4);
        var mse = new MseScoreRegression(new MseOptions { EmbeddingDimension = 5, InitSeed = 1 });
        var wc = new WeightedContrastiveLoss(new WeightedContrastiveOptions { Margin = 0.9f });
        var (lm, gm, _, _) = Run(mse, r);
        var headGrad = mse.HeadWeightGradient.Data.ToArray();
        var (lw, gw, _, _) = Run(wc, r);
        var comp = new CompositeObjective(new CompositeTerm("mse", mse, 1.0), new CompositeTerm("weighted", wc, 0.25));
        var (lc, gc, _, res) = Run(comp, r);
        lc.Should().BeApproximately(lm + 0.25 * lw, 1e-9);
        res.Terms.ToArray().Should().Equal(new ObjectiveTerm("mse", lm, 1.0), new ObjectiveTerm("weighted", lw, 0.25));
        for (int i = 0; i < gc.Length; i++) gc[i].Should().BeApproximately(gm[i] + 0.25f * gw[i], 1e-6f);
        mse.HeadWeightGradient.Data.ToArray().Should().Equal(headGrad);
        comp.Parameters.Should().HaveCount(2);
        comp.Requires.Should().HaveFlag(BatchFields.Scores);
        Assert.Throws<ArgumentException>(() => new CompositeObjective(new CompositeTerm("a", wc, 1), new CompositeTerm("a", mse, 1)));
        Assert.ThrowsAny<ArgumentException>(() => new CompositeObjective(new CompositeTerm("a", wc, -1)));
    }

    [Fact]
    public void Graph_adapter_backpropagates_the_objective_gradient_through_an_encoder()
    {
        var r = Random(34, 6, 4, secondView: true, patients: 3);
        var rng = new Rng(7);
        var x = Tensor.Normal(rng, 0, 1, 6, 3);
        var w = Tensor.Normal(rng, 0, 1, 3, 4).RequireGrad();
        var objective = new InfoNceLoss();
        var second = Tensor.FromSpan(F(r.V!), 6, 4).RequireGrad();
        var emb = Ops.MatMul(x, w);
        var loss = objective.Loss(emb, null, second, out var result);
        loss.Item().Should().Be((float)result.Loss);
        Ops.Mul(loss, 2f).Backward();
        // Expected: d(2L)/dW = xᵀ · 2 g.
        var ge = new float[24]; var gv = new float[24];
        new InfoNceLoss().Compute(new EmbeddingBatch(emb.Data, 6, 4) { SecondView = F(r.V!) }, ge, gv);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
            {
                double s = 0;
                for (int b = 0; b < 6; b++) s += x[b, i] * 2 * ge[b * 4 + j];
                w.Grad![i, j].Should().BeApproximately((float)s, 1e-5f);
            }
        for (int k = 0; k < 24; k++) second.Grad!.Data[k].Should().BeApproximately(2 * gv[k], 1e-6f);

        // The MSE head's parameters receive their gradient through the graph too.
        var mse = new MseScoreRegression(new MseOptions { EmbeddingDimension = 4 });
        var e = Tensor.FromSpan(F(r.E), 6, 4).RequireGrad();
        var meta = new BatchMetadata { Scores = F(r.Scores!) };
        var l2 = mse.Loss(e, meta);
        l2.Backward();
        mse.HeadWeight.Grad!.ToArray().Should().Equal(mse.HeadWeightGradient.ToArray());
        mse.HeadBias.Grad!.Item().Should().Be(mse.HeadBiasGradient.Item());
        using (Autograd.NoGrad()) mse.Loss(e, meta).RequiresGrad.Should().BeFalse();
        Assert.Throws<ShapeMismatchException>(() => mse.Loss(Tensor.Zeros(24), meta));
    }

    /// <summary>A minimal service provider (the test project references only the DI abstractions): singletons are
    /// cached, transients created per request, from factories or instances.</summary>
    private sealed class MiniProvider(IServiceCollection services) : IServiceProvider
    {
        private readonly Dictionary<Type, object> _singletons = new();

        public object? GetService(Type serviceType)
        {
            var d = services.LastOrDefault(x => x.ServiceType == serviceType);
            if (d is null) return null;
            if (d.Lifetime == ServiceLifetime.Singleton && _singletons.TryGetValue(serviceType, out var s)) return s;
            object o = d.ImplementationInstance ?? d.ImplementationFactory?.Invoke(this) ?? Activator.CreateInstance(d.ImplementationType!)!;
            if (d.Lifetime == ServiceLifetime.Singleton) _singletons[serviceType] = o;
            return o;
        }
    }
}
