namespace MeshHost.Tests;

public sealed class CommandLineTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("meshhost-cli-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public void The_readme_command_runs_the_demo_mesh_on_two_ports()
    {
        Assert.True(CommandLine.TryParse(["--urls", "http://127.0.0.1:15010", "--http-urls", "http://127.0.0.1:15014"], out var command, out var error), error);
        Assert.Equal(DiscoveryMode.Demo, command.Mode);
        Assert.Equal(15010, Assert.Single(command.GrpcUrls).Port);
        Assert.Equal(15014, Assert.Single(command.HttpUrls).Port);
        Assert.Equal("cluster.local", command.Domain);
        Assert.Equal("cluster.local", command.TrustDomain);
        Assert.Null(command.CaFolder);
    }

    [Fact]
    public void The_trust_domain_follows_the_domain_unless_given_and_values_may_follow_an_equals_sign()
    {
        var tokens = Path.Combine(_folder.FullName, "tokens.json");
        File.WriteAllText(tokens, "{}");
        Assert.True(CommandLine.TryParse(["--urls=http://0.0.0.0:0", "--manifests", _folder.FullName, "--domain=mesh.example", "--ca-tokens", tokens,
            "--ca", Path.Combine(_folder.FullName, "cacerts")], out var command, out var error), error);
        Assert.Equal(DiscoveryMode.Manifests, command.Mode);
        Assert.Equal(_folder.FullName, command.Manifests);
        Assert.Equal("mesh.example", command.TrustDomain);
        Assert.Equal(tokens, command.CaTokens);
        Assert.Equal(0, command.GrpcUrls[0].Port);

        Assert.True(CommandLine.TryParse(["--urls", "http://127.0.0.1:1", "--in-cluster", "--domain", "a.b", "--trust-domain", "td.example"], out command, out error), error);
        Assert.Equal(DiscoveryMode.InCluster, command.Mode);
        Assert.Equal("td.example", command.TrustDomain);
    }

    [Fact]
    public void Help_is_answered_before_the_rest_is_checked()
    {
        Assert.True(CommandLine.TryParse(["--help", "--urls", "nonsense"], out var command, out var error), error);
        Assert.True(command.Help);
        Assert.Contains("--manifests", CommandLine.Usage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("missing --urls", "--http-urls", "http://127.0.0.1:15014")]
    [InlineData("unknown argument '--url'", "--url", "http://127.0.0.1:15010")]
    [InlineData("--urls needs a value", "--urls")]
    [InlineData("use http://", "--urls", "grpc://127.0.0.1:15010")]
    [InlineData("a port is required", "--urls", "http://127.0.0.1")]
    [InlineData("is not a port", "--urls", "http://127.0.0.1:99999")]
    [InlineData("'example.com' is not an IP address", "--urls", "http://example.com:1")]
    [InlineData("port 15010 is given more than once", "--urls", "http://127.0.0.1:15010", "--http-urls", "http://127.0.0.1:15010")]
    [InlineData("--kubeconfig and --in-cluster exclude each other", "--urls", "http://127.0.0.1:1", "--kubeconfig", "/etc/hostname", "--in-cluster")]
    [InlineData("the manifests folder '/no/such/folder' does not exist", "--urls", "http://127.0.0.1:1", "--manifests", "/no/such/folder")]
    [InlineData("the kubeconfig file '/no/such/file' does not exist", "--urls", "http://127.0.0.1:1", "--kubeconfig", "/no/such/file")]
    [InlineData("--ca-tokens is for --manifests and the demo mesh", "--urls", "http://127.0.0.1:1", "--in-cluster", "--ca-tokens", "/etc/hostname")]
    [InlineData("the token file '/no/such/tokens.json' does not exist", "--urls", "http://127.0.0.1:1", "--ca-tokens", "/no/such/tokens.json")]
    [InlineData("--ca needs a folder", "--urls", "http://127.0.0.1:1", "--ca", "/etc/hostname")]
    [InlineData("--domain 'cluster..local' is not a DNS name", "--urls", "http://127.0.0.1:1", "--domain", "cluster..local")]
    [InlineData("--in-cluster is given twice", "--urls", "http://127.0.0.1:1", "--in-cluster", "--in-cluster")]
    [InlineData("--domain is given twice", "--urls", "http://127.0.0.1:1", "--domain", "a", "--domain", "b")]
    [InlineData("is https:// but no --tls-cert/--tls-key are given", "--urls", "https://127.0.0.1:1")]
    [InlineData("--tls-cert and --tls-key go together", "--urls", "https://127.0.0.1:1", "--tls-cert", "/etc/hostname")]
    public void A_bad_command_line_is_refused_with_the_reason(string reason, params string[] args)
    {
        Assert.False(CommandLine.TryParse(args, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
