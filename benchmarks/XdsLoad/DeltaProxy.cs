using Envoy.Service.Discovery.V3;

namespace XdsLoad;

/// <summary>A delta (incremental) ADS proxy: keeps name → version per type, sends initial_resource_versions on
/// reconnect, applies removed_resources, and counts resources re-sent at a version it already held.</summary>
internal sealed class DeltaProxy(int index, ProxyFleet fleet) : SimulatedProxy(index, fleet)
{
    // Both are shared, immutable states (see DeltaHeld, ResourceCatalog.InternNames), replaced whole by this proxy's
    // stream and read by the check: a proxy owns references, not copies.
    private readonly DeltaHeld[] _held = [.. Enumerable.Range(0, XdsType.Count).Select(DeltaHeld.Empty)];
    private readonly string[][] _subscribed = [[], [], [], []];

    protected override async Task RunStreamAsync(AggregatedDiscoveryService.AggregatedDiscoveryServiceClient client, bool resume,
        Action connected, CancellationToken cancel)
    {
        using var call = client.DeltaAggregatedResources(cancellationToken: cancel);
        var first = true;
        async Task SendAsync(DeltaDiscoveryRequest request)
        {
            if (first)
            {
                // The node goes on the first request of a stream only; a shared request is copied for it.
                request = request.Node is null ? request.Clone() : request;
                request.Node = Node;
                first = false;
            }

            await call.RequestStream.WriteAsync(request, cancel).ConfigureAwait(false);
        }

        if (resume && Requested.Any(r => r))
        {
            // "initial_resource_versions: first request after a reconnect: what the client already has." The request
            // is built once per (held state, subscribed names) and written by every proxy that resumes the same.
            for (var t = 0; t < XdsType.Count; t++)
            {
                if (Requested[t])
                {
                    await SendAsync(Volatile.Read(ref _held[t]).ResumeRequest(Volatile.Read(ref _subscribed[t]))).ConfigureAwait(false);
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
        var updated = new List<(string Name, string Version)>();
        var removed = new List<string>();
        while (await call.ResponseStream.MoveNext(cancel).ConfigureAwait(false))
        {
            var response = call.ResponseStream.Current;
            long resourceBytes = 0;
            foreach (var resource in response.Resources)
            {
                resourceBytes += resource.Resource_?.Value.Length ?? 0;
            }

            Received(response.CalculateSize(), response.Resources.Count, resourceBytes);
            var t = XdsType.IndexOf(response.TypeUrl);
            var error = t < 0 ? $"unexpected type URL {response.TypeUrl}" : Check(t, response);
            if (error is not null)
            {
                Release(response);
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
            updated.Clear();
            removed.Clear();
            foreach (var resource in response.Resources)
            {
                if (probe is not null && probe.Type == t && probe.MatchesDelta(resource.Name, resource.Version, resource.Resource_))
                {
                    hit = probe;
                }

                var name = Fleet.Catalog.Intern(resource.Name);
                var version = Fleet.Catalog.Intern(resource.Version);
                if (held.TryGetVersion(name, out var had) && ReferenceEquals(had, version))
                {
                    // "Send a resource only when its version differs from what the client has": any resend of a
                    // held version is redundant (also right after a reconnect, which told the server what is held).
                    Fleet.Redundant();
                }

                updated.Add((name, version));
            }

            foreach (var name in response.RemovedResources)
            {
                removed.Add(Fleet.Catalog.Intern(name));
            }

            Release(response);
            var next = held.Apply(updated, removed);
            if (!ReferenceEquals(next, held) && ApplyChange())
            {
                Volatile.Write(ref _held[t], next);
            }

            Accept(t, response.SystemVersionInfo, Now(), hit);
            if (t == XdsType.Cluster)
            {
                await FollowAsync(XdsType.Cluster, XdsType.Endpoint, SendAsync).ConfigureAwait(false);
            }

            await SendAsync(new DeltaDiscoveryRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce }).ConfigureAwait(false);
            if ((t == XdsType.Endpoint || (t == XdsType.Cluster && _subscribed[XdsType.Endpoint].Length == 0)) && !Requested[XdsType.Listener])
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

    /// <summary>Drops a handled response's resources: the gRPC reader keeps the last message (<c>Current</c>) until the
    /// next one arrives, which for an EDS response is ~1 MB parsed per proxy kept through the rest of the sync.</summary>
    private static void Release(DeltaDiscoveryResponse response) => response.Resources.Clear();

    public override bool Subscribes(int type, string name) =>
        Array.BinarySearch(Volatile.Read(ref _subscribed[type]), name, StringComparer.Ordinal) >= 0;

    public override int SubscribedCount(int type) => Volatile.Read(ref _subscribed[type]).Length;

    public override IReadOnlyDictionary<string, string> HeldResources(int type) => Volatile.Read(ref _held[type]).Versions;

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
    /// from the ones no longer named (dropping what is held of them).</summary>
    private async Task FollowAsync(int parent, int child, Func<DeltaDiscoveryRequest, Task> send)
    {
        var wanted = _held[parent].Names(Fleet.Catalog);
        var subscribed = _subscribed[child];
        if (ReferenceEquals(wanted, subscribed))
        {
            return;
        }

        var request = new DeltaDiscoveryRequest { TypeUrl = XdsType.Urls[child] };
        request.ResourceNamesSubscribe.Add(wanted.Where(n => Array.BinarySearch(subscribed, n, StringComparer.Ordinal) < 0));
        request.ResourceNamesUnsubscribe.Add(subscribed.Where(n => Array.BinarySearch(wanted, n, StringComparer.Ordinal) < 0));
        if (request.ResourceNamesSubscribe.Count == 0 && request.ResourceNamesUnsubscribe.Count == 0)
        {
            return;
        }

        var held = _held[child];
        Volatile.Write(ref _held[child], held.Apply([], [.. request.ResourceNamesUnsubscribe.Where(held.Contains)]));
        Volatile.Write(ref _subscribed[child], wanted);
        Requested[child] = true;
        await send(request).ConfigureAwait(false);
    }
}
