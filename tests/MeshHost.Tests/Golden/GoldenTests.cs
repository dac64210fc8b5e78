// Golden files of the demo mesh's configuration, one per proxy, under Golden/demo/ (see Golden/README.md).
// Regenerate them all (then review the diff as you would code):
//
//     UPDATE_GOLDEN=1 dotnet test tests/MeshHost.Tests -c Release --filter Golden

using MeshHost.Generation;

namespace MeshHost.Tests.Golden;

public class GoldenTests
{
    public static TheoryData<string> ProxyFiles() => [.. GoldenConfig.Proxies.Select(p => p.File)];

    [Theory]
    [MemberData(nameof(ProxyFiles))]
    public async Task Golden_the_demo_configuration_of_each_proxy_matches_its_file(string file)
    {
        var proxy = GoldenConfig.Proxies.Single(p => p.File == file);
        var context = await GoldenConfig.LoadDemoAsync();
        Assert.Empty(context.Problems);

        var actual = GoldenConfig.Format(proxy.Proxy, MeshGenerator.Generate(context, proxy.Proxy));

        var path = GoldenConfig.PathOf(proxy);
        var relative = Path.Combine("tests", "MeshHost.Tests", "Golden", "demo", proxy.File + ".json");
        if (Environment.GetEnvironmentVariable(GoldenConfig.UpdateVariable) == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, actual);
            return;
        }
        Assert.True(File.Exists(path), $"{relative} is missing: create it with `{GoldenConfig.UpdateCommand}`, then review it.");
        var diff = GoldenConfig.Diff(await File.ReadAllTextAsync(path), actual);
        Assert.True(diff.Length == 0,
            $"the configuration of {proxy.Proxy.NodeId} differs from {relative} (- file, + generated):\n{diff}" +
            $"If the change is intended, regenerate with `{GoldenConfig.UpdateCommand}` and review the diff.");
    }

    [Fact]
    public async Task Golden_every_resource_of_every_golden_proxy_formats_to_json_with_every_any_type_known()
    {
        var context = await GoldenConfig.LoadDemoAsync();
        var failures = new List<string>();
        var count = 0;
        foreach (var proxy in GoldenConfig.Proxies)
        {
            foreach (var set in MeshGenerator.Generate(context, proxy.Proxy).ResourceSets)
            {
                foreach (var resource in set.Sorted)
                {
                    count++;
                    try
                    {
                        Assert.StartsWith("{", GoldenConfig.FormatMessage(resource.Message), StringComparison.Ordinal);
                    }
                    catch (InvalidOperationException e)
                    {
                        failures.Add($"{proxy.File}: {set.TypeUrl} {resource.Name}: {e.Message}");
                    }
                }
            }
        }
        Assert.True(count > 0, "the golden proxies were given no resources");
        Assert.True(failures.Count == 0, "resources that do not format to proto3 JSON (an Any of a type not in the Envoy API's registry?):\n"
            + string.Join("\n", failures));
    }

    [Fact]
    public void Golden_the_diff_names_the_first_differing_lines()
    {
        Assert.Empty(GoldenConfig.Diff("a\nb\nc\n", "a\r\nb\r\nc\r\n"));
        var diff = GoldenConfig.Diff("a\nb\nc\nd\n", "a\nb\nX\nd\n");
        Assert.Equal("first difference at line 3\n  a\n  b\n- c\n+ X\n", diff);
    }

    [Fact]
    public void Golden_the_demo_templates_render_with_a_fixed_address_and_port_for_every_workload()
    {
        var rendered = string.Concat(MeshHost.Demo.DemoMesh.Templates().Select(t =>
            MeshHost.Demo.DemoMesh.Render(t.Text, GoldenConfig.Domain, GoldenConfig.Ports, GoldenConfig.Addresses)));
        Assert.DoesNotMatch(@"\$\{[a-z0-9:-]+\}", rendered);
        Assert.DoesNotMatch(@"(podIP|address): 127\.0\.0\.1", rendered);
        var live = string.Concat(MeshHost.Demo.DemoMesh.Templates().Select(t =>
            MeshHost.Demo.DemoMesh.Render(t.Text, GoldenConfig.Domain, GoldenConfig.Ports)));
        Assert.Contains("podIP: 127.0.0.1", live, StringComparison.Ordinal);

        var missing = new Dictionary<string, string>(GoldenConfig.Addresses);
        missing.Remove("ratings-v1");
        var error = Assert.Throws<InvalidOperationException>(() => string.Concat(MeshHost.Demo.DemoMesh.Templates().Select(t =>
            MeshHost.Demo.DemoMesh.Render(t.Text, GoldenConfig.Domain, GoldenConfig.Ports, missing))));
        Assert.Contains("ip:ratings-v1", error.Message, StringComparison.Ordinal);
    }
}
