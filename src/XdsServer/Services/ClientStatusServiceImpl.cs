using System.Text.RegularExpressions;
using Envoy.Service.Status.V3;
using Envoy.Type.Matcher.V3;
using Grpc.Core;
using XdsServer.Internal;

namespace XdsServer.Services;

/// <summary>
/// CSDS: one <c>ClientConfig</c> per open stream whose node is known (filtered by the request's node matchers), oldest
/// stream first; in it, per type, a type-level entry (empty name: the state of the last response sent) and each
/// resource the server sent, at which version, and whether the client ACKed it, NACKed it (with the error) or has not
/// answered yet (<see cref="ClientStatusBuilder"/>).
/// Guarded by <see cref="ClientStatusOptions.Authorize"/>; sensitive payloads are never included; the answer's size
/// and the cost of the caller's matchers are bounded.
/// </summary>
internal sealed class ClientStatusServiceImpl(StreamRegistry registry, ClientStatusOptions options, XdsServerCore core)
    : ClientStatusDiscoveryService.ClientStatusDiscoveryServiceBase
{
    public override async Task<ClientStatusResponse> FetchClientStatus(ClientStatusRequest request, ServerCallContext context)
    {
        await AuthorizeAsync(context).ConfigureAwait(false);
        return Build(request);
    }

    public override async Task StreamClientStatus(IAsyncStreamReader<ClientStatusRequest> requestStream,
        IServerStreamWriter<ClientStatusResponse> responseStream, ServerCallContext context)
    {
        await AuthorizeAsync(context).ConfigureAwait(false);
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            await responseStream.WriteAsync(Build(requestStream.Current), context.CancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask AuthorizeAsync(ServerCallContext context)
    {
        var http = context.GetHttpContext();
        if (await options.Authorize(http, context.CancellationToken).ConfigureAwait(false) is { } refusal)
        {
            XdsLog.ClientStatusRefused(core.Logger, ClientText.ForLog(context.Peer), ClientText.ForLog(refusal, 1024));
            throw XdsServerCore.Fail(StatusCode.PermissionDenied, refusal);
        }
    }

    private ClientStatusResponse Build(ClientStatusRequest request)
    {
        var matchers = NodeMatch.Compile(request.NodeMatchers, options);
        var response = new ClientStatusResponse();
        var size = 0;
        foreach (var stream in registry.SourcesOldestFirst) // a node's newest stream last (docs/operations.md, CSDS)
        {
            // Match on the node first: a config is built only for the streams asked for.
            if (stream.CurrentNode is not { } node || (matchers.Count > 0 && !matchers.Any(m => m(node))))
            {
                continue;
            }

            if (stream.GetClientConfig() is not { } config)
            {
                continue;
            }

            size += config.CalculateSize() + 8;
            if (size > options.MaxResponseBytes)
            {
                throw XdsServerCore.Fail(StatusCode.ResourceExhausted,
                    $"the CSDS answer would exceed {options.MaxResponseBytes} bytes (ClientStatusOptions.MaxResponseBytes); narrow it with node_matchers");
            }

            response.Config.Add(config);
        }

        return response;
    }
}

/// <summary>Node matchers of CSDS requests: node id by string matcher (exact, prefix, suffix, contains, regex),
/// checked and compiled once per request.</summary>
internal static class NodeMatch
{
    public static IReadOnlyList<Func<Envoy.Config.Core.V3.Node, bool>> Compile(IReadOnlyList<NodeMatcher> matchers, ClientStatusOptions options)
    {
        if (matchers.Count > options.MaxNodeMatchers)
        {
            throw XdsServerCore.Fail(StatusCode.InvalidArgument,
                $"the request has {matchers.Count} node matchers; the limit is {options.MaxNodeMatchers}");
        }

        var compiled = new List<Func<Envoy.Config.Core.V3.Node, bool>>(matchers.Count);
        foreach (var matcher in matchers)
        {
            if (matcher.NodeId is not { } id)
            {
                compiled.Add(static _ => true);
                continue;
            }

            var test = Compile(id, options);
            compiled.Add(node => test(node.Id));
        }

        return compiled;
    }

    private static Func<string, bool> Compile(StringMatcher m, ClientStatusOptions options)
    {
        var comparison = m.IgnoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        switch (m.MatchPatternCase)
        {
            case StringMatcher.MatchPatternOneofCase.Exact:
                return value => string.Equals(value, m.Exact, comparison);
            case StringMatcher.MatchPatternOneofCase.Prefix:
                return value => value.StartsWith(m.Prefix, comparison);
            case StringMatcher.MatchPatternOneofCase.Suffix:
                return value => value.EndsWith(m.Suffix, comparison);
            case StringMatcher.MatchPatternOneofCase.Contains:
                return value => value.Contains(m.Contains, comparison);
            case StringMatcher.MatchPatternOneofCase.SafeRegex:
                var pattern = m.SafeRegex.Regex;
                if (pattern.Length > options.MaxRegexLength)
                {
                    throw XdsServerCore.Fail(StatusCode.InvalidArgument,
                        $"the node matcher's regex has {pattern.Length} characters; the limit is {options.MaxRegexLength}");
                }

                Regex regex;
                try
                {
                    // RE2 semantics as Envoy's safe_regex: the non-backtracking engine runs in time linear in the input.
                    // The pattern must stand alone first, so that it cannot close the anchoring group ("a)|(b").
                    _ = new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
                    regex = new Regex("^(?:" + pattern + ")$", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
                }
                catch (Exception e) when (e is ArgumentException or NotSupportedException)
                {
                    throw XdsServerCore.Fail(StatusCode.InvalidArgument, $"the node matcher's regex is not accepted: {e.Message}");
                }

                return regex.IsMatch;
            default:
                return static _ => true;
        }
    }
}
