using Envoy.Admin.V3;
using Envoy.Config.Core.V3;
using Envoy.Service.Status.V3;
using Google.Protobuf.WellKnownTypes;
using GenericXdsConfig = Envoy.Service.Status.V3.ClientConfig.Types.GenericXdsConfig;

namespace XdsServer.Internal;

/// <summary>Turns a stream's per-type state into CSDS <c>GenericXdsConfig</c> entries, one per resource. A sensitive
/// type's entries carry name, version and status only: its payload (a private key) never leaves through CSDS; other
/// resources are shown without the fields the API marks sensitive (an inline key in a Listener's TLS context).</summary>
internal static class ClientStatusBuilder
{
    public static ClientConfig Build(Node node, IReadOnlyList<TypeSlot> slots)
    {
        var config = new ClientConfig { Node = node };
        foreach (var slot in slots)
        {
            var sensitive = slot.Type.Sensitive;
            var lastSent = slot.LastSent?.Resources.ToDictionary(r => r.Name, r => r.Version, StringComparer.Ordinal)
                ?? new Dictionary<string, string>(StringComparer.Ordinal);
            var nacked = slot.LastNack is { } nack && nack.Nonce == slot.LastSentNonce ? nack : null;
            var held = new HashSet<string>(StringComparer.Ordinal);
            foreach (var resource in slot.State.HeldResources())
            {
                held.Add(resource.Name);
                var entry = new GenericXdsConfig
                {
                    TypeUrl = slot.Type.TypeUrl,
                    Name = resource.Name,
                    VersionInfo = resource.Version,
                    XdsConfig = sensitive || resource.Resource is null ? null : SensitiveFields.Redact(resource.Resource),
                    LastUpdated = slot.LastSentAt is { } at ? Timestamp.FromDateTimeOffset(at) : null,
                    ClientStatus = ClientResourceStatus.Acked,
                    ConfigStatus = ConfigStatus.Synced,
                };
                var inLastResponse = lastSent.TryGetValue(resource.Name, out var v) && v == resource.Version;
                if (inLastResponse && nacked is not null)
                {
                    entry.ClientStatus = ClientResourceStatus.Nacked;
                    entry.ConfigStatus = ConfigStatus.Error;
                    entry.ErrorState = new UpdateFailureState
                    {
                        Details = nacked.Message,
                        VersionInfo = nacked.RejectedVersion,
                        LastUpdateAttempt = Timestamp.FromDateTimeOffset(nacked.At),
                        FailedConfiguration = sensitive || resource.Resource is null ? null : SensitiveFields.Redact(resource.Resource),
                    };
                }
                else if (inLastResponse && slot.AwaitingAck)
                {
                    entry.ClientStatus = ClientResourceStatus.Requested;
                    entry.ConfigStatus = ConfigStatus.Stale;
                }

                config.GenericXdsConfigs.Add(entry);
            }

            // Named but not held: requested, and as far as this server knows, it does not exist.
            foreach (var name in slot.State.Subscription.Names.Order(StringComparer.Ordinal))
            {
                if (!held.Contains(name))
                {
                    config.GenericXdsConfigs.Add(new GenericXdsConfig
                    {
                        TypeUrl = slot.Type.TypeUrl,
                        Name = name,
                        ClientStatus = slot.ResponsesSent > 0 ? ClientResourceStatus.DoesNotExist : ClientResourceStatus.Requested,
                        ConfigStatus = ConfigStatus.NotSent,
                    });
                }
            }
        }

        return config;
    }
}
