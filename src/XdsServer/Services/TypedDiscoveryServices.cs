using Envoy.Service.Discovery.V3;
using Grpc.Core;
using XdsServer.Cache;
using XdsServer.Internal;

namespace XdsServer.Services;

/// <summary>The Listener discovery service: one type per stream, state of the world, delta and fetch.</summary>
internal sealed class ListenerDiscoveryServiceImpl(XdsServerCore core) : Envoy.Service.Listener.V3.ListenerDiscoveryService.ListenerDiscoveryServiceBase
{
    public override Task StreamListeners(IAsyncStreamReader<DiscoveryRequest> requestStream,
        IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        new SotwStream(core, TypeUrls.Listener, context).RunAsync(requestStream, responseStream);

    public override Task DeltaListeners(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream,
        IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        new DeltaStream(core, TypeUrls.Listener, context).RunAsync(requestStream, responseStream);

    public override Task<DiscoveryResponse> FetchListeners(DiscoveryRequest request, ServerCallContext context) =>
        Fetcher.FetchAsync(core, TypeUrls.Listener, request, context);
}

/// <summary>The Route discovery service: one type per stream, state of the world, delta and fetch.</summary>
internal sealed class RouteDiscoveryServiceImpl(XdsServerCore core) : Envoy.Service.Route.V3.RouteDiscoveryService.RouteDiscoveryServiceBase
{
    public override Task StreamRoutes(IAsyncStreamReader<DiscoveryRequest> requestStream,
        IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        new SotwStream(core, TypeUrls.RouteConfiguration, context).RunAsync(requestStream, responseStream);

    public override Task DeltaRoutes(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream,
        IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        new DeltaStream(core, TypeUrls.RouteConfiguration, context).RunAsync(requestStream, responseStream);

    public override Task<DiscoveryResponse> FetchRoutes(DiscoveryRequest request, ServerCallContext context) =>
        Fetcher.FetchAsync(core, TypeUrls.RouteConfiguration, request, context);
}

/// <summary>The ScopedRoutes discovery service: one type per stream, state of the world, delta and fetch.</summary>
internal sealed class ScopedRoutesDiscoveryServiceImpl(XdsServerCore core) : Envoy.Service.Route.V3.ScopedRoutesDiscoveryService.ScopedRoutesDiscoveryServiceBase
{
    public override Task StreamScopedRoutes(IAsyncStreamReader<DiscoveryRequest> requestStream,
        IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        new SotwStream(core, TypeUrls.ScopedRouteConfiguration, context).RunAsync(requestStream, responseStream);

    public override Task DeltaScopedRoutes(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream,
        IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        new DeltaStream(core, TypeUrls.ScopedRouteConfiguration, context).RunAsync(requestStream, responseStream);

    public override Task<DiscoveryResponse> FetchScopedRoutes(DiscoveryRequest request, ServerCallContext context) =>
        Fetcher.FetchAsync(core, TypeUrls.ScopedRouteConfiguration, request, context);
}

/// <summary>The Cluster discovery service: one type per stream, state of the world, delta and fetch.</summary>
internal sealed class ClusterDiscoveryServiceImpl(XdsServerCore core) : Envoy.Service.Cluster.V3.ClusterDiscoveryService.ClusterDiscoveryServiceBase
{
    public override Task StreamClusters(IAsyncStreamReader<DiscoveryRequest> requestStream,
        IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        new SotwStream(core, TypeUrls.Cluster, context).RunAsync(requestStream, responseStream);

    public override Task DeltaClusters(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream,
        IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        new DeltaStream(core, TypeUrls.Cluster, context).RunAsync(requestStream, responseStream);

    public override Task<DiscoveryResponse> FetchClusters(DiscoveryRequest request, ServerCallContext context) =>
        Fetcher.FetchAsync(core, TypeUrls.Cluster, request, context);
}

/// <summary>The Endpoint discovery service: one type per stream, state of the world, delta and fetch.</summary>
internal sealed class EndpointDiscoveryServiceImpl(XdsServerCore core) : Envoy.Service.Endpoint.V3.EndpointDiscoveryService.EndpointDiscoveryServiceBase
{
    public override Task StreamEndpoints(IAsyncStreamReader<DiscoveryRequest> requestStream,
        IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        new SotwStream(core, TypeUrls.ClusterLoadAssignment, context).RunAsync(requestStream, responseStream);

    public override Task DeltaEndpoints(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream,
        IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        new DeltaStream(core, TypeUrls.ClusterLoadAssignment, context).RunAsync(requestStream, responseStream);

    public override Task<DiscoveryResponse> FetchEndpoints(DiscoveryRequest request, ServerCallContext context) =>
        Fetcher.FetchAsync(core, TypeUrls.ClusterLoadAssignment, request, context);
}

/// <summary>The Secret discovery service: one type per stream, state of the world, delta and fetch.</summary>
internal sealed class SecretDiscoveryServiceImpl(XdsServerCore core) : Envoy.Service.Secret.V3.SecretDiscoveryService.SecretDiscoveryServiceBase
{
    public override Task StreamSecrets(IAsyncStreamReader<DiscoveryRequest> requestStream,
        IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        new SotwStream(core, TypeUrls.Secret, context).RunAsync(requestStream, responseStream);

    public override Task DeltaSecrets(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream,
        IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        new DeltaStream(core, TypeUrls.Secret, context).RunAsync(requestStream, responseStream);

    public override Task<DiscoveryResponse> FetchSecrets(DiscoveryRequest request, ServerCallContext context) =>
        Fetcher.FetchAsync(core, TypeUrls.Secret, request, context);
}

/// <summary>The Runtime discovery service: one type per stream, state of the world, delta and fetch.</summary>
internal sealed class RuntimeDiscoveryServiceImpl(XdsServerCore core) : Envoy.Service.Runtime.V3.RuntimeDiscoveryService.RuntimeDiscoveryServiceBase
{
    public override Task StreamRuntime(IAsyncStreamReader<DiscoveryRequest> requestStream,
        IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        new SotwStream(core, TypeUrls.Runtime, context).RunAsync(requestStream, responseStream);

    public override Task DeltaRuntime(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream,
        IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        new DeltaStream(core, TypeUrls.Runtime, context).RunAsync(requestStream, responseStream);

    public override Task<DiscoveryResponse> FetchRuntime(DiscoveryRequest request, ServerCallContext context) =>
        Fetcher.FetchAsync(core, TypeUrls.Runtime, request, context);
}

/// <summary>The ExtensionConfig discovery service: one type per stream, state of the world, delta and fetch.</summary>
internal sealed class ExtensionConfigDiscoveryServiceImpl(XdsServerCore core) : Envoy.Service.Extension.V3.ExtensionConfigDiscoveryService.ExtensionConfigDiscoveryServiceBase
{
    public override Task StreamExtensionConfigs(IAsyncStreamReader<DiscoveryRequest> requestStream,
        IServerStreamWriter<DiscoveryResponse> responseStream, ServerCallContext context) =>
        new SotwStream(core, TypeUrls.ExtensionConfig, context).RunAsync(requestStream, responseStream);

    public override Task DeltaExtensionConfigs(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream,
        IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        new DeltaStream(core, TypeUrls.ExtensionConfig, context).RunAsync(requestStream, responseStream);

    public override Task<DiscoveryResponse> FetchExtensionConfigs(DiscoveryRequest request, ServerCallContext context) =>
        Fetcher.FetchAsync(core, TypeUrls.ExtensionConfig, request, context);
}

/// <summary>The virtual host discovery service (VHDS): delta only.</summary>
internal sealed class VirtualHostDiscoveryServiceImpl(XdsServerCore core) : Envoy.Service.Route.V3.VirtualHostDiscoveryService.VirtualHostDiscoveryServiceBase
{
    public override Task DeltaVirtualHosts(IAsyncStreamReader<DeltaDiscoveryRequest> requestStream,
        IServerStreamWriter<DeltaDiscoveryResponse> responseStream, ServerCallContext context) =>
        new DeltaStream(core, TypeUrls.VirtualHost, context).RunAsync(requestStream, responseStream);
}
