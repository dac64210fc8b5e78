using Envoy.Service.Status.V3;
using Grpc.Core;
using XdsServer.Internal;

namespace XdsServer.Services;

/// <summary>
/// CSDS: for every connected node (filtered by the request's node matchers), each resource the server sent,
/// at which version, and whether the client ACKed it, NACKed it (with the error) or has not answered yet.
/// </summary>
internal sealed class ClientStatusServiceImpl(StreamRegistry registry) : ClientStatusDiscoveryService.ClientStatusDiscoveryServiceBase
{
    public override Task<ClientStatusResponse> FetchClientStatus(ClientStatusRequest request, ServerCallContext context) =>
        Task.FromResult(Build(request));

    public override async Task StreamClientStatus(IAsyncStreamReader<ClientStatusRequest> requestStream,
        IServerStreamWriter<ClientStatusResponse> responseStream, ServerCallContext context)
    {
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            await responseStream.WriteAsync(Build(requestStream.Current), context.CancellationToken).ConfigureAwait(false);
        }
    }

    private ClientStatusResponse Build(ClientStatusRequest request)
    {
        var response = new ClientStatusResponse();
        foreach (var stream in registry.Sources)
        {
            if (stream.GetClientConfig() is not { } config)
            {
                continue;
            }

            if (request.NodeMatchers.Count > 0 && !request.NodeMatchers.Any(m => NodeMatch.Matches(m, config.Node)))
            {
                continue;
            }

            response.Config.Add(config);
        }

        return response;
    }
}

/// <summary>Node matchers of CSDS requests: node id by string matcher (exact, prefix, suffix, contains, regex).</summary>
internal static class NodeMatch
{
    public static bool Matches(Envoy.Type.Matcher.V3.NodeMatcher matcher, Envoy.Config.Core.V3.Node node) =>
        matcher.NodeId is null || Matches(matcher.NodeId, node.Id);

    private static bool Matches(Envoy.Type.Matcher.V3.StringMatcher m, string value)
    {
        var comparison = m.IgnoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return m.MatchPatternCase switch
        {
            Envoy.Type.Matcher.V3.StringMatcher.MatchPatternOneofCase.Exact => string.Equals(value, m.Exact, comparison),
            Envoy.Type.Matcher.V3.StringMatcher.MatchPatternOneofCase.Prefix => value.StartsWith(m.Prefix, comparison),
            Envoy.Type.Matcher.V3.StringMatcher.MatchPatternOneofCase.Suffix => value.EndsWith(m.Suffix, comparison),
            Envoy.Type.Matcher.V3.StringMatcher.MatchPatternOneofCase.Contains => value.Contains(m.Contains, comparison),
            Envoy.Type.Matcher.V3.StringMatcher.MatchPatternOneofCase.SafeRegex =>
                System.Text.RegularExpressions.Regex.IsMatch(value, "^(?:" + m.SafeRegex.Regex + ")$",
                    System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromMilliseconds(100)),
            _ => true,
        };
    }
}
