using Envoy.Service.Discovery.V3;

namespace XdsLoad;

/// <summary>A delta (incremental) ADS proxy: keeps name → version per type, sends initial_resource_versions on
/// reconnect, applies removed_resources, and counts resources re-sent at a version it already held.</summary>
internal sealed class DeltaProxy(int index, ProxyFleet fleet) : SimulatedProxy(index, fleet)
{
    private readonly Dictionary<string, string>[] _held = [new(StringComparer.Ordinal), new(StringComparer.Ordinal), new(StringComparer.Ordinal), new(StringComparer.Ordinal)];
    private readonly SortedSet<string>[] _subscribed = [new(StringComparer.Ordinal), new(StringComparer.Ordinal), new(StringComparer.Ordinal), new(StringComparer.Ordinal)];

    protected override async Task RunStreamAsync(AggregatedDiscoveryService.AggregatedDiscoveryServiceClient client, bool resume,
        Action connected, CancellationToken cancel)
    {
        using var call = client.DeltaAggregatedResources(cancellationToken: cancel);
        var first = true;
        async Task SendAsync(DeltaDiscoveryRequest request)
        {
            if (first)
            {
                request.Node = Node;
                first = false;
            }

            await call.RequestStream.WriteAsync(request, cancel).ConfigureAwait(false);
        }

        if (resume && Requested.Any(r => r))
        {
            // "initial_resource_versions: first request after a reconnect: what the client already has."
            for (var t = 0; t < XdsType.Count; t++)
            {
                if (Requested[t])
                {
                    var request = new DeltaDiscoveryRequest { TypeUrl = XdsType.Urls[t] };
                    request.ResourceNamesSubscribe.Add(_subscribed[t]);
                    request.InitialResourceVersions.Add(_held[t]);
                    await SendAsync(request).ConfigureAwait(false);
                }
            }
        }
        else
        {
            // Wildcard: an empty first subscription for Cluster.
            Requested[XdsType.Cluster] = true;
            await SendAsync(new DeltaDiscoveryRequest { TypeUrl = XdsType.Urls[XdsType.Cluster] }).ConfigureAwait(false);
        }

        connected();
        while (await call.ResponseStream.MoveNext(cancel).ConfigureAwait(false))
        {
            var response = call.ResponseStream.Current;
            Received(response.CalculateSize());
            var t = XdsType.IndexOf(response.TypeUrl);
            var error = t < 0 ? $"unexpected type URL {response.TypeUrl}" : Check(t, response);
            if (error is not null)
            {
                Fleet.ClientNack(error);
                await SendAsync(new DeltaDiscoveryRequest
                {
                    TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce, ErrorDetail = Rejection(error),
                }).ConfigureAwait(false);
                continue;
            }

            var held = _held[t];
            var probe = Fleet.Probe;
            ChangeProbe? hit = null;
            var changes = false;
            foreach (var resource in response.Resources)
            {
                if (probe is not null && probe.Type == t && probe.MatchesDelta(resource.Name, resource.Version, resource.Resource_))
                {
                    hit = probe;
                }

                var name = Fleet.Catalog.Intern(resource.Name);
                var version = Fleet.Catalog.Intern(resource.Version);
                if (held.TryGetValue(name, out var had) && ReferenceEquals(had, version))
                {
                    // "Send a resource only when its version differs from what the client has": any resend of a
                    // held version is redundant (also right after a reconnect, which told the server what is held).
                    Fleet.Redundant();
                }
                else
                {
                    changes = true;
                }
            }

            changes |= response.RemovedResources.Any(held.ContainsKey);
            if (!changes || ApplyChange())
            {
                lock (held)
                {
                    foreach (var resource in response.Resources)
                    {
                        held[Fleet.Catalog.Intern(resource.Name)] = Fleet.Catalog.Intern(resource.Version);
                    }

                    foreach (var removed in response.RemovedResources)
                    {
                        held.Remove(removed);
                    }
                }
            }

            Accept(t, response.SystemVersionInfo, Now(), hit);
            if (t == XdsType.Cluster)
            {
                await FollowAsync(XdsType.Cluster, XdsType.Endpoint, SendAsync).ConfigureAwait(false);
            }

            await SendAsync(new DeltaDiscoveryRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce }).ConfigureAwait(false);
            if ((t == XdsType.Endpoint || (t == XdsType.Cluster && _subscribed[XdsType.Endpoint].Count == 0)) && !Requested[XdsType.Listener])
            {
                Requested[XdsType.Listener] = true;
                await SendAsync(new DeltaDiscoveryRequest { TypeUrl = XdsType.Urls[XdsType.Listener] }).ConfigureAwait(false);
            }

            if (t == XdsType.Listener)
            {
                await FollowAsync(XdsType.Listener, XdsType.Route, SendAsync).ConfigureAwait(false);
            }

            await StallIfAskedAsync(cancel).ConfigureAwait(false);
        }
    }

    // The sets are replaced whole (FollowAsync), never changed once published.
    public override bool Subscribes(int type, string name) => Volatile.Read(ref _subscribed[type]).Contains(name);

    public override int SubscribedCount(int type) => Volatile.Read(ref _subscribed[type]).Count;

    public override IReadOnlyDictionary<string, string> HeldResources(int type)
    {
        var held = _held[type];
        lock (held)
        {
            return new Dictionary<string, string>(held, StringComparer.Ordinal);
        }
    }

    public override bool HeldAsDigests => false;

    /// <summary>Validates a response without parsing EDS/RDS bodies; CDS/LDS bodies go through the shared cache.</summary>
    private string? Check(int type, DeltaDiscoveryResponse response)
    {
        foreach (var resource in response.Resources)
        {
            if (resource.Resource_ is null)
            {
                return $"resource '{resource.Name}' has no body";
            }

            var error = type is XdsType.Cluster or XdsType.Listener
                ? Fleet.Catalog.FromDelta(type, resource.Name, resource.Version, resource.Resource_).Error
                : ResourceCatalog.CheckTypes(type, [resource.Resource_]);
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    /// <summary>Subscribes to the names the held <paramref name="parent"/> resources lead to, and unsubscribes
    /// from the ones no longer named.</summary>
    private async Task FollowAsync(int parent, int child, Func<DeltaDiscoveryRequest, Task> send)
    {
        var wanted = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (name, version) in _held[parent])
        {
            wanted.UnionWith(Fleet.Catalog.FromDelta(parent, name, version, null!).Names);
        }

        var subscribed = _subscribed[child];
        var request = new DeltaDiscoveryRequest { TypeUrl = XdsType.Urls[child] };
        request.ResourceNamesSubscribe.Add(wanted.Where(n => !subscribed.Contains(n)));
        request.ResourceNamesUnsubscribe.Add(subscribed.Where(n => !wanted.Contains(n)));
        if (request.ResourceNamesSubscribe.Count == 0 && request.ResourceNamesUnsubscribe.Count == 0)
        {
            return;
        }

        lock (_held[child])
        {
            foreach (var name in request.ResourceNamesUnsubscribe)
            {
                _held[child].Remove(name);
            }
        }

        Volatile.Write(ref _subscribed[child], wanted);
        Requested[child] = true;
        await send(request).ConfigureAwait(false);
    }
}
