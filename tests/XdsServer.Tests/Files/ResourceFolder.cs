using Microsoft.Extensions.Primitives;
using XdsServer.Files;

namespace XdsServer.Tests.Files;

/// <summary>A temporary folder of resource files, deleted on dispose, with the sample's xds:///hello chain at hand.</summary>
internal sealed class ResourceFolder : IDisposable
{
    public ResourceFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "xds-files-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public static string ListenerYaml(string name = "hello", string route = "hello-route") => $$"""
        "@type": type.googleapis.com/envoy.config.listener.v3.Listener
        name: {{name}}
        api_listener:
          api_listener:
            "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
            stat_prefix: {{name}}
            rds:
              route_config_name: {{route}}
              config_source: { ads: {} }
            http_filters:
              - name: envoy.filters.http.router
                typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
        """;

    public static string RouteJson(string name = "hello-route", string cluster = "hello") => $$"""
        {
          "@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
          "name": "{{name}}",
          "virtual_hosts": [ { "name": "all", "domains": ["*"], "routes": [ { "match": { "prefix": "" }, "route": { "cluster": "{{cluster}}" } } ] } ]
        }
        """;

    public static string ClusterJson(string name = "hello") => $$"""
        { "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "{{name}}", "type": "EDS", "eds_cluster_config": { "eds_config": { "ads": {} } } }
        """;

    /// <summary>A cluster and its endpoints in one YAML file, as <c>{"resources": [...]}</c>.</summary>
    public static string ClusterWithEndpointsYaml(string name = "hello", int port = 50051) => $$"""
        resources:
          - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
            name: {{name}}
            type: EDS
            eds_cluster_config:
              eds_config:
                ads: {}
          - "@type": type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment
            cluster_name: {{name}}
            endpoints:
              - locality: { zone: z1 }
                lb_endpoints:
                  - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: {{port}} } } }
        """;

    public static string EndpointsYaml(string name = "hello", int port = 50051) => $$"""
        "@type": type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment
        cluster_name: {{name}}
        endpoints:
          - locality: { zone: z1 }
            lb_endpoints:
              - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: {{port}} } } }
        """;

    /// <summary>Writes the whole xds:///hello chain: YAML and JSON, single resources and a list.</summary>
    public ResourceFolder WithHelloChain()
    {
        Write("listener.yaml", ListenerYaml());
        Write("route.json", RouteJson());
        Write("cluster.yml", ClusterWithEndpointsYaml());
        return this;
    }

    /// <summary>Writes a file whole: to a temporary name first, then renamed, so no reader sees half of it.</summary>
    public void Write(string name, string content)
    {
        var target = System.IO.Path.Combine(Path, name);
        var temp = System.IO.Path.Combine(Path, "." + name + ".tmp");
        File.WriteAllText(temp, content);
        File.Move(temp, target, overwrite: true);
    }

    public void Delete(string name) => File.Delete(System.IO.Path.Combine(Path, name));

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Event-driven waits on a <see cref="FileResourceSource"/>'s status.</summary>
internal static class FileResourceSourceWaits
{
    /// <summary>Waits (on the source's change token, no polling) until the status satisfies
    /// <paramref name="condition"/>; fails after <paramref name="timeout"/> (5 s) with the last status.</summary>
    public static async Task<FileResourceStatus> WaitForAsync(this FileResourceSource source, Func<FileResourceStatus, bool> condition,
        string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(5);
        using var cts = new CancellationTokenSource(limit);
        while (true)
        {
            var token = source.GetChangeToken(); // before reading the status, so no change is missed
            var status = source.Status;
            if (condition(status))
            {
                return status;
            }

            var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (token.RegisterChangeCallback(_ => changed.TrySetResult(), null))
            using (cts.Token.Register(() => changed.TrySetCanceled()))
            {
                try
                {
                    await changed.Task;
                }
                catch (TaskCanceledException)
                {
                    throw new TimeoutException($"waited {limit.TotalSeconds:0.#} s for {what}; status: {source.Status}");
                }
            }
        }
    }
}
