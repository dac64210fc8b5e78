using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using XdsServer.Discovery;

namespace XdsServer.Kubernetes.Tests;

public sealed class ManifestDiscoveryHostTests
{
    [Fact]
    public async Task AddManifestDiscovery_serves_the_folder_in_a_host_and_the_discovery_check_follows_its_problems()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"xds-manifests-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "vm.yaml"), """
                apiVersion: networking.istio.io/v1
                kind: ServiceEntry
                metadata: { name: vm, namespace: demo }
                spec:
                  hosts: [vm.demo]
                  ports: [{ number: 80, name: http }]
                  workloadSelector: { labels: { app: vm } }
                ---
                apiVersion: networking.istio.io/v1
                kind: WorkloadEntry
                metadata: { name: vm-1, namespace: demo }
                spec: { address: 127.0.0.1, labels: { app: vm }, ports: { http: 18080 } }
                """);
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Services.AddXdsServer().AddSnapshotCache().AddManifestDiscovery(o =>
            {
                o.Directory = directory;
                o.Name = "demo";
                o.Debounce = TimeSpan.FromMilliseconds(20);
            });
            await using var app = builder.Build();
            await app.StartAsync();

            var registry = app.Services.GetRequiredService<ServiceRegistry>();
            await registry.WhenReady.WaitAsync(TimeSpan.FromSeconds(10));
            var endpoint = Assert.Single(registry.Current.EndpointsOf(new ObjectKey(RegistryKinds.ServiceEntry, "demo", "vm/vm.demo")));
            Assert.Equal(("127.0.0.1", 18080), (endpoint.Address, endpoint.Ports["http"]));
            var health = app.Services.GetRequiredService<HealthCheckService>();
            var report = await health.CheckHealthAsync(r => r.Name == "discovery");
            Assert.Equal(HealthStatus.Healthy, report.Status);

            await File.WriteAllTextAsync(Path.Combine(directory, "broken.yaml"), "kind: Service\n");
            await Eventually.TrueAsync(
                () => !registry.Sources.Single().Healthy, "the source reports the bad file", TimeSpan.FromSeconds(10));
            report = await health.CheckHealthAsync(r => r.Name == "discovery");
            Assert.Equal(HealthStatus.Degraded, report.Status);
            Assert.Contains("broken.yaml:1:1", report.Entries["discovery"].Description, StringComparison.Ordinal);
            Assert.Single(registry.Current.EndpointsOf(new ObjectKey(RegistryKinds.ServiceEntry, "demo", "vm/vm.demo")));
            await app.StopAsync();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
