using Microsoft.Extensions.DependencyInjection;
using XdsServer.Discovery;

namespace XdsServer.Kubernetes.Tests;

/// <summary>Registration of the live source with the xDS server builder.</summary>
public sealed class KubernetesDiscoveryRegistrationTests
{
    [Fact]
    public void AddKubernetesDiscovery_registers_the_source_with_its_options_and_the_registry()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddXdsServer().AddKubernetesDiscovery(o =>
        {
            o.Name = "cluster-a";
            o.KubeconfigPath = "/nonexistent/kubeconfig";
        });
        using var provider = services.BuildServiceProvider();

        var source = Assert.Single(provider.GetServices<IServiceDiscoverySource>());
        Assert.IsType<KubernetesDiscoverySource>(source);
        Assert.Equal("cluster-a", source.Name);
        Assert.NotNull(provider.GetService<ServiceRegistry>());
    }

    [Fact]
    public void Options_are_copied_when_the_source_is_created()
    {
        var options = new KubernetesDiscoveryOptions { Name = "first" };
        var source = new KubernetesDiscoverySource(options);
        options.Name = "second";

        Assert.Equal("first", source.Name);
        Assert.Throws<ArgumentOutOfRangeException>(() => new KubernetesDiscoverySource(new KubernetesDiscoveryOptions { WatchdogTimeout = TimeSpan.Zero }));
    }
}
