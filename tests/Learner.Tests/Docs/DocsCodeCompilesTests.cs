using System.Collections.Immutable;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Learner.Tests.Docs;

/// <summary>
/// Every C# code block of README.md, docs/*.md and the package READMEs (src/*/README.md) compiles against the built assemblies (Roslyn, in memory). A block
/// is a method body: its leading <c>using</c> directives go to the top of the file, and the variables it uses without
/// declaring them (<c>data</c>, <c>split</c>, <c>encoder</c>, <c>progress</c>, <c>cancellationToken</c>, …) are declared
/// before it with the types of <see cref="Context"/>. An HTML comment on the line before a block,
/// <c>&lt;!-- compile-with: ExperimentOptions options; int steps --&gt;</c>, declares or overrides such variables. A block
/// whose code (after its usings) starts with a <c>namespace</c> declaration is a whole file and is compiled as written.
/// Blocks are compiled, not run: running is the samples' and scripts/first-hour.sh's job.
/// </summary>
public partial class DocsCodeCompilesTests
{
    /// <summary>The variables a block may use without declaring them, and their types.</summary>
    private static readonly Dictionary<string, string> Context = new(StringComparer.Ordinal)
    {
        ["data"] = "LongitudinalDataset", ["dataset"] = "LongitudinalDataset", ["training"] = "LongitudinalDataset",
        ["split"] = "PatientSplit", ["options"] = "PretrainingOptions", ["encoder"] = "IEncoder", ["objective"] = "IObjective",
        ["sampler"] = "IBatchSampler", ["backend"] = "ComputeBackend", ["progress"] = "IProgress<TrainingProgress>",
        ["cancellationToken"] = "CancellationToken", ["services"] = "IServiceCollection", ["provider"] = "IServiceProvider",
        ["configuration"] = "IConfiguration", ["rng"] = "Rng", ["seed"] = "ulong", ["x"] = "Tensor", ["embeddings"] = "float[]",
        ["scores"] = "float[]", ["patients"] = "int[]", ["B"] = "int", ["D"] = "int", ["gradEmbeddings"] = "Span<float>",
        ["pairPatientIds"] = "int[]", ["truth"] = "int[]", ["predicted"] = "int[]",
        ["batches"] = "IEnumerable<(TorchSharp.torch.Tensor Clips, float[] Scores, int[] Patients)>",
    };

    /// <summary>Namespaces every block sees.</summary>
    private static readonly string[] Usings =
    [
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Threading", "System.Threading.Tasks",
        "Learner.Data", "Learner.Data.Synthetic", "Learner.Downstream", "Learner.Encoders", "Learner.Experiments", "Learner.Metrics",
        "Learner.Objectives", "Learner.Objectives.Options", "Learner.Reporting", "Learner.Sampling", "Learner.Training",
        "Learner.Nn", "Learner.Nn.Modules", "Learner.Nn.Optim", "Microsoft.Extensions.Configuration", "Microsoft.Extensions.DependencyInjection",
    ];

    /// <summary>Types the guides use as placeholders for the reader's own code.</summary>
    private const string Placeholders = """
        internal static class MyNetworks
        {
            public static TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> Build() => throw new System.NotImplementedException();
        }
        """;

    internal sealed record Block(string File, int Line, string Code, IReadOnlyDictionary<string, string> Extra);

    [GeneratedRegex(@"^(?<indent>[ \t]*)```(?:csharp|cs|c#)[ \t]*$", RegexOptions.CultureInvariant)]
    private static partial Regex Fence();

