using System.Reflection;
using System.Text;
using System.Text.Json;
using Envoy.Admin.V3;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using XdsServer.Cache;
using XdsServer.Internal;
using GenericXdsConfig = Envoy.Service.Status.V3.ClientConfig.Types.GenericXdsConfig;

namespace XdsServer.Operations;

/// <summary>
/// <c>/debug/config_dump?proxyID=</c>: what one proxy holds, as far as this server sent it, in the shape of Envoy's
/// admin <c>/config_dump</c> (<c>{"configs":[ClustersConfigDump, ListenersConfigDump, RoutesConfigDump,
/// EndpointsConfigDump, SecretsConfigDump, ...]}</c>, proto field names as Envoy prints them). It is built from the
/// same per-resource view as CSDS (<see cref="ClientStatusBuilder"/>): a resource's payload without the fields the
/// API marks sensitive, a sensitive type (secrets) by name, version and status only.
/// </summary>
internal static class ConfigDumpWriter
{
    private const string SecretsDumpType = "type.googleapis.com/envoy.admin.v3.SecretsConfigDump";

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default
        .WithTypeRegistry(EnvoyApiTypes.Registry)
        .WithPreserveProtoFieldNames(true));

    /// <summary>The dump of the streams of one node (oldest first: a newer stream's view of a resource wins).</summary>
    public static string Write(IEnumerable<Envoy.Service.Status.V3.ClientConfig> configs, ProxySync proxy, ResourceTypeRegistry types)
    {
        var resources = new Dictionary<(string Type, string Name), GenericXdsConfig>();
        foreach (var config in configs)
        {
            foreach (var entry in config.GenericXdsConfigs)
            {
                if (entry.Name.Length > 0) // a type-level entry (no name) is the type's state, not a resource
                {
                    resources[(entry.TypeUrl, entry.Name)] = Printable(entry);
                }
            }
        }

        var acked = proxy.Types.ToDictionary(t => t.TypeUrl, t => t.AckedVersion ?? string.Empty, StringComparer.Ordinal);
        string VersionOf(string typeUrl) => acked.GetValueOrDefault(typeUrl, string.Empty);
        IEnumerable<GenericXdsConfig> Of(string typeUrl) =>
            resources.Values.Where(r => r.TypeUrl == typeUrl && r.ConfigStatus != Envoy.Service.Status.V3.ConfigStatus.NotSent).OrderBy(r => r.Name, StringComparer.Ordinal);

        var clusters = new ClustersConfigDump { VersionInfo = VersionOf(TypeUrls.Cluster) };
        foreach (var r in Of(TypeUrls.Cluster))
        {
            clusters.DynamicActiveClusters.Add(new ClustersConfigDump.Types.DynamicCluster
            {
                VersionInfo = r.VersionInfo,
                Cluster = r.XdsConfig,
                LastUpdated = r.LastUpdated,
                ErrorState = r.ErrorState,
                ClientStatus = r.ClientStatus,
            });
        }

        var listeners = new ListenersConfigDump { VersionInfo = VersionOf(TypeUrls.Listener) };
        foreach (var r in Of(TypeUrls.Listener))
        {
            listeners.DynamicListeners.Add(new ListenersConfigDump.Types.DynamicListener
            {
                Name = r.Name,
                ActiveState = new ListenersConfigDump.Types.DynamicListenerState
                {
                    VersionInfo = r.VersionInfo,
                    Listener = r.XdsConfig,
                    LastUpdated = r.LastUpdated,
                },
                ErrorState = r.ErrorState,
                ClientStatus = r.ClientStatus,
            });
        }

        var routes = new RoutesConfigDump();
        foreach (var r in Of(TypeUrls.RouteConfiguration))
        {
            routes.DynamicRouteConfigs.Add(new RoutesConfigDump.Types.DynamicRouteConfig
            {
                VersionInfo = r.VersionInfo,
                RouteConfig = r.XdsConfig,
                LastUpdated = r.LastUpdated,
                ErrorState = r.ErrorState,
                ClientStatus = r.ClientStatus,
            });
        }

        var endpoints = new EndpointsConfigDump();
        foreach (var r in Of(TypeUrls.ClusterLoadAssignment))
        {
            endpoints.DynamicEndpointConfigs.Add(new EndpointsConfigDump.Types.DynamicEndpointConfig
            {
                VersionInfo = r.VersionInfo,
                EndpointConfig = r.XdsConfig,
                LastUpdated = r.LastUpdated,
                ErrorState = r.ErrorState,
                ClientStatus = r.ClientStatus,
            });
        }

        var configsJson = new List<string>
        {
            Formatter.Format(Any.Pack(clusters)),
        };

        if (Of(TypeUrls.ExtensionConfig).Any())
        {
            var ecds = new EcdsConfigDump();
            foreach (var r in Of(TypeUrls.ExtensionConfig))
            {
                ecds.EcdsFilters.Add(new EcdsConfigDump.Types.EcdsFilterConfig
                {
                    VersionInfo = r.VersionInfo,
                    EcdsFilter = r.XdsConfig,
                    LastUpdated = r.LastUpdated,
                    ErrorState = r.ErrorState,
                    ClientStatus = r.ClientStatus,
                });
            }

            configsJson.Add(Formatter.Format(Any.Pack(ecds)));
        }

        configsJson.Add(Formatter.Format(Any.Pack(listeners)));
        if (Of(TypeUrls.ScopedRouteConfiguration).Any())
        {
            var scoped = new ScopedRoutesConfigDump();
            foreach (var r in Of(TypeUrls.ScopedRouteConfiguration))
            {
                var dynamic = new ScopedRoutesConfigDump.Types.DynamicScopedRouteConfigs
                {
                    Name = r.Name,
                    VersionInfo = r.VersionInfo,
                    LastUpdated = r.LastUpdated,
                    ErrorState = r.ErrorState,
                    ClientStatus = r.ClientStatus,
                };
                if (r.XdsConfig is { } config)
                {
                    dynamic.ScopedRouteConfigs.Add(config);
                }

                scoped.DynamicScopedRouteConfigs.Add(dynamic);
            }

            configsJson.Add(Formatter.Format(Any.Pack(scoped)));
        }

        configsJson.Add(Formatter.Format(Any.Pack(routes)));
        configsJson.Add(Secrets(resources.Values.Where(r => types.TryGet(r.TypeUrl, out var t) && t.Sensitive
            && r.ConfigStatus != Envoy.Service.Status.V3.ConfigStatus.NotSent).OrderBy(r => r.Name, StringComparer.Ordinal)));
        configsJson.Add(Formatter.Format(Any.Pack(endpoints)));

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("configs");
            foreach (var config in configsJson)
            {
                json.WriteRawValue(config, skipInputValidation: false);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>The entry as it can be printed: a payload that holds an <c>Any</c> of a type this process does not know
    /// (a custom extension set in code) cannot be written as JSON, so that one resource is shown without its payload
    /// and with an error saying why, instead of failing the whole dump.</summary>
    private static GenericXdsConfig Printable(GenericXdsConfig entry)
    {
        if (entry.XdsConfig is null)
        {
            return entry;
        }

        try
        {
            _ = Formatter.Format(entry.XdsConfig);
            return entry;
        }
        catch (InvalidOperationException e)
        {
            var shown = entry.Clone();
            shown.XdsConfig = null;
            shown.ErrorState ??= new Envoy.Admin.V3.UpdateFailureState { Details = "not shown: " + e.Message };
            return shown;
        }
    }

    /// <summary>An enum value's name in the .proto file (<c>DOES_NOT_EXIST</c>), as proto3 JSON writes it.</summary>
    private static string ProtoName(ClientResourceStatus status) =>
        typeof(ClientResourceStatus).GetField(status.ToString())?.GetCustomAttribute<OriginalNameAttribute>()?.Name ?? "UNKNOWN";

    /// <summary>SecretsConfigDump by hand (its message is not compiled here): each secret by name, version and
    /// status; the secret itself holds its name only — its key material never leaves through this dump.</summary>
    private static string Secrets(IEnumerable<GenericXdsConfig> secrets)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("@type", SecretsDumpType);
            json.WriteStartArray("dynamic_active_secrets");
            foreach (var secret in secrets)
            {
                json.WriteStartObject();
                json.WriteString("name", secret.Name);
                json.WriteString("version_info", secret.VersionInfo);
                if (secret.LastUpdated is { } at)
                {
                    json.WriteString("last_updated", at.ToDateTimeOffset());
                }

                json.WriteStartObject("secret");
                json.WriteString("@type", secret.TypeUrl);
                json.WriteString("name", secret.Name);
                json.WriteEndObject();
                json.WriteString("client_status", ProtoName(secret.ClientStatus));
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
