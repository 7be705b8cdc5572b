using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Learner.Objectives;

namespace Learner.Tests.Objectives.Specs;

/// <summary>The spec grammar: valid forms, whitespace and case, the canonical round-trip, and every parse error.</summary>
public class ObjectiveSpecGrammarTests
{
    private static KeyValuePair<string, string> O(string k, string v) => new(k, v);

    private static (string Key, string Value)[] Pairs(ObjectiveSpecTerm t) => t.Options.Select(o => (o.Key, o.Value)).ToArray();

    [Fact]
    public void A_bare_name_is_one_term_of_weight_one_without_options()
    {
        var spec = ObjectiveSpec.Parse("mse");
        spec.Terms.Should().ContainSingle();
        spec.Terms[0].Name.Should().Be("mse");
        spec.Terms[0].Weight.Should().Be(1);
        spec.Terms[0].Options.Should().BeEmpty();
        spec.IsComposite.Should().BeFalse();
        spec.ToString().Should().Be("mse");
    }

    [Fact]
    public void Weights_names_and_options_are_read_in_order()
    {
        var spec = ObjectiveSpec.Parse("0.3*mse+supcon(temperature=0.07)+1e-2*weighted-contrastive(marginByGap=true, marginSlope=1, gapFunction=Sqrt)");
        spec.Terms.Select(t => t.Name).Should().Equal("mse", "supcon", "weighted-contrastive");
        spec.Terms.Select(t => t.Weight).Should().Equal(0.3, 1, 0.01);
        Pairs(spec.Terms[1]).Should().Equal(("temperature", "0.07"));
        Pairs(spec.Terms[2]).Should().Equal(("marginByGap", "true"), ("marginSlope", "1"), ("gapFunction", "Sqrt"));
        spec.IsComposite.Should().BeTrue();
    }

    [Fact]
    public void Whitespace_around_tokens_and_name_case_do_not_matter()
    {
        var loose = ObjectiveSpec.Parse("  0.5 *  MSE ( scoreScale = 2 , InitSeed=3 )+\tWeighted-Contrastive  ");
        var tight = ObjectiveSpec.Parse("0.5*mse(scoreScale=2,initSeed=3)+weighted-contrastive");
        loose.Should().Be(tight);
        loose.GetHashCode().Should().Be(tight.GetHashCode());
        loose.Terms[0].Name.Should().Be("mse");
        loose.Terms[1].Name.Should().Be("weighted-contrastive");
        loose.ToString().Should().Be("0.5*mse(scoreScale=2, InitSeed=3) + weighted-contrastive");
    }

    [Fact]
    public void A_single_term_with_a_weight_other_than_one_is_composite_and_weight_one_is_left_out_of_the_canonical_form()
    {
        ObjectiveSpec.Parse("2*mse").IsComposite.Should().BeTrue();
        ObjectiveSpec.Parse("1*mse").Should().Be(ObjectiveSpec.Parse("mse"));
        ObjectiveSpec.Parse("1.0*mse").ToString().Should().Be("mse");
        ObjectiveSpec.Parse("0*mse").Terms[0].Weight.Should().Be(0);
        ObjectiveSpec.Parse("1e+2*mse").Terms[0].Weight.Should().Be(100);
    }

    [Fact]
    public void Option_values_may_hold_signs_and_exponents()
    {
        var t = ObjectiveSpec.Parse("mse(scoreOffset=-1.5e+3, scoreScale=2E-1)").Terms[0];
        Pairs(t).Should().Equal(("scoreOffset", "-1.5e+3"), ("scoreScale", "2E-1"));
    }

    [Fact]
    public void Values_compare_as_written_and_order_of_options_matters()
    {
        ObjectiveSpec.Parse("mse(scoreScale=2)").Should().NotBe(ObjectiveSpec.Parse("mse(scoreScale=2.0)"));
        ObjectiveSpec.Parse("a(x=1,y=2)").Should().NotBe(ObjectiveSpec.Parse("a(y=2,x=1)"));
        ObjectiveSpec.Parse("mse+supcon").Should().NotBe(ObjectiveSpec.Parse("supcon+mse"));
        ObjectiveSpec.Parse("mse").Should().NotBe(ObjectiveSpec.Parse("0.5*mse"));
        (ObjectiveSpec.Parse("mse") == ObjectiveSpec.Parse("MSE")).Should().BeTrue();
        (ObjectiveSpec.Parse("mse") != ObjectiveSpec.Parse("supcon")).Should().BeTrue();
    }

