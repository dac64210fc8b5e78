using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XdsServer.Files;

namespace XdsServer.Tests.Files;

/// <summary>A bad resource file's error names the line and column to edit: YAML and JSON syntax errors where the
/// text stops being valid, proto3 JSON mapping errors (unknown field, wrong type, unknown "@type") at the field,
/// other problems at the resource.</summary>
public sealed class FileErrorPositionTests : IDisposable
{
    private readonly ResourceFolder _folder = new();
    private readonly SnapshotCache _cache = new(new SnapshotCacheOptions { NodeHash = new NodeHash(_ => FileResourceOptions.DefaultGroup) });

    public void Dispose()
    {
        _cache.Dispose();
        _folder.Dispose();
    }

    private (int? Line, int? Column, string Reason) ErrorOf(string name, string text)
    {
        _folder.Write(name, text);
        var file = ResourceFile.Read(Path.Combine(_folder.Path, name), name, DateTime.UnixEpoch, text.Length, ResourceTypeRegistry.Default);
        var error = file.Error ?? throw new InvalidOperationException($"'{name}' was accepted; expected an error");
        return (error.Line, error.Column, error.Reason);
    }

    [Fact]
    public void A_yaml_syntax_error_is_reported_where_the_yaml_breaks()
    {
        var (line, column, reason) = ErrorOf("broken.yaml", """
            "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
            name: backend
            connect_timeout: "1s
            type: STATIC
            """);

        Assert.True(reason.StartsWith("not valid YAML: ", StringComparison.Ordinal), reason);
        Assert.Contains("quoted scalar", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("Idx:", reason, StringComparison.Ordinal); // the position is not repeated in the text
        Assert.Equal((3, 18), (line, column)); // the quote that is never closed
    }

    [Fact]
    public void Input_the_yaml_parser_fails_on_without_a_position_is_reported_after_its_last_good_part()
    {
        // YamlDotNet's scanner throws a bare InvalidOperationException for this one.
        var (line, column, reason) = ErrorOf("broken.yaml", """
            "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
            name: backend
            connect_timeout: [1s
            type: STATIC
            """);

        Assert.True(reason.StartsWith("not valid YAML: malformed YAML after this point", StringComparison.Ordinal), reason);
        Assert.Equal((3, 18), (line, column)); // the '[' that is never closed: the last event the parser produced
    }

    [Fact]
    public void A_json_syntax_error_is_reported_where_the_json_breaks_in_characters()
    {
        var (line, column, reason) = ErrorOf("broken.json", """
            {
              "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
              "name": "bäckend" "type": "STATIC",
              "connect_timeout": "1s"
            }
            """);

        Assert.StartsWith("not valid JSON: ", reason, StringComparison.Ordinal);
        Assert.DoesNotContain("BytePositionInLine", reason, StringComparison.Ordinal);
        Assert.Equal((3, 21), (line, column)); // the missing comma before "type": column 21 in characters (22 in bytes)
    }

    [Fact]
    public void An_unknown_field_is_reported_at_the_field_in_yaml_and_json()
    {
        var yaml = ErrorOf("cluster.yaml", """
            "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
            name: backend
            type: EDS
            eds_cluster_config:
              eds_config:
                ads: {}
                no_such_field: 1
            """);
        Assert.Equal((7, 5), (yaml.Line, yaml.Column));
        Assert.Contains("no_such_field", yaml.Reason, StringComparison.Ordinal);
        Assert.Contains("(at eds_cluster_config.eds_config.no_such_field)", yaml.Reason, StringComparison.Ordinal);

        var json = ErrorOf("cluster.json", """
            {"resources": [
              {"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "a"},
              {"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
               "name": "b", "colour": "blue"}
            ]}
            """);
        Assert.Equal((4, 17), (json.Line, json.Column));
        Assert.StartsWith("resources[1]: Cluster: ", json.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_wrong_type_inside_a_typed_config_is_reported_at_the_value()
    {
        var (line, column, reason) = ErrorOf("listener.yaml", """
            "@type": type.googleapis.com/envoy.config.listener.v3.Listener
            name: hello
            api_listener:
              api_listener:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: hello
                rds:
                  route_config_name: hello-route
                  config_source: { ads: {} }
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
                  - name: second
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
                      dynamic_stats: [not, a, bool]
            """);

        Assert.Equal((16, 11), (line, column));
        Assert.Contains("(at api_listener.api_listener.http_filters[1].typed_config.dynamic_stats)", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_type_and_a_resource_problem_are_reported_at_the_resource_in_its_document()
    {
        var unknownType = ErrorOf("multi.yaml", """
            "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
            name: a
            ---
            # the second document
            "@type": type.googleapis.com/envoy.config.core.v3.Node
            id: x
            """);
        Assert.Equal((5, 1), (unknownType.Line, unknownType.Column));
        Assert.StartsWith("document 2: \"@type\" 'type.googleapis.com/envoy.config.core.v3.Node'", unknownType.Reason, StringComparison.Ordinal);

        var noName = ErrorOf("list.json", """
            {
              "resources": [
                {"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "name": "a"},
                {"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", "type": "EDS"}
              ]
            }
            """);
        Assert.Equal((4, 5), (noName.Line, noName.Column));

        var twice = ErrorOf("twice.yaml", """
            resources:
            - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
              name: a
            - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
              name: a
            """);
        Assert.Equal((4, 3), (twice.Line, twice.Column));
    }

    [Fact]
    public async Task Status_health_and_log_name_file_line_and_column()
    {
        _folder.WithHelloChain();
        _folder.Write("bad.json", "{\n  \"@type\": \"type.googleapis.com/envoy.config.cluster.v3.Cluster\",\n  \"name\": \"x\",\n  \"lb_policy\": 7.5\n}");
        var log = new RecordingLogger();
        await using var source = new FileResourceSource(new FileResourceOptions { Directory = _folder.Path }, _cache, logger: log);

        var status = await source.ReloadAsync();

        var error = Assert.Single(status.Errors);
        Assert.Equal(("bad.json", 4, 3), (error.File, error.Line, error.Column));
        Assert.StartsWith("bad.json:4:3: Cluster: ", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("bad.json:4:3: ", status.ToString(), StringComparison.Ordinal);
        var check = new HealthCheckContext
        {
            Registration = new HealthCheckRegistration("xds-files", new FileResourceHealthCheck(source), HealthStatus.Unhealthy, null),
        };
        var health = await new FileResourceHealthCheck(source).CheckHealthAsync(check);
        Assert.Contains("bad.json:4:3: ", health.Description, StringComparison.Ordinal);
        var logged = Assert.Single(log.Events, e => e.Id == 2109);
        Assert.Equal(LogLevel.Warning, logged.Level);
        Assert.Contains("'bad.json'", logged.Message, StringComparison.Ordinal);
        Assert.Contains("at line 4, column 3", logged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_error_across_files_names_the_resource_in_the_second_file()
    {
        _folder.WithHelloChain();
        _folder.Write("z-copy.yaml", "# a copy\n" + ResourceFolder.ClusterWithEndpointsYaml());
        await using var source = new FileResourceSource(new FileResourceOptions { Directory = _folder.Path }, _cache);

        var status = await source.ReloadAsync();

        var errors = status.Errors.OrderBy(e => e.Reason, StringComparer.Ordinal).ToList();
        Assert.Equal(2, errors.Count); // the cluster and its endpoints
        Assert.All(errors, e => Assert.Equal("z-copy.yaml", e.File));
        Assert.Equal((3, 5), (errors[0].Line, errors[0].Column)); // "- @type" of the cluster, after the comment
        Assert.Contains("'cluster.yml' (line 2)", errors[0].Reason, StringComparison.Ordinal);
    }

    private sealed class RecordingLogger : ILogger<FileResourceSource>
    {
        public List<(int Id, LogLevel Level, string Message)> Events { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Events)
            {
                Events.Add((eventId.Id, logLevel, formatter(state, exception)));
            }
        }
    }
}
