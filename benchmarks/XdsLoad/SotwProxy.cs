using Envoy.Service.Discovery.V3;

namespace XdsLoad;

/// <summary>A state-of-the-world ADS proxy.</summary>
internal sealed class SotwProxy(int index, ProxyFleet fleet) : SimulatedProxy(index, fleet)
{
    private readonly string[][] _names = [[], [], [], []];
    private readonly string?[] _nonces = new string?[XdsType.Count];
    private readonly HeldSet?[] _held = new HeldSet?[XdsType.Count];

    protected override async Task RunStreamAsync(AggregatedDiscoveryService.AggregatedDiscoveryServiceClient client, bool resume,
        Action connected, CancellationToken cancel)
    {
        using var call = client.StreamAggregatedResources(cancellationToken: cancel);
        var first = true;
        async Task SendAsync(DiscoveryRequest request)
        {
            if (first)
            {
                // The node goes on the first request of a stream only.
                request.Node = Node;
                first = false;
            }

            await call.RequestStream.WriteAsync(request, cancel).ConfigureAwait(false);
        }

        Array.Clear(_nonces);
        if (resume && Requested.Any(r => r))
        {
            // A new stream: ask again for everything, with the versions held (no nonce: nothing was sent on this stream).
            for (var t = 0; t < XdsType.Count; t++)
            {
                if (Requested[t])
                {
                    await SendAsync(Request(t, AckedVersion(t) ?? string.Empty, null)).ConfigureAwait(false);
                }
            }
        }
        else
        {
            Requested[XdsType.Cluster] = true;
            await SendAsync(Request(XdsType.Cluster, string.Empty, null)).ConfigureAwait(false);
        }

        connected();
        while (await call.ResponseStream.MoveNext(cancel).ConfigureAwait(false))
        {
            var response = call.ResponseStream.Current;
            long resourceBytes = 0;
            foreach (var resource in response.Resources)
            {
                resourceBytes += resource.Value.Length;
            }

            Received(response.CalculateSize(), response.Resources.Count, resourceBytes);
            var t = XdsType.IndexOf(response.TypeUrl);
            if (t < 0)
            {
                response.Resources.Clear();
                Fleet.ClientNack($"unexpected type URL {response.TypeUrl}");
                await SendAsync(new DiscoveryRequest
                {
                    TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce, ErrorDetail = Rejection($"not subscribed to {response.TypeUrl}"),
                }).ConfigureAwait(false);
                continue;
            }

            Derived? derived = null;
            string? error;
            if (t is XdsType.Cluster or XdsType.Listener)
            {
                derived = Fleet.Catalog.FromSotw(t, response.VersionInfo, response.Resources);
                error = derived.Error;
            }
            else
            {
                error = ResourceCatalog.CheckTypes(t, response.Resources);
            }

            if (error is not null)
            {
                // The reader keeps the last message until the next one (see DeltaProxy.Release): drop the resources.
                response.Resources.Clear();

                // NACK: the rejected nonce, the previous good version, and why.
                Fleet.ClientNack(error);
                var nack = Request(t, AckedVersion(t) ?? string.Empty, response.Nonce);
                nack.ErrorDetail = Rejection(error);
                _nonces[t] = response.Nonce;
                await SendAsync(nack).ConfigureAwait(false);
                continue;
            }

            var probe = Fleet.Probe;
            var hit = probe is not null && probe.Type == t && probe.MatchesSotw(response.VersionInfo, response.Resources) ? probe : null;
            var held = Fleet.Catalog.SotwHeld(Volatile.Read(ref _held[t]), t, response.VersionInfo, response.Resources);
            response.Resources.Clear();
            if (!ReferenceEquals(held, _held[t]) && ApplyChange())
            {
                Volatile.Write(ref _held[t], held);
            }

            Accept(t, response.VersionInfo, Now(), hit);
            _nonces[t] = response.Nonce;
            if (t == XdsType.Cluster && !SameNames(_names[XdsType.Endpoint], derived!.Names))
            {
                // Clusters name their endpoints: subscribe before ACKing the clusters (as Envoy warms clusters).
                _names[XdsType.Endpoint] = derived.Names;
                Requested[XdsType.Endpoint] = true;
                await SendAsync(Request(XdsType.Endpoint, AckedVersion(XdsType.Endpoint) ?? string.Empty, _nonces[XdsType.Endpoint])).ConfigureAwait(false);
            }

            await SendAsync(Request(t, response.VersionInfo, response.Nonce)).ConfigureAwait(false);
            if ((t == XdsType.Endpoint || (t == XdsType.Cluster && _names[XdsType.Endpoint].Length == 0)) && !Requested[XdsType.Listener])
            {
                // Listeners after the clusters have warmed.
                Requested[XdsType.Listener] = true;
                await SendAsync(Request(XdsType.Listener, string.Empty, null)).ConfigureAwait(false);
            }

            if (t == XdsType.Listener && !SameNames(_names[XdsType.Route], derived!.Names))
            {
                _names[XdsType.Route] = derived.Names;
                Requested[XdsType.Route] = true;
                await SendAsync(Request(XdsType.Route, AckedVersion(XdsType.Route) ?? string.Empty, _nonces[XdsType.Route])).ConfigureAwait(false);
            }

            await StallIfAskedAsync(cancel).ConfigureAwait(false);
        }
    }

    public override bool Subscribes(int type, string name) =>
        Array.BinarySearch(Volatile.Read(ref _names[type]), name, StringComparer.Ordinal) >= 0;

    public override int SubscribedCount(int type) => Volatile.Read(ref _names[type]).Length;

    public override IReadOnlyDictionary<string, string> HeldResources(int type) =>
        Volatile.Read(ref _held[type])?.Digests ?? new Dictionary<string, string>();

    public override bool HeldAsDigests => true;

    private DiscoveryRequest Request(int type, string version, string? nonce)
    {
        var request = new DiscoveryRequest { TypeUrl = XdsType.Urls[type], VersionInfo = version, ResponseNonce = nonce ?? string.Empty };
        request.ResourceNames.Add(_names[type]);
        return request;
    }
}
