using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using XdsServer.Cache;
using XdsServer.Internal.Encoding;

namespace XdsServer.Internal;

/// <summary>What every stream of the server shares: the cache, the types, options, hooks and the registry. A DI
/// singleton, disposed with its host (it owns the send budget's timer).</summary>
internal sealed class XdsServerCore : IDisposable
{
    private long _lastStreamId;
    private int _authorizerWarned;
    private long _resumedByNames;
    private long _resumedByDigest;
    private long _resumedByVersions;

    public XdsServerCore(ICache cache, ResourceTypeRegistry types, IOptions<XdsServerOptions> options,
        IEnumerable<IXdsCallbacks> callbacks, IEnumerable<INodeAuthorizer> authorizers, StreamRegistry registry,
        ILoggerFactory loggerFactory, XdsMetrics metrics, TimeProvider? time = null)
    {
        Cache = cache;
        Types = types;
        Options = options.Value;
        Callbacks = [.. callbacks];
        RequestCallbacks = [.. Callbacks.Where(c => Implements(c, nameof(IXdsCallbacks.OnRequestAsync)))];
        Authorizers = [.. authorizers];
        Registry = registry;
        Logger = loggerFactory.CreateLogger("XdsServer");
        Metrics = metrics;
        Time = time ?? TimeProvider.System;
        SendBudget = new SendBudget(Options.MaxResponseBytesInFlight, Time);
        Encoder = new ResponseEncoder(Callbacks);
    }

    /// <summary>The callbacks that implement <see cref="IXdsCallbacks.OnRequestAsync"/>: only for them is a request
    /// parsed in full (a delta reconnect's versions are otherwise read only as far as needed).</summary>
    public IReadOnlyList<IXdsCallbacks> RequestCallbacks { get; }

    /// <summary>True when <paramref name="callbacks"/> implements <paramref name="method"/> of <see cref="IXdsCallbacks"/>
    /// itself rather than keeping the interface's default (which does nothing).</summary>
    internal static bool Implements(IXdsCallbacks callbacks, string method)
    {
        var map = callbacks.GetType().GetInterfaceMap(typeof(IXdsCallbacks));
        for (var i = 0; i < map.InterfaceMethods.Length; i++)
        {
            if (map.InterfaceMethods[i].Name == method)
            {
                return map.TargetMethods[i].DeclaringType != typeof(IXdsCallbacks);
            }
        }

        return true;
    }

    /// <summary>Delta streams resumed from the digests of their subscribed names and held versions, neither parsed
    /// (up to date, with the names of an earlier resumed stream; tests and benchmarks count them).</summary>
    public long ResumedByNames => Interlocked.Read(ref _resumedByNames);

    /// <summary>Delta streams resumed from the digest of their held versions, their names parsed (up to date).</summary>
    public long ResumedByDigest => Interlocked.Read(ref _resumedByDigest);

    /// <summary>Delta streams resumed from their held versions read one by one.</summary>
    public long ResumedByVersions => Interlocked.Read(ref _resumedByVersions);

    /// <summary>Counts a resumed delta stream by how it was recognised.</summary>
    public void CountResume(ResumedBy how)
    {
        switch (how)
        {
            case ResumedBy.Names:
                Interlocked.Increment(ref _resumedByNames);
                break;
            case ResumedBy.Digest:
                Interlocked.Increment(ref _resumedByDigest);
                break;
            default:
                Interlocked.Increment(ref _resumedByVersions);
                break;
        }
    }

    /// <summary>Encodes responses, once per distinct content across this server's streams.</summary>
    public ResponseEncoder Encoder { get; }

    /// <summary>The server-wide bound on response bytes being written (<see cref="XdsServerOptions.MaxResponseBytesInFlight"/>).</summary>
    public SendBudget SendBudget { get; }

    public ICache Cache { get; }

    public ResourceTypeRegistry Types { get; }

    public XdsServerOptions Options { get; }

    public IReadOnlyList<IXdsCallbacks> Callbacks { get; }

    public IReadOnlyList<INodeAuthorizer> Authorizers { get; }

    public StreamRegistry Registry { get; }

    public ILogger Logger { get; }

    /// <summary>The host's instruments on the meter <c>XdsServer</c>.</summary>
    public XdsMetrics Metrics { get; }

    public TimeProvider Time { get; }

    /// <summary>Stops the server's timers.</summary>
    public void Dispose() => SendBudget.Dispose();

    public long NextStreamId() => Interlocked.Increment(ref _lastStreamId);

    /// <summary>Runs the node authorizers, which must all allow; with none registered, allows and says so once
    /// in the log.</summary>
    public async ValueTask<NodeAuthorization> AuthorizeAsync(XdsStreamContext stream, Envoy.Config.Core.V3.Node node, CancellationToken ct)
    {
        if (Authorizers.Count == 0)
        {
            if (Interlocked.Exchange(ref _authorizerWarned, 1) == 0)
            {
                XdsLog.AllowAllAuthorizer(Logger);
            }

            return NodeAuthorization.Allowed;
        }

        var decision = NodeAuthorization.Allowed;
        foreach (var authorizer in Authorizers)
        {
            decision = decision.And(await authorizer.AuthorizeAsync(stream, node, ct).ConfigureAwait(false));
            if (!decision.IsAllowed)
            {
                return decision;
            }
        }

        return decision;
    }

