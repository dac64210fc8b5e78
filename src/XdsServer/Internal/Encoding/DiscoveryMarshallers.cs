using Google.Protobuf;
using Grpc.Core;

namespace XdsServer.Internal.Encoding;

/// <summary>
/// gRPC marshallers for the discovery services: requests are parsed exactly as the generated code parses them (a
/// large delta request keeps its subscribed names and held versions aside, <see cref="DeltaRequestReader"/>); stream
/// responses are <see cref="OutgoingResponse"/>s written through the contextual serializer straight into gRPC's
/// buffer (the size is set first, so nothing is copied twice).
/// </summary>
internal static class DiscoveryMarshallers
{
    /// <summary>The marshaller of streamed responses. The server never reads a response, so it cannot parse one.</summary>
    public static readonly Marshaller<OutgoingResponse> Outgoing = new(
        static (response, context) =>
        {
            context.SetPayloadLength(response.Size);
            response.WriteTo(context.GetBufferWriter());
            context.Complete();
        },
        static _ => throw new NotSupportedException("The server writes discovery responses; it never reads one."));

    /// <summary>The marshaller of delta stream requests. The server never writes a request.</summary>
    public static readonly Marshaller<DeltaRequest> DeltaRequests = new(
        static (_, _) => throw new NotSupportedException("The server reads delta requests; it never writes one."),
        static context => DeltaRequestReader.Read(context.PayloadAsReadOnlySequence()));

    /// <summary>A protobuf message marshaller, as the generated service code builds it.</summary>
    public static Marshaller<T> For<T>(MessageParser<T> parser)
        where T : class, IMessage<T>, IBufferMessage => new(
        static (message, context) =>
        {
            context.SetPayloadLength(message.CalculateSize());
            message.WriteTo(context.GetBufferWriter());
            context.Complete();
        },
        context => parser.ParseFrom(context.PayloadAsReadOnlySequence()));
}
