using System.Text.Json;
using Learner.Objectives;
using Learner.Objectives.Options;
using Microsoft.Extensions.Configuration;

namespace Learner.Tests.Objectives.Specs;

/// <summary>Specs in JSON (string and object forms) and in configuration (grammar strings).</summary>
public class ObjectiveSpecSerializationTests
{
    private sealed record Settings(ObjectiveSpec Objective, IReadOnlyList<ObjectiveSpec> Others);

    [Fact]
    public void Json_reads_the_grammar_string_and_writes_the_canonical_string()
    {
        var spec = JsonSerializer.Deserialize<ObjectiveSpec>("\"mse+0.5*Weighted-Contrastive( marginByGap = true )\"")!;
        spec.Should().Be(ObjectiveSpec.Parse("mse+0.5*weighted-contrastive(marginByGap=true)"));
        JsonSerializer.Serialize(spec).Should().Be("\"mse + 0.5*weighted-contrastive(marginByGap=true)\"");
        JsonSerializer.Deserialize<ObjectiveSpec>(JsonSerializer.Serialize(spec)).Should().Be(spec);
    }

    [Fact]
    public void Json_reads_the_object_form_to_the_same_spec_as_the_string()
    {
        const string json = """
            {"Terms":[
              {"name":"mse"},
              {"name":"weighted-contrastive","weight":0.5,"options":{"marginByGap":true,"marginSlope":1e-1,"gapFunction":"Sqrt"}}
            ]}
            """;
        var spec = JsonSerializer.Deserialize<ObjectiveSpec>(json)!;
        spec.Should().Be(ObjectiveSpec.Parse("mse + 0.5*weighted-contrastive(marginByGap=true, marginSlope=1e-1, gapFunction=Sqrt)"));
        JsonSerializer.Deserialize<ObjectiveSpec>(JsonSerializer.Serialize(spec)).Should().Be(spec);

        var built = (CompositeObjective)ObjectiveRecipes.Default.Build(spec, ObjectiveContext.ForValidation(), ObjectiveRegistry.CreateDefault());
        var options = ((WeightedContrastiveLoss)built.Terms[1].Objective).Options;
        (options.MarginByGap, options.MarginSlope, options.GapFunction).Should().Be((true, 0.1f, ScoreGapFunction.Sqrt));
    }

    [Fact]
    public void Json_writes_option_values_that_need_escaping_as_valid_json()
    {
        var spec = new ObjectiveSpec(new ObjectiveSpecTerm("toy", 1, new[] { new KeyValuePair<string, string>("label", "a\"b\\c") }));
        string json = JsonSerializer.Serialize(spec);
        json.Should().Be("\"toy(label=a\\\"b\\\\c)\"");
        JsonSerializer.Deserialize<ObjectiveSpec>(json).Should().Be(spec);
    }

    [Fact]
    public void Json_specs_work_as_properties_of_settings_records()
    {
        var json = """{"Objective":"supcon(temperature=0.07)","Others":["mse",{"terms":[{"name":"triplet","weight":2}]}]}""";
        var settings = JsonSerializer.Deserialize<Settings>(json)!;
        settings.Objective.Should().Be(ObjectiveSpec.Parse("supcon(temperature=0.07)"));
        settings.Others.Should().Equal(ObjectiveSpec.Parse("mse"), ObjectiveSpec.Parse("2*triplet"));
        JsonSerializer.Serialize(settings).Should().Be("""{"Objective":"supcon(temperature=0.07)","Others":["mse","2*triplet"]}""");
    }

    [Theory]
    [InlineData("42", "must be a JSON string or an object with \"terms\", found Number")]
    [InlineData("\"mse+\"", "Objective spec 'mse+' is invalid at position 4")]
    [InlineData("{}", "needs \"terms\"")]
    [InlineData("{\"objectives\":[]}", "unknown property \"objectives\"")]
    [InlineData("{\"terms\":{}}", "\"terms\" must be an array")]
    [InlineData("{\"terms\":[]}", "at least one term")]
    [InlineData("{\"terms\":[\"mse\"]}", "term 1 must be an object")]
    [InlineData("{\"terms\":[{\"weight\":1}]}", "term 1 needs a \"name\"")]
    [InlineData("{\"terms\":[{\"name\":\"mse\",\"weight\":\"1\"}]}", "term 1: \"weight\" must be a number")]
    [InlineData("{\"terms\":[{\"name\":\"mse\",\"weight\":-1}]}", "has the weight -1")]
    [InlineData("{\"terms\":[{\"name\":\"mse\",\"options\":{\"scoreScale\":[1]}}]}", "term 1 option \"scoreScale\" must be true, false, a number or a string, found StartArray")]
    [InlineData("{\"terms\":[{\"name\":\"mse\"},{\"name\":\"x\",\"extra\":1}]}", "term 2 has the unknown property \"extra\"")]
    [InlineData("{\"terms\":[{\"name\":\"mse\",\"options\":{\"a\":\"1,2\"}}]}", "option 'a' has the value '1,2'")]
    public void Malformed_json_raises_JsonException_naming_the_problem(string json, string message)
    {
        var ex = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<ObjectiveSpec>(json));
        ex.Message.Should().Contain(message);
    }

    [Fact]
    public void Configuration_strings_bind_and_parse_as_specs()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Learner:Objectives:0"] = "mse+0.5*weighted-contrastive(marginByGap=true)",
            ["Learner:Objectives:1"] = "supcon(temperature=0.07)",
            ["Learner:Objectives:2"] = "mse",
        }).Build();
        var section = config.GetSection("Learner:Objectives");
        var texts = section.Get<string[]>()!;
        texts.Should().HaveCount(3);
        var specs = texts.Select(ObjectiveSpec.Parse).ToArray();
        specs[0].Terms.Select(t => (t.Name, t.Weight)).Should().Equal(("mse", 1.0), ("weighted-contrastive", 0.5));
        specs[1].Terms[0].Options.Single().Value.Should().Be("0.07");
        foreach (var spec in specs) spec.Validate(ObjectiveRecipes.Default, ObjectiveRegistry.CreateDefault());
    }

    [Fact]
    public void A_malformed_configuration_string_fails_with_the_spec_in_the_message()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Learner:Objectives:0"] = "mse(" }).Build();
        var text = config.GetSection("Learner:Objectives").Get<string[]>()!.Single();
        Assert.Throws<ObjectiveSpecException>(() => ObjectiveSpec.Parse(text)).Message.Should().Contain("'mse('");
    }
}