    /// <summary>Refuses a sensitive type on a connection that may not carry secrets
    /// (<see cref="TransportSecurity"/>).</summary>
    public void RequireConfidentialTransport(ResourceType type, XdsStreamContext context)
    {
        if (type.Sensitive && TransportSecurity.InsecureReason(context.HttpContext, Options) is { } reason)
        {
            throw Fail(Grpc.Core.StatusCode.PermissionDenied, $"{type.ShortName} resources are sensitive and not sent here: {reason}");
        }
    }

    /// <summary>Looks a type URL up, or fails the call with INVALID_ARGUMENT naming what is served.</summary>
    public ResourceType ResolveType(string typeUrl)
    {
        if (Types.TryGet(typeUrl, out var type))
        {
            return type;
        }

        throw Fail(Grpc.Core.StatusCode.InvalidArgument,
            $"unknown type URL '{typeUrl}'; this server serves {string.Join(", ", Types.Types.Select(t => t.ShortName))}");
    }

    /// <summary>Checks the names of a request: count, emptiness, length and control characters.</summary>
    public void ValidateNames(string typeUrl, IReadOnlyCollection<string> names, int totalCount)
    {
        if (totalCount > Options.MaxResourceNamesPerRequest)
        {
            throw Fail(Grpc.Core.StatusCode.ResourceExhausted,
                $"{typeUrl} request names {totalCount} resources; the limit is {Options.MaxResourceNamesPerRequest}");
        }

        foreach (var name in names)
        {
            if (name.Length == 0)
            {
                throw Fail(Grpc.Core.StatusCode.InvalidArgument, $"{typeUrl} request contains an empty resource name");
            }

            if (name.Length > Options.MaxResourceNameLength)
            {
                throw Fail(Grpc.Core.StatusCode.InvalidArgument,
                    $"{typeUrl} request contains a resource name of {name.Length} characters; the limit is {Options.MaxResourceNameLength}");
            }

            foreach (var c in name)
            {
                if (char.IsControl(c))
                {
                    throw Fail(Grpc.Core.StatusCode.InvalidArgument,
                        $"{typeUrl} request contains a resource name with a control character (U+{(int)c:X4}): '{ClientText.ForLog(name, 64)}'");
                }
            }
        }
    }

    /// <summary>
    /// Asks the cache whether it serves <paramref name="typeUrl"/> to <paramref name="node"/> and fails the call with
    /// INVALID_ARGUMENT when it does not: asking a server for a type it does not serve is the client's mistake.
    /// </summary>
    public void RequireServed(long streamId, string typeUrl, Envoy.Config.Core.V3.Node node)
    {
        bool served;
        try
        {
            served = Cache.Serves(typeUrl, node);
        }
        catch (Exception e)
        {
            throw CacheFailed(streamId, nameof(ICache.Serves), typeUrl, e);
        }

        if (!served)
        {
            throw Fail(Grpc.Core.StatusCode.InvalidArgument, $"{typeUrl} is not served by this server");
        }
    }

    /// <summary>
    /// An exception from the cache is the server's fault, never the client's, whatever its type: it is logged as an
    /// error with the exception, and the client gets INTERNAL with a message that says nothing of it (an exception's
    /// text may carry the server's internals). No cache call carries unchecked client input: the type is resolved
    /// (<see cref="ResolveType"/>) and the names checked (<see cref="ValidateNames"/>) first, so a cache's
    /// <see cref="ArgumentException"/> is a bug of the cache's or the server's, never bad input.
    /// </summary>
    /// <param name="streamId">The stream (or fetch) the cache failed for.</param>
    /// <param name="operation">The cache method that threw.</param>
    /// <param name="typeUrl">The type asked for; null when the call is for no one type (an ADS stream opening).</param>
    /// <param name="exception">What the cache threw.</param>
    public Grpc.Core.RpcException CacheFailed(long streamId, string operation, string? typeUrl, Exception exception)
    {
        XdsLog.CacheFailed(Logger, exception, streamId, operation, typeUrl ?? "every type");
        return Fail(Grpc.Core.StatusCode.Internal, typeUrl is null
            ? "the server failed to open the stream: an internal error, which the server logged"
            : $"the server failed to answer {typeUrl}: an internal error, which the server logged");
    }

    public static Grpc.Core.RpcException Fail(Grpc.Core.StatusCode code, string detail) => new(new Grpc.Core.Status(code, detail));
}

/// <summary>How a delta stream's first request that lists held versions was resumed.</summary>
internal enum ResumedBy
{
    /// <summary>The digests of its names and versions, neither parsed.</summary>
    Names,

    /// <summary>The digest of its versions, its names parsed.</summary>
    Digest,

    /// <summary>Its versions parsed and compared one by one.</summary>
    Versions,
}
