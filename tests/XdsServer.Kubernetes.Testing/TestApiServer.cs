using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace XdsServer.Kubernetes.Testing;

/// <summary>
/// A Kubernetes API server for tests, on 127.0.0.1 over HTTP/1.1, that speaks the real list/watch protocol for the
/// built-in kinds of <see cref="ApiResource.BuiltIn"/> and any custom resource registered with
/// <see cref="Register"/>, cluster-wide and per namespace:
/// <list type="bullet">
/// <item>a list answers <c>{"kind":"ServiceList","apiVersion":"v1","metadata":{"resourceVersion":"N"},"items":[...]}</c>
/// with one resource version rising across all kinds (built-in items carry no apiVersion/kind, as a real server
/// sends them);</item>
/// <item><c>?watch=1</c> (or <c>true</c>) streams one JSON event per line (<c>ADDED</c>, <c>MODIFIED</c>,
/// <c>DELETED</c>, <c>BOOKMARK</c> when <c>allowWatchBookmarks</c>, <c>ERROR</c>), replaying events after its
/// <c>resourceVersion</c> from a bounded history (without one: ADDED for every current object); a version older
/// than the history gives an ERROR event with a 410 Gone Status; <c>timeoutSeconds</c> ends it;</item>
/// <item><c>labelSelector</c> and <c>fieldSelector</c> (see <see cref="Selectors"/>) filter lists and watches; an
/// object modified out of (into) a watch's selection is sent as DELETED (ADDED);</item>
/// <item>fault switches: drop, end or stall the open watches, force 410 on the next watch, fail the next requests
/// with a status, send a malformed line, send every event twice;</item>
/// <item>legacy discovery documents for kubectl, and a kubeconfig file (<see cref="KubeconfigPath"/>) without
/// credentials.</item>
/// </list>
/// </summary>
public sealed class TestApiServer : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly List<ApiResource> _resources = [.. ApiResource.BuiltIn];
    private readonly Dictionary<ApiResource, SortedDictionary<string, JsonObject>> _objects = [];
    private readonly Queue<Change> _history = new();
    private readonly List<Watcher> _watchers = [];
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentQueue<AnsweredList> _answeredLists = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly int _historyLimit;
    private readonly string _directory;
    private WebApplication? _app;
    private long _resourceVersion = 100;
    private long _compactedAt = 100;
    private int _failuresLeft;
    private HttpStatusCode _failureStatus;
    private int _goneLeft;
    private bool _goneAsHttpStatus;
    private ApiResource? _goneResource;
    private long _uid;

    private TestApiServer(int historyLimit)
    {
        _historyLimit = historyLimit;
        _directory = Directory.CreateTempSubdirectory("xds-test-apiserver-").FullName;
        KubeconfigPath = Path.Combine(_directory, "kubeconfig");
    }

    private enum WatchControl
    {
        End,
        Drop,
        Stall,
    }

    /// <summary>Where it listens: <c>http://127.0.0.1:port</c>.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>A kubeconfig file naming this server (no credentials), for the C# client and kubectl.</summary>
    public string KubeconfigPath { get; }

    /// <summary>Every resource request so far, in order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>Every list answered so far (not gets or watches), in the order they finished, with its size and
    /// timing.</summary>
    public IReadOnlyList<AnsweredList> AnsweredLists => [.. _answeredLists];

    /// <summary>When set, every event is sent to watchers twice.</summary>
    public bool DuplicateEvents { get; set; }

    /// <summary>The newest resource version.</summary>
    public long ResourceVersion
    {
        get
        {
            lock (_lock)
            {
                return _resourceVersion;
            }
        }
    }

    /// <summary>Starts a server on a free loopback port and writes its kubeconfig.</summary>
    /// <param name="historyLimit">How many events a watch can be resumed over.</param>
    /// <returns>The started server.</returns>
    public static async Task<TestApiServer> StartAsync(int historyLimit = 1000)
    {
        var server = new TestApiServer(historyLimit);
        var (app, address) = await LoopbackHost.StartAsync(l => l.Protocols = HttpProtocols.Http1, _ => { }, a => a.Run(server.HandleAsync));
        server._app = app;
        server.Address = address;
        await File.WriteAllTextAsync(server.KubeconfigPath, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: test
              cluster:
                server: {address.GetLeftPart(UriPartial.Authority)}
            contexts:
            - name: test
              context:
                cluster: test
                namespace: default
            current-context: test
            """);
        return server;
    }

    /// <summary>Serves a custom resource kind (list, watch, discovery).</summary>
    public void Register(ApiResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        lock (_lock)
        {
            if (!_resources.Contains(resource))
            {
                _resources.Add(resource);
            }
        }
    }

    /// <summary>Adds a typed object (its apiVersion and kind may be left unset).</summary>
    /// <returns>Its new resource version.</returns>
    public string Add(IKubernetesObject<V1ObjectMeta> obj) => Add(ToJson(obj));

    /// <summary>Adds an object given as JSON (with apiVersion and kind).</summary>
    /// <returns>Its new resource version.</returns>
    public string Add(JsonObject obj) => Write(obj, "ADDED");

    /// <summary>Replaces an existing typed object.</summary>
    /// <returns>Its new resource version.</returns>
    public string Update(IKubernetesObject<V1ObjectMeta> obj) => Update(ToJson(obj));

    /// <summary>Replaces an existing object given as JSON.</summary>
    /// <returns>Its new resource version.</returns>
    public string Update(JsonObject obj) => Write(obj, "MODIFIED");

    /// <summary>Deletes an object.</summary>
    /// <returns>The resource version of the deletion.</returns>
    public string Delete(ApiResource resource, string? ns, string name)
    {
        ArgumentNullException.ThrowIfNull(resource);
        lock (_lock)
        {
            var store = Store(resource);
            var key = $"{ns}/{name}";
            if (!store.Remove(key, out var existing))
            {
                throw new InvalidOperationException($"{resource.Plural} {key} does not exist");
            }

            var deleted = (JsonObject)existing.DeepClone();
            return Record(resource, "DELETED", existing, deleted);
        }
    }

    /// <summary>Ends every open watch (of <paramref name="resource"/>, or all) as a broken connection (the client
    /// sees the stream fail).</summary>
    public void DropWatches(ApiResource? resource = null) => Control(WatchControl.Drop, resource);

    /// <summary>Ends every open watch (of <paramref name="resource"/>, or all) cleanly, as its timeout would.</summary>
    public void EndWatches(ApiResource? resource = null) => Control(WatchControl.End, resource);

    /// <summary>Makes every open watch (of <paramref name="resource"/>, or all) send nothing more while holding the
    /// stream open; new watches are not affected.</summary>
    public void StallWatches(ApiResource? resource = null) => Control(WatchControl.Stall, resource);

    /// <summary>Makes the next watch request (of <paramref name="resource"/>, or any) fail with 410 Gone: an ERROR
    /// event with a Status (as a real server does once streaming), or the HTTP status.</summary>
    public void FailNextWatchWithGone(ApiResource? resource = null, bool asHttpStatus = false)
    {
        lock (_lock)
        {
            _goneLeft++;
            _goneAsHttpStatus = asHttpStatus;
            _goneResource = resource;
        }
    }

    /// <summary>Answers the next <paramref name="count"/> resource requests with <paramref name="status"/> and a
    /// Status body.</summary>
    public void FailNextRequests(int count, HttpStatusCode status)
    {
        lock (_lock)
        {
            _failuresLeft = count;
            _failureStatus = status;
        }
    }

    /// <summary>Sends a line that is not JSON to every open watch.</summary>
    public void SendMalformedLine()
    {
        lock (_lock)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Queue.Writer.TryWrite("{\"type\":\"ADDED\",\"object\":{\"metadata\": this is not json");
            }
        }
    }

    /// <summary>Moves the resource version on (as writes to other kinds would) and sends a BOOKMARK at it to every
    /// open watch that allows bookmarks.</summary>
    /// <returns>The bookmark's resource version.</returns>
    public string SendBookmark()
    {
        lock (_lock)
        {
            var rv = (++_resourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);
            foreach (var watcher in _watchers.Where(w => w.Bookmarks))
            {
                watcher.Queue.Writer.TryWrite(new JsonObject
                {
                    ["type"] = "BOOKMARK",
                    ["object"] = new JsonObject
                    {
                        ["kind"] = watcher.Resource.Kind,
                        ["apiVersion"] = watcher.Resource.GroupVersion,
                        ["metadata"] = new JsonObject { ["resourceVersion"] = rv },
                    },
                }.ToJsonString());
            }

            return rv;
        }
    }

    /// <summary>Forgets the event history: a watch from any earlier resource version gets 410 Gone.</summary>
    public void Compact()
    {
        lock (_lock)
        {
            _history.Clear();
            _compactedAt = _resourceVersion;
        }
    }

    /// <summary>How many watches of <paramref name="resource"/> are open now (not counting stalled ones).</summary>
    public int OpenWatches(ApiResource resource)
    {
        lock (_lock)
        {
            return _watchers.Count(w => w.Resource == resource && !w.Stalled);
        }
    }

    /// <summary>How many lists of <paramref name="resource"/> were asked for.</summary>
    public int ListCount(ApiResource resource) => _requests.Count(r => r.Resource == resource && !r.Watch);

    /// <summary>How many watches of <paramref name="resource"/> were asked for.</summary>
    public int WatchCount(ApiResource resource) => _requests.Count(r => r.Resource == resource && r.Watch);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        EndWatches();
        if (_app is not null)
        {
            await LoopbackHost.StopAsync(_app);
        }

        _stopping.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temporary directory left behind is harmless.
        }
    }

    private static JsonObject ToJson(IKubernetesObject<V1ObjectMeta> obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var json = JsonNode.Parse(KubernetesJson.Serialize(obj))!.AsObject();
        if (obj.GetType().GetCustomAttribute<KubernetesEntityAttribute>() is { } entity)
        {
            json["apiVersion"] ??= entity.Group.Length == 0 ? entity.ApiVersion : $"{entity.Group}/{entity.ApiVersion}";
            json["kind"] ??= entity.Kind;
        }

        return json;
    }

    private static string? Str(JsonNode? node) => node?.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>() : null;

    private static string NameOf(JsonObject obj) => Str(obj["metadata"]?["name"]) ?? string.Empty;

    private static string NamespaceOf(JsonObject obj) => Str(obj["metadata"]?["namespace"]) ?? string.Empty;

    private static Dictionary<string, string> LabelsOf(JsonObject obj) =>
        obj["metadata"]?["labels"] is JsonObject labels
            ? labels.ToDictionary(p => p.Key, p => Str(p.Value) ?? string.Empty, StringComparer.Ordinal)
            : [];

    private static JsonObject Status(HttpStatusCode code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = (int)code,
    };

    private static async Task WriteJsonAsync(HttpContext context, HttpStatusCode status, JsonNode body)
    {
        context.Response.StatusCode = (int)status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    private SortedDictionary<string, JsonObject> Store(ApiResource resource)
    {
        if (!_objects.TryGetValue(resource, out var store))
        {
            _objects[resource] = store = new(StringComparer.Ordinal);
        }

        return store;
    }

    private string Write(JsonObject obj, string type)
    {
        ArgumentNullException.ThrowIfNull(obj);
        lock (_lock)
        {
            var apiVersion = Str(obj["apiVersion"]);
            var kind = Str(obj["kind"]);
            var resource = _resources.FirstOrDefault(r => r.GroupVersion == apiVersion && r.Kind == kind)
                ?? throw new InvalidOperationException($"{apiVersion} {kind} is not served; Register it first");
            var json = (JsonObject)obj.DeepClone();
            var metadata = json["metadata"] as JsonObject ?? throw new ArgumentException("the object has no metadata", nameof(obj));
            if (resource.Namespaced && NamespaceOf(json).Length == 0)
            {
                throw new ArgumentException($"a {kind} needs a namespace", nameof(obj));
            }

            var store = Store(resource);
            var key = $"{(resource.Namespaced ? NamespaceOf(json) : string.Empty)}/{NameOf(json)}";
            store.TryGetValue(key, out var previous);
            if ((type == "ADDED") != (previous is null))
            {
                throw new InvalidOperationException($"{resource.Plural} {key} {(previous is null ? "does not exist" : "exists already")}");
            }

            metadata["uid"] = Str(previous?["metadata"]?["uid"]) ?? $"uid-{++_uid}";
            metadata["creationTimestamp"] ??= "2025-01-01T00:00:00Z";
            store[key] = json;
            return Record(resource, type, previous, json);
        }
    }

    // Under _lock: stamps the object with the next resource version, keeps the event and sends it to watchers.
    private string Record(ApiResource resource, string type, JsonObject? previous, JsonObject current)
    {
        var rv = ++_resourceVersion;
        var text = rv.ToString(System.Globalization.CultureInfo.InvariantCulture);
        current["metadata"]!["resourceVersion"] = text;
        var change = new Change(rv, resource, type, (JsonObject?)previous?.DeepClone(), (JsonObject)current.DeepClone());
        _history.Enqueue(change);
        while (_history.Count > _historyLimit)
        {
            _compactedAt = _history.Dequeue().ResourceVersion;
        }

        foreach (var watcher in _watchers)
        {
            if (watcher.Line(change) is { } line)
            {
                watcher.Queue.Writer.TryWrite(line);
                if (DuplicateEvents)
                {
                    watcher.Queue.Writer.TryWrite(line);
                }
            }
        }

        return text;
    }

    private void Control(WatchControl control, ApiResource? resource = null)
    {
        lock (_lock)
        {
            foreach (var watcher in _watchers.Where(w => resource is null || w.Resource == resource))
            {
                watcher.Queue.Writer.TryWrite(control);
                if (control == WatchControl.Stall)
                {
                    watcher.Stalled = true;
                }
            }
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var segments = context.Request.Path.Value!.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (!HttpMethods.IsGet(context.Request.Method))
        {
            await WriteJsonAsync(context, HttpStatusCode.MethodNotAllowed, Status(HttpStatusCode.MethodNotAllowed, "MethodNotAllowed", "this test server only reads"));
            return;
        }

        List<ApiResource> resources;
        lock (_lock)
        {
            resources = [.. _resources];
        }

        // Discovery documents.
        JsonNode? discovery = segments switch
        {
            ["version"] => ApiDiscoveryDocuments.Version(),
            ["api"] => ApiDiscoveryDocuments.Versions(Address),
            ["api", "v1"] => ApiDiscoveryDocuments.ResourceList(resources, string.Empty, "v1"),
            ["apis"] => ApiDiscoveryDocuments.GroupList(resources),
            ["apis", var g] => ApiDiscoveryDocuments.Group(resources, g),
            ["apis", var g, var v] => ApiDiscoveryDocuments.ResourceList(resources, g, v),
            _ => null,
        };
        if (discovery is not null)
        {
            await WriteJsonAsync(context, HttpStatusCode.OK, discovery);
            return;
        }

        // Resource paths: /api/v1/... or /apis/{group}/{version}/..., then [namespaces/{ns}/]{plural}[/{name}].
        var (group, version, rest) = segments switch
        {
            ["api", "v1", .. var r] => (string.Empty, "v1", r),
            ["apis", var g, var v, .. var r] => (g, v, r),
            _ => (string.Empty, string.Empty, Array.Empty<string>()),
        };
        var (ns, plural, name) = rest switch
        {
            ["namespaces", var n, var p] => (n, p, (string?)null),
            ["namespaces", var n, var p, var o] => (n, p, o),
            ["namespaces", var n] => (null, "namespaces", n),
            [var p] => ((string?)null, p, (string?)null),
            [var p, var o] => (null, p, o),
            _ => (null, string.Empty, null),
        };
        var resource = resources.FirstOrDefault(r => r.Group == group && r.Version == version && r.Plural == plural);
        if (resource is null || (ns is not null && !resource.Namespaced))
        {
            await WriteJsonAsync(context, HttpStatusCode.NotFound, Status(HttpStatusCode.NotFound, "NotFound", $"the server could not find the requested resource ({context.Request.Path})"));
            return;
        }

        var query = context.Request.Query;
        var watch = query["watch"].ToString() is "1" or "true";
        var resourceVersion = query.TryGetValue("resourceVersion", out var rvValue) ? rvValue.ToString() : null;
        _requests.Enqueue(new RecordedRequest(resource, ns, watch, resourceVersion, context.Request.QueryString.Value ?? string.Empty));

        HttpStatusCode? failure = null;
        lock (_lock)
        {
            if (_failuresLeft > 0)
            {
                _failuresLeft--;
                failure = _failureStatus;
            }
        }

        if (failure is { } status)
        {
            if (status == HttpStatusCode.TooManyRequests)
            {
                context.Response.Headers.RetryAfter = "1";
            }

            await WriteJsonAsync(context, status, Status(status, status.ToString(), $"injected failure {(int)status}"));
            return;
        }

        Func<IReadOnlyDictionary<string, string>, bool> labels;
        Func<string, string, bool> fields;
        try
        {
            labels = Selectors.ParseLabels(query["labelSelector"]);
            fields = Selectors.ParseFields(query["fieldSelector"]);
        }
        catch (FormatException e)
        {
            await WriteJsonAsync(context, HttpStatusCode.BadRequest, Status(HttpStatusCode.BadRequest, "BadRequest", e.Message));
            return;
        }

        var watcher = new Watcher(resource, ns, labels, fields, query["allowWatchBookmarks"].ToString() is "1" or "true");
        if (name is not null)
        {
            await GetAsync(context, resource, ns, name);
        }
        else if (watch)
        {
            await WatchAsync(context, watcher, resourceVersion, query["timeoutSeconds"]);
        }
        else
        {
            await ListAsync(context, watcher, ns);
        }
    }

    private async Task GetAsync(HttpContext context, ApiResource resource, string? ns, string name)
    {
        JsonObject? found;
        lock (_lock)
        {
            found = Store(resource).GetValueOrDefault($"{ns}/{name}") is { } o ? (JsonObject)o.DeepClone() : null;
        }

        await (found is null
            ? WriteJsonAsync(context, HttpStatusCode.NotFound, Status(HttpStatusCode.NotFound, "NotFound", $"{resource.Plural} \"{name}\" not found"))
            : WriteJsonAsync(context, HttpStatusCode.OK, found));
    }

    private async Task ListAsync(HttpContext context, Watcher selection, string? ns)
    {
        var start = Stopwatch.GetTimestamp();
        JsonObject list;
        lock (_lock)
        {
            var items = Store(selection.Resource).Values.Where(selection.Matches).Select(o =>
            {
                var item = (JsonObject)o.DeepClone();
                if (selection.Resource.IsBuiltIn)
                {
                    item.Remove("apiVersion");
                    item.Remove("kind");
                }

                return (JsonNode)item;
            });
            list = new JsonObject
            {
                ["kind"] = selection.Resource.Kind + "List",
                ["apiVersion"] = selection.Resource.GroupVersion,
                ["metadata"] = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                ["items"] = new JsonArray([.. items]),
            };
        }

        var count = list["items"]!.AsArray().Count;
        var body = list.ToJsonString();
        context.Response.StatusCode = (int)HttpStatusCode.OK;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body, context.RequestAborted);
        await context.Response.CompleteAsync();
        _answeredLists.Enqueue(new AnsweredList(selection.Resource, ns, count, Encoding.UTF8.GetByteCount(body), start, Stopwatch.GetTimestamp()));
    }

    private async Task WatchAsync(HttpContext context, Watcher watcher, string? resourceVersion, string? timeoutSeconds)
    {
        var gone = false;
        var goneAsHttpStatus = false;
        lock (_lock)
        {
            var fromVersion = long.TryParse(resourceVersion, out var v) && v > 0 ? v : (long?)null;
            var forced = _goneLeft > 0 && (_goneResource is null || _goneResource == watcher.Resource);
            if (forced || fromVersion < _compactedAt)
            {
                gone = true;
                goneAsHttpStatus = forced && _goneAsHttpStatus;
                _goneLeft -= forced ? 1 : 0;
                watcher.Queue.Writer.TryWrite(new JsonObject
                {
                    ["type"] = "ERROR",
                    ["object"] = Status(HttpStatusCode.Gone, "Expired", $"too old resource version: {resourceVersion} ({_compactedAt})"),
                }.ToJsonString());
                watcher.Queue.Writer.TryWrite(WatchControl.End);
            }
            else if (fromVersion is null)
            {
                foreach (var obj in Store(watcher.Resource).Values.Where(watcher.Matches))
                {
                    watcher.Queue.Writer.TryWrite(new JsonObject { ["type"] = "ADDED", ["object"] = obj.DeepClone() }.ToJsonString());
                }
            }
            else
            {
                foreach (var change in _history.Where(c => c.ResourceVersion > fromVersion))
                {
                    if (watcher.Line(change) is { } line)
                    {
                        watcher.Queue.Writer.TryWrite(line);
                    }
                }
            }

            if (!gone)
            {
                _watchers.Add(watcher);
            }
        }

        if (goneAsHttpStatus)
        {
            await WriteJsonAsync(context, HttpStatusCode.Gone, Status(HttpStatusCode.Gone, "Expired", "too old resource version"));
            return;
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        if (int.TryParse(timeoutSeconds, out var seconds) && seconds > 0)
        {
            cancel.CancelAfter(TimeSpan.FromSeconds(seconds));
        }

        try
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await context.Response.StartAsync(cancel.Token);
            await context.Response.Body.FlushAsync(cancel.Token);
            var stalled = false;
            await foreach (var item in watcher.Queue.Reader.ReadAllAsync(cancel.Token))
            {
                switch (item)
                {
                    case string line when !stalled:
                        await context.Response.WriteAsync(line + "\n", cancel.Token);
                        await context.Response.Body.FlushAsync(cancel.Token);
                        break;
                    case WatchControl.End:
                        return;
                    case WatchControl.Drop:
                        context.Abort();
                        return;
                    case WatchControl.Stall:
                        // Held open, sending nothing more, until the client goes or the watch is ended or dropped.
                        stalled = true;
                        break;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away, the timeout passed or the server stops: the watch ends.
        }
        catch (IOException)
        {
            // The client went away mid-write.
        }
        finally
        {
            lock (_lock)
            {
                _watchers.Remove(watcher);
            }
        }
    }

    private sealed record Change(long ResourceVersion, ApiResource Resource, string Type, JsonObject? Previous, JsonObject Current);

    private sealed class Watcher(ApiResource resource, string? ns, Func<IReadOnlyDictionary<string, string>, bool> labels,
        Func<string, string, bool> fields, bool bookmarks)
    {
        public ApiResource Resource { get; } = resource;

        public bool Bookmarks { get; } = bookmarks;

        public bool Stalled { get; set; }

        public Channel<object> Queue { get; } = Channel.CreateUnbounded<object>(new() { SingleReader = true });

        public bool Matches(JsonObject obj) =>
            (ns is null || NamespaceOf(obj) == ns) && labels(LabelsOf(obj)) && fields(NameOf(obj), NamespaceOf(obj));

        // The event this watcher sees for a change, if any: an object modified into its selection is ADDED to it,
        // one modified out of it is DELETED.
        public string? Line(Change change)
        {
            if (change.Resource != Resource || Stalled)
            {
                return null;
            }

            var now = Matches(change.Current);
            var before = change.Previous is not null && Matches(change.Previous);
            var type = change.Type switch
            {
                "MODIFIED" when before && now => "MODIFIED",
                "MODIFIED" when now => "ADDED",
                "MODIFIED" when before => "DELETED",
                "ADDED" or "DELETED" when now => change.Type,
                _ => null,
            };
            return type is null ? null : new JsonObject { ["type"] = type, ["object"] = change.Current.DeepClone() }.ToJsonString();
        }
    }
}
