using System.Globalization;
using MeshHost.Push;
using Microsoft.Extensions.DependencyInjection.Extensions;
using XdsServer;
using XdsServer.Discovery;

namespace MeshHost.Hosting;

/// <summary>
/// <c>GET /</c> on the HTTP port: the library's status page (<c>MapXdsStatusPage</c>: proxies with their per-type sync
/// state, the push chart, the discovery sources, the CA) with the mesh's own sections — the last push and its totals,
/// the proxies as the mesh sees them, the Istio objects reported bad, and a summary of the service registry. It answers
/// callers on this machine only, as the debug endpoints do; everything shown is HTML-encoded by the page's writer.
/// </summary>
public static class StatusPage
{
    /// <summary>Registers the mesh's sections of the status page.</summary>
    /// <param name="services">The host's services.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddMeshStatusSections(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IXdsStatusSection, MeshPushSection>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IXdsStatusSection, MeshProxiesSection>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IXdsStatusSection, MeshProblemsSection>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IXdsStatusSection, MeshRegistrySection>());
        return services;
    }

    /// <summary>Maps <c>GET /</c>: the library's page titled "MeshHost", loopback callers only.</summary>
    /// <param name="endpoints">The host's endpoints.</param>
    /// <returns>The endpoint's builder.</returns>
    public static IEndpointConventionBuilder MapStatusPage(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapXdsStatusPage(o => o.Title = "MeshHost");
    }

    internal static string Count(long value) => value.ToString(CultureInfo.InvariantCulture);

    internal static string Time(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
}

/// <summary>The push pipeline: totals and the last push.</summary>
internal sealed class MeshPushSection(MeshPublisher publisher) : IXdsStatusSection
{
    public string Title => "Mesh pushes";

    public ValueTask WriteAsync(XdsStatusSectionWriter writer, CancellationToken cancellationToken)
    {
        var status = publisher.Status;
        var facts = new List<KeyValuePair<string, string>>
        {
            new("pushes", StatusPage.Count(status.Pushes)),
            new("proxy configurations generated", StatusPage.Count(status.ProxiesPushed)),
            new("proxies left alone (unchanged)", StatusPage.Count(status.ProxiesSkipped)),
            new("changes waiting for the next push", StatusPage.Count(status.PendingChanges)),
        };
        if (status.Last is { } last)
        {
            facts.Add(new("last push", $"#{StatusPage.Count(last.Sequence)} at {StatusPage.Time(last.At)}: {last.Reason}"));
            facts.Add(new("last push scope", $"{StatusPage.Count(last.ChangedKeys)} changed objects, {StatusPage.Count(last.ProxiesPushed)} proxies pushed, "
                + $"{StatusPage.Count(last.ProxiesSkipped)} skipped, {StatusPage.Count(last.Full)} regenerated whole"));
            facts.Add(new("last push took", $"{last.DurationMilliseconds.ToString("0.0", CultureInfo.InvariantCulture)} ms after "
                + $"{last.DebounceMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms of debounce"));
        }
        else
        {
            facts.Add(new("last push", "none yet"));
        }

        writer.Facts(facts);
        writer.Link("push status as JSON", PushStatusEndpoints.Path);
        return ValueTask.CompletedTask;
    }
}

/// <summary>The proxies as the mesh sees them: type, namespace, identity, pushes.</summary>
internal sealed class MeshProxiesSection(MeshPublisher publisher) : IXdsStatusSection
{
    public string Title => "Mesh proxies";

    public ValueTask WriteAsync(XdsStatusSectionWriter writer, CancellationToken cancellationToken)
    {
        var proxies = publisher.Proxies;
        writer.Table(["node id", "type", "namespace", "service account", "Istio version", "streams", "pushes", "skipped"],
            proxies.Select(p => (IReadOnlyList<string>)
            [
                p.Proxy.NodeId,
                p.Proxy.IsProxylessGrpc ? "proxyless gRPC" : p.Proxy.Type.ToString().ToLowerInvariant(),
                p.Proxy.Namespace,
                p.Proxy.ServiceAccount ?? string.Empty,
                p.Proxy.IstioVersion ?? string.Empty,
                StatusPage.Count(p.Streams),
                StatusPage.Count(p.Pushes),
                StatusPage.Count(p.Skipped),
            ]));
        writer.Link("proxies as JSON", "/debug/proxies");
        return ValueTask.CompletedTask;
    }
}

/// <summary>The Istio objects the generator could not use, and why.</summary>
internal sealed class MeshProblemsSection(MeshPublisher publisher) : IXdsStatusSection
{
    public string Title => $"Problems ({publisher.Problems.Count.ToString(CultureInfo.InvariantCulture)})";

    public ValueTask WriteAsync(XdsStatusSectionWriter writer, CancellationToken cancellationToken)
    {
        var problems = publisher.Problems;
        if (problems.Count == 0)
        {
            writer.Paragraph("Every Istio object in the registry was usable.");
            return ValueTask.CompletedTask;
        }

        writer.Warning($"{problems.Count.ToString(CultureInfo.InvariantCulture)} object(s) could not be used as written:");
        writer.Table(["kind", "namespace", "name", "reason"],
            problems.Select(p => (IReadOnlyList<string>)[p.Key.Kind, p.Key.Namespace, p.Key.Name, p.Reason]));
        writer.Link("problems as JSON", "/debug/problems");
        return ValueTask.CompletedTask;
    }
}

/// <summary>What the service registry holds, by kind, with links to the full JSON.</summary>
internal sealed class MeshRegistrySection(ServiceRegistry registry) : IXdsStatusSection
{
    public string Title => "Service registry";

    public ValueTask WriteAsync(XdsStatusSectionWriter writer, CancellationToken cancellationToken)
    {
        var snapshot = registry.Current;
        var services = snapshot.Services.ToList();
        writer.Paragraph($"Generation {StatusPage.Count(snapshot.Generation)}: {StatusPage.Count(services.Count)} services with "
            + $"{StatusPage.Count(services.Sum(s => snapshot.EndpointsOf(s.Key).Count()))} endpoints, {StatusPage.Count(snapshot.Count)} objects in all.");
        writer.Table(["kind", "objects"], RegistryEndpoints.Kinds(snapshot)
            .Select(k => (IReadOnlyList<string>)[k.Kind, StatusPage.Count(k.Count)]));
        writer.Link("services, endpoints and workloads as JSON", RegistryEndpoints.RegistryPath);
        writer.Link("the Istio configuration as JSON", RegistryEndpoints.ConfigPath);
        return ValueTask.CompletedTask;
    }
}
