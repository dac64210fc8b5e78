using Envoy.Service.Discovery.V3;
using Google.Protobuf.Reflection;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Routing;
using XdsServer.Cache;
using XdsServer.Internal;
using XdsServer.Internal.Encoding;

namespace XdsServer.Services;

/// <summary>
/// ADS and the per-type discovery services (state of the world, delta and fetch), one gRPC service object for all of
/// them. The streams write <see cref="OutgoingResponse"/> (pre-encoded bytes plus a nonce) with their own marshaller,
/// which the generated <c>*Base</c> classes cannot express (their methods fix the response type to the message).
/// Grpc.AspNetCore's attribute binder would need a hand-written base class per service (it finds each handler by name
/// as a virtual method of the bind method's service type), so <see cref="DiscoveryServiceMethods"/> adds the methods
/// with their handlers directly. On the wire nothing changes: same service and method names, same messages.
/// </summary>
internal sealed class DiscoveryService(XdsServerCore core)
{
    public XdsServerCore Core { get; } = core;
}

/// <summary>Adds every method of the discovery services to <see cref="DiscoveryService"/>, from the services'
/// descriptors (so names and shapes come from the protos).</summary>
internal sealed class DiscoveryServiceMethods : IServiceMethodProvider<DiscoveryService>
{
    /// <summary>Each service with the type its per-type streams serve (null: ADS, any type).</summary>
    private static readonly (ServiceDescriptor Service, string? TypeUrl)[] Services =
    [
        (AggregatedDiscoveryService.Descriptor, null),
        (Envoy.Service.Listener.V3.ListenerDiscoveryService.Descriptor, TypeUrls.Listener),
        (Envoy.Service.Route.V3.RouteDiscoveryService.Descriptor, TypeUrls.RouteConfiguration),
        (Envoy.Service.Route.V3.ScopedRoutesDiscoveryService.Descriptor, TypeUrls.ScopedRouteConfiguration),
        (Envoy.Service.Route.V3.VirtualHostDiscoveryService.Descriptor, TypeUrls.VirtualHost),
        (Envoy.Service.Cluster.V3.ClusterDiscoveryService.Descriptor, TypeUrls.Cluster),
        (Envoy.Service.Endpoint.V3.EndpointDiscoveryService.Descriptor, TypeUrls.ClusterLoadAssignment),
        (Envoy.Service.Secret.V3.SecretDiscoveryService.Descriptor, TypeUrls.Secret),
        (Envoy.Service.Runtime.V3.RuntimeDiscoveryService.Descriptor, TypeUrls.Runtime),
        (Envoy.Service.Extension.V3.ExtensionConfigDiscoveryService.Descriptor, TypeUrls.ExtensionConfig),
    ];

    private static readonly Marshaller<DiscoveryRequest> SotwRequests = DiscoveryMarshallers.For(DiscoveryRequest.Parser);
    private static readonly Marshaller<DiscoveryResponse> FetchResponses = DiscoveryMarshallers.For(DiscoveryResponse.Parser);

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<DiscoveryService> context)
    {
        foreach (var (service, typeUrl) in Services)
        {
            foreach (var method in service.Methods)
            {
                Add(context, service.FullName, method, typeUrl);
            }
        }
    }

    private static void Add(ServiceMethodProviderContext<DiscoveryService> context, string service, MethodDescriptor method, string? typeUrl)
    {
        var streaming = method.IsClientStreaming && method.IsServerStreaming;
        if (streaming && method.InputType == DiscoveryRequest.Descriptor)
        {
            context.AddDuplexStreamingMethod(
                new Method<DiscoveryRequest, OutgoingResponse>(MethodType.DuplexStreaming, service, method.Name, SotwRequests, DiscoveryMarshallers.Outgoing),
                Metadata(),
                (s, requests, responses, call) => new SotwStream(s.Core, typeUrl, call).RunAsync(requests, responses));
        }
        else if (streaming && method.InputType == DeltaDiscoveryRequest.Descriptor)
        {
            context.AddDuplexStreamingMethod(
                new Method<DeltaRequest, OutgoingResponse>(MethodType.DuplexStreaming, service, method.Name, DiscoveryMarshallers.DeltaRequests, DiscoveryMarshallers.Outgoing),
                Metadata(),
                (s, requests, responses, call) => new DeltaStream(s.Core, typeUrl, call).RunAsync(requests, responses));
        }
        else if (!method.IsClientStreaming && !method.IsServerStreaming && typeUrl is not null
            && method.InputType == DiscoveryRequest.Descriptor && method.OutputType == DiscoveryResponse.Descriptor)
        {
            context.AddUnaryMethod(
                new Method<DiscoveryRequest, DiscoveryResponse>(MethodType.Unary, service, method.Name, SotwRequests, FetchResponses),
                Metadata(),
                (s, request, call) => Fetcher.FetchAsync(s.Core, typeUrl, request, call));
        }
        else
        {
            // A method the vendored protos gained: bind it deliberately rather than leave it unserved unnoticed.
            throw new InvalidOperationException($"{service}/{method.Name} has a shape the xDS server does not serve.");
        }
    }

    /// <summary>What Grpc.AspNetCore's own binder attaches to a method: gRPC is POST (CORS preflight accepted).</summary>
    private static List<object> Metadata() => [new HttpMethodMetadata(["POST"], acceptCorsPreflight: true)];
}
