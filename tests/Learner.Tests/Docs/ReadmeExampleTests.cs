namespace Learner.Tests.Docs;

public class ReadmeExampleTests
{
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Learner.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No Learner.sln above {AppContext.BaseDirectory}.");
    }

    [Fact]
    public void The_README_example_is_the_compiled_sample_code()
    {
        string root = RepoRoot();
        var source = File.ReadAllLines(Path.Combine(root, "samples", "QuickStart", "ReadmeExample.cs"));
        int u0 = Array.IndexOf(source, "// README:BEGIN"), u1 = Array.IndexOf(source, "// README:BODY");
        int b0 = Array.FindIndex(source, l => l.Trim() == "// README:BEGIN-BODY"), b1 = Array.FindIndex(source, l => l.Trim() == "// README:END-BODY");
        new[] { u0, u1, b0, b1 }.Should().OnlyContain(i => i >= 0, "the markers are in ReadmeExample.cs");
        var expected = source[(u0 + 1)..u1].Append("").Concat(source[(b0 + 1)..b1].Select(l => l.Length >= 8 ? l[8..] : l.TrimStart())).ToArray();

        var readme = File.ReadAllLines(Path.Combine(root, "README.md"));
        int marker = Array.IndexOf(readme, "<!-- readme-example -->");
        marker.Should().BeGreaterThan(0, "README.md marks its example");
        readme[marker + 1].Should().Be("```csharp");
        int end = Array.IndexOf(readme, "```", marker + 2);
        readme[(marker + 2)..end].Should().Equal(expected);
        expected.Length.Should().BeLessThanOrEqualTo(20, "the README example stays short");
    }
}