    [GeneratedRegex(@"^\s*<!--\s*compile-with:(?<decls>.*)-->\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex CompileWith();

    /// <summary>The C# blocks of README.md and docs/*.md, with the line of their opening fence.</summary>
    internal static List<Block> Blocks()
    {
        string root = RepoRoot();
        // The guides, the repository README and each package's own README (src/<project>/README.md).
        var files = Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Order(StringComparer.Ordinal).Prepend(Path.Combine(root, "README.md"))
            .Concat(Directory.GetDirectories(Path.Combine(root, "src")).Select(d => Path.Combine(d, "README.md")).Where(File.Exists).Order(StringComparer.Ordinal));
        var blocks = new List<Block>();
        foreach (var file in files)
        {
            var lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                var m = Fence().Match(lines[i]);
                if (!m.Success) continue;
                string indent = m.Groups["indent"].Value;
                int end = Array.FindIndex(lines, i + 1, l => l.TrimEnd() == indent + "```");
                if (end < 0) throw new InvalidOperationException($"{file}:{i + 1}: the code block is not closed.");
                var code = lines[(i + 1)..end].Select(l => l.StartsWith(indent, StringComparison.Ordinal) ? l[indent.Length..] : l.TrimStart());
                var extra = new Dictionary<string, string>(StringComparer.Ordinal);
                // The comment may sit right above the fence, or above a marker comment such as <!-- readme-example -->.
                for (int j = i - 1; j >= Math.Max(0, i - 2); j--)
                    if (CompileWith().Match(lines[j]) is { Success: true } c)
                        foreach (var decl in c.Groups["decls"].Value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                        {
                            int space = decl.LastIndexOf(' ');
                            extra[decl[(space + 1)..]] = decl[..space];
                        }
                blocks.Add(new Block(Path.GetRelativePath(root, file), i + 1, string.Join("\n", code), extra));
                i = end;
            }
        }
        return blocks;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Learner.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No Learner.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>The block as a compilation unit: its usings on top, then a method declaring the context it uses.</summary>
    internal static string Source(Block block, int index)
    {
        var lines = block.Code.Split('\n');
        int body = 0;
        var usings = new List<string>();
        while (body < lines.Length && (lines[body].Trim().Length == 0 || IsUsingDirective(lines[body])))
        {
            if (lines[body].Trim().Length > 0) usings.Add(lines[body].Trim());
            body++;
        }
        string statements = string.Join("\n", lines[body..]);
        // A block that declares its own namespace is a whole source file (a guide's complete example): compiled as it
        // stands, after the shared usings, with its lines mapped to the markdown file.
        if (lines[body..].FirstOrDefault(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith("//", StringComparison.Ordinal)) is { } first
            && first.TrimStart().StartsWith("namespace ", StringComparison.Ordinal))
            return string.Join("\n", usings.Select(u => u).Prepend("#line hidden"))
                + $"\n#line {block.Line + 1 + body} \"{block.File}\"\n" + statements + "\n";
        var declared = DeclaredNames(statements);
        var context = new Dictionary<string, string>(Context, StringComparer.Ordinal);
        foreach (var (name, type) in block.Extra) context[name] = type;
        var tree = CSharpSyntaxTree.ParseText("class C { async System.Threading.Tasks.Task M() {\n" + statements + "\n} }");
        var used = tree.GetRoot().DescendantNodes().OfType<IdentifierNameSyntax>().Select(n => n.Identifier.ValueText).ToHashSet(StringComparer.Ordinal);
        var declarations = context.Where(kv => used.Contains(kv.Key) && !declared.Contains(kv.Key)).Select(kv => $"        {kv.Value} {kv.Key} = default!;");
        bool isAsync = statements.Contains("await ", StringComparison.Ordinal);
        return string.Join("\n", Usings.Select(u => $"using {u};").Concat(usings.Where(u => !Usings.Contains(u[6..^1].Trim()))))
            + $"\n#pragma warning disable CS0168, CS0219, CS0162, CS8321, CS1998\n#line hidden\ninternal static class DocBlock{index}\n{{\n    internal static {(isAsync ? "async Task" : "void")} Run()\n    {{\n"
            + string.Join("\n", declarations)
            + $"\n#line {block.Line + 1 + body} \"{block.File}\"\n" + statements + "\n#line hidden\n    }\n}\n";
    }

    private static bool IsUsingDirective(string line)
    {
        string t = line.Trim();
        return t.StartsWith("using ", StringComparison.Ordinal) && t.EndsWith(';') && !t.StartsWith("using var ", StringComparison.Ordinal) && !t.Contains('(') && !t.Contains('=');
    }

    /// <summary>Names the statements declare (locals, deconstructions, pattern and out variables, foreach variables).</summary>
    private static HashSet<string> DeclaredNames(string statements)
    {
        var root = CSharpSyntaxTree.ParseText("class C { void M() {\n" + statements + "\n} }").GetRoot();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in root.DescendantNodes())
        {
            switch (n)
            {
                case VariableDeclaratorSyntax v: names.Add(v.Identifier.ValueText); break;
                case SingleVariableDesignationSyntax s: names.Add(s.Identifier.ValueText); break;
                case ForEachStatementSyntax f: names.Add(f.Identifier.ValueText); break;
            }
        }
        return names;
    }

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Concat(Directory.GetFiles(AppContext.BaseDirectory, "*.dll"))
            .GroupBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase).Select(g => g.First());
        return paths.Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToImmutableArray();
    });

    [Fact]
    public void There_are_blocks_to_compile_in_the_readme_and_the_guides()
    {
        var blocks = Blocks();
        blocks.Should().Contain(b => b.File == "README.md");
        blocks.Select(b => b.File).Distinct().Should().Contain(Path.Combine("docs", "getting-started.md"));
        blocks.Should().Contain(b => b.File == Path.Combine("src", "Learner", "README.md"));
        blocks.Count.Should().BeGreaterThan(15);
    }

    [Fact]
    public void Every_csharp_block_of_the_readme_and_docs_compiles_against_the_built_assemblies()
    {
        var blocks = Blocks();
        var parse = new CSharpParseOptions(LanguageVersion.Latest);
        var trees = blocks.Select((b, i) => CSharpSyntaxTree.ParseText(Source(b, i), parse, path: $"block{i}.cs"))
            .Append(CSharpSyntaxTree.ParseText(Placeholders, parse, path: "placeholders.cs")).ToList();
        var compilation = CSharpCompilation.Create("DocsBlocks", trees, References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d => $"{d.Location.GetMappedLineSpan().Path}:{d.Location.GetMappedLineSpan().StartLinePosition.Line + 1}: {d.Id} {d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)}")
            .Distinct().ToList();
        errors.Should().BeEmpty("every C# block in README.md and docs/ must compile (a line is the markdown file's)");
    }

    [Fact]
    public void A_block_that_does_not_compile_is_reported_at_its_markdown_line()
    {
        var block = new Block(Path.Combine("docs", "example.md"), 10, "var data = Manifest.Read(\"m.csv\");\nint n = data.NoSuchMember;", new Dictionary<string, string>());
        var compilation = CSharpCompilation.Create("Bad", [CSharpSyntaxTree.ParseText(Source(block, 0))], References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        var error = compilation.GetDiagnostics().Single(d => d.Severity == DiagnosticSeverity.Error);
        error.Id.Should().Be("CS1061");
        var span = error.Location.GetMappedLineSpan();
        span.Path.Should().Be(block.File);
        (span.StartLinePosition.Line + 1).Should().Be(12, "fence on line 10, the block's second line is line 12");
    }
}
