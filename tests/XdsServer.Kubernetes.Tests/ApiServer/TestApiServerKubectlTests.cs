using XdsServer.Kubernetes.Testing;
using XdsServer.Kubernetes.Tests.ApiServer;

namespace XdsServer.Kubernetes.Tests;

/// <summary>The test API server checked by an independent client, kubectl: it must list and watch it as a real
/// cluster.</summary>
public sealed class TestApiServerKubectlTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Kubectl_lists_services_across_namespaces()
    {
        await using var server = await TestApiServer.StartAsync();
        server.Add(TestObjects.Service("default", "reviews"));
        server.Add(TestObjects.Service("shop", "cart"));

        await using var kubectl = Kubectl.Start(server.KubeconfigPath, "get", "services", "-A", "-o", "name");
        var (exitCode, lines) = await kubectl.WaitForExitAsync(Bound);

        Assert.Equal(0, exitCode);
        Assert.Equal(["service/cart", "service/reviews"], lines.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Kubectl_watch_prints_a_service_added_after_the_watch_started()
    {
        await using var server = await TestApiServer.StartAsync();
        server.Add(TestObjects.Service("default", "reviews"));

        await using var kubectl = Kubectl.Start(server.KubeconfigPath, "get", "services", "-A", "-w", "-o", "name");
        await kubectl.WaitForLineAsync("service/reviews", Bound);
        await Eventually.TrueAsync(() => server.OpenWatches(ApiResource.Services) == 1, "kubectl to open its watch", Bound);
        server.Add(TestObjects.Service("shop", "cart"));

        await kubectl.WaitForLineAsync("service/cart", Bound);
        var watch = Assert.Single(server.Requests, r => r.Watch);
        Assert.NotNull(watch.ResourceVersion);
    }
}