    [Theory]
    [InlineData("mse")]
    [InlineData("mse+0.5*weighted-contrastive")]
    [InlineData("weighted-contrastive(marginByGap=true, marginSlope=1)")]
    [InlineData("0.3*mse+supcon(temperature=0.07)")]
    [InlineData("1e-2*mse + 3*mse(scoreScale=0.25) + triplet(selection=SemiHard, penalty=softplus)")]
    public void The_canonical_form_round_trips(string text)
    {
        var spec = ObjectiveSpec.Parse(text);
        var again = ObjectiveSpec.Parse(spec.ToString());
        again.Should().Be(spec);
        again.ToString().Should().Be(spec.ToString());
    }

    [Fact]
    public void Random_specs_round_trip_through_their_canonical_text()
    {
        var names = new[] { "mse", "supcon", "weighted-contrastive", "y-aware", "rnc", "my-loss2" };
        var keys = new[] { "margin", "Temperature", "marginByGap", "_x1", "gapFunction" };
        var values = new[] { "true", "0.5", "-1e-3", "Sqrt", "12", "1E+2" };
        var weight = Gen.OneOf(Gen.Constant(1.0), Gen.Choose(0, 100000).Select(i => i / 1000.0), Gen.Choose(1, 9).Select(i => i * 1e-7));
        var option = from k in Gen.Elements(keys) from v in Gen.Elements(values) select (k, v);
        var term = from n in Gen.Elements(names)
                   from w in weight
                   from optionCount in Gen.Choose(0, 3)
                   from opts in Gen.ArrayOf(option, optionCount)
                   select new ObjectiveSpecTerm(n, w, opts.DistinctBy(o => o.k.ToLowerInvariant()).Select(o => O(o.k, o.v)).ToArray());
        var spec = from count in Gen.Choose(1, 4)
                   from terms in Gen.ArrayOf(term, count)
                   select new ObjectiveSpec(terms);
        Prop.ForAll(spec.ToArbitrary(), s =>
        {
            var back = ObjectiveSpec.Parse(s.ToString());
            return back.Equals(s) && back.GetHashCode() == s.GetHashCode() && back.ToString() == s.ToString();
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void TryParse_returns_false_with_the_error_instead_of_throwing()
    {
        ObjectiveSpec.TryParse("mse+", out var spec, out var error).Should().BeFalse();
        spec.Should().BeNull();
        error!.Message.Should().Contain("'mse+'");
        ObjectiveSpec.TryParse(null, out spec).Should().BeFalse();
        ObjectiveSpec.TryParse("supcon", out spec).Should().BeTrue();
        spec!.Terms[0].Name.Should().Be("supcon");
    }

    [Theory]
    [InlineData("", 0, "term 1", "an objective name (the spec is empty)", "found the end of the spec")]
    [InlineData("   ", 3, "term 1", "an objective name (the spec is empty)", "found the end of the spec")]
    [InlineData("mse+", 4, "term 2", "a weight or an objective name", "found the end of the spec")]
    [InlineData("mse++supcon", 4, "term 2", "a weight or an objective name", "found '+'")]
    [InlineData("mse supcon", 4, "term 1 'mse'", "'+' or the end of the spec", "found 's'")]
    [InlineData("0.5*", 4, "term 1", "an objective name", "found the end of the spec")]
    [InlineData("0.5*(x=1)", 4, "term 1", "an objective name", "found '('")]
    [InlineData("2mse", 0, "term 1", "a weight or an objective name", "found '2'")]
    [InlineData("-0.5*mse", 0, "term 1", "a weight that is a finite number ≥ 0, found '-0.5'", null)]
    [InlineData("1e999*mse", 0, "term 1", "a weight that is a finite number ≥ 0, found '1e999'", null)]
    [InlineData("mse(", 4, "term 1 'mse'", "an option name (key=value)", "found the end of the spec")]
    [InlineData("mse()", 4, "term 1 'mse'", "an option name (key=value)", "found ')'")]
    [InlineData("mse(scoreScale)", 14, "term 1 'mse'", "'=' after the option 'scoreScale'", "found ')'")]
    [InlineData("mse(scoreScale=)", 15, "term 1 'mse'", "a value for the option 'scoreScale'", "found ')'")]
    [InlineData("mse(scoreScale=2", 16, "term 1 'mse'", "',' or ')' to close the options", "found the end of the spec")]
    [InlineData("mse(scoreScale=2,)", 17, "term 1 'mse'", "an option name (key=value)", "found ')'")]
    [InlineData("mse(a=b=c)", 7, "term 1 'mse'", "',' or ')' after the value of the option 'a'", "found '='")]
    [InlineData("mse(terms=(a))", 10, "term 1 'mse'", "a value for the option 'terms'", "found '('")]
    [InlineData("mse(x=1, X=2)", 9, "term 1 'mse'", "each option once, but 'X' is set twice", null)]
    [InlineData("mse(1x=2)", 4, "term 1 'mse'", "an option name (key=value)", "found '1'")]
    [InlineData("mse+supcon)", 10, "term 2 'supcon'", "'+' or the end of the spec", "found ')'")]
    public void Parse_errors_quote_the_spec_and_name_the_position_term_and_expectation(string text, int position, string where, string expected, string? found)
    {
        var ex = Assert.Throws<ObjectiveSpecException>(() => ObjectiveSpec.Parse(text));
        ex.Should().BeAssignableTo<ArgumentException>();
        ex.Message.Should().StartWith($"Objective spec '{text}' is invalid at position {position} ({where}): expected {expected}");
        if (found is not null) ex.Message.Should().Contain(found);
        ex.Spec.Should().Be(text);
        ex.Position.Should().Be(position);
    }

    [Fact]
    public void A_list_splits_on_commas_and_semicolons_outside_parentheses_only()
    {
        var specs = ObjectiveSpec.ParseList(" mse, weighted-contrastive(marginByGap=true, marginSlope=1) ; mse+weighted-contrastive");
        specs.Should().Equal(ObjectiveSpec.Parse("mse"), ObjectiveSpec.Parse("weighted-contrastive(marginByGap=true,marginSlope=1)"), ObjectiveSpec.Parse("mse+weighted-contrastive"));
        ObjectiveSpec.ParseList("supcon").Should().ContainSingle();
        var ex = Assert.Throws<ObjectiveSpecException>(() => ObjectiveSpec.ParseList("mse,,supcon"));
        ex.Message.Should().StartWith("Objective list 'mse,,supcon' item 2: Objective spec '' is invalid at position 0");
        ex.InnerException.Should().BeOfType<ObjectiveSpecException>();
        Assert.Throws<ObjectiveSpecException>(() => ObjectiveSpec.ParseList("mse, supcon(temperature=)")).Message
            .Should().Contain("item 2: Objective spec ' supcon(temperature=)' is invalid at position 20");
    }

    [Fact]
    public void Terms_built_in_code_are_checked_like_parsed_ones()
    {
        Assert.Throws<ObjectiveSpecException>(() => new ObjectiveSpecTerm("3d", 1)).Message.Should().Contain("'3d'").And.Contain("expected a letter");
        Assert.Throws<ObjectiveSpecException>(() => new ObjectiveSpecTerm("mse", double.NaN)).Message.Should().Contain("'mse'").And.Contain("NaN");
        Assert.Throws<ObjectiveSpecException>(() => new ObjectiveSpecTerm("mse", -1)).Message.Should().Contain("-1").And.Contain("≥ 0");
        Assert.Throws<ObjectiveSpecException>(() => new ObjectiveSpecTerm("mse", 1, new[] { O("a b", "1") })).Message.Should().Contain("'a b'");
        Assert.Throws<ObjectiveSpecException>(() => new ObjectiveSpecTerm("mse", 1, new[] { O("a", "1,2") })).Message.Should().Contain("'1,2'");
        Assert.Throws<ObjectiveSpecException>(() => new ObjectiveSpecTerm("mse", 1, new[] { O("a", "  ") })).Message.Should().Contain("option 'a'");
        Assert.Throws<ObjectiveSpecException>(() => new ObjectiveSpecTerm("mse", 1, new[] { O("a", "1"), O("A", "2") })).Message.Should().Contain("'A' twice");
        Assert.Throws<ObjectiveSpecException>(() => new ObjectiveSpec(Array.Empty<ObjectiveSpecTerm>())).Message.Should().Contain("at least one term");
        var t = new ObjectiveSpecTerm("MSE", -0.0, new[] { O(" scoreScale ", " 2 ") });
        t.Name.Should().Be("mse");
        Pairs(t).Should().Equal(("scoreScale", "2"));
        t.ToString().Should().Be("0*mse(scoreScale=2)");
        var (name, weight, options) = t;
        (name, weight, options.Count).Should().Be(("mse", 0.0, 1));
    }

    [Fact]
    public void Weights_are_written_in_the_invariant_culture_whatever_the_current_one()
    {
        var previous = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.InvariantCulture.Clone() is CultureInfo c ? WithComma(c) : previous;
            var spec = new ObjectiveSpec(new ObjectiveSpecTerm("mse", 0.25));
            spec.ToString().Should().Be("0.25*mse");
            ObjectiveSpec.Parse("0.25*mse").Should().Be(spec);
        }
        finally
        {
            CultureInfo.CurrentCulture = previous;
        }

        static CultureInfo WithComma(CultureInfo c)
        {
            c.NumberFormat.NumberDecimalSeparator = ",";
            return c;
        }
    }
}
