using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace XdsServer.Kubernetes.Tests.Stubs;

/// <summary>
/// Fakes the few request/response endpoints of the Kubernetes API server that the CA uses: TokenReview create,
/// Secret get/create (409 when it exists)/replace (409 on a stale resourceVersion) and Lease get/create/replace
/// (409 on a stale resourceVersion). No list, no watch. Can fail the next requests with a status. Runs on 127.0.0.1 on a free port and writes a kubeconfig pointing at itself; requests without that
/// kubeconfig's bearer token are refused with 401.
/// </summary>
internal sealed class CaKubernetesApiStub : IAsyncDisposable
{
    private const string ClientToken = "stub-client-token";
    private readonly ConcurrentDictionary<string, V1Secret> _secrets = new();
    private readonly ConcurrentDictionary<string, V1Lease> _leases = new();
    private readonly Lock _leaseLock = new();
    private WebApplication _app = null!;
    private long _resourceVersion = 100;
    private int _tokenReviews;
    private int _secretCreates;
    private int _secretConflicts;
    private int _secretReplaces;
    private int _secretReplaceConflicts;
    private int _failuresLeft;
    private int _failureStatus;
    private TaskCompletionSource? _heldSecretReplace;
    private TaskCompletionSource? _secretReplaceGate;
    private TaskCompletionSource? _heldCreate;
    private TaskCompletionSource? _heldReplace;
    private TaskCompletionSource? _createGate; // kept after the held request took _heldCreate, to release it
    private TaskCompletionSource? _replaceGate;

    private CaKubernetesApiStub()
    {
    }

    public Uri Address { get; private set; } = null!;

    public string KubeConfigPath { get; private set; } = null!;

    /// <summary>Answers a TokenReview: the status to return, or null for HTTP 500. Default: nothing authenticated.</summary>
    public Func<V1TokenReviewSpec, CancellationToken, Task<V1TokenReviewStatus?>> TokenReviews { get; set; } =
        (_, _) => Task.FromResult<V1TokenReviewStatus?>(new V1TokenReviewStatus { Authenticated = false });

    /// <summary>The spec of the TokenReview last received.</summary>
    public V1TokenReviewSpec? LastTokenReview { get; private set; }

    public int TokenReviewRequests => Volatile.Read(ref _tokenReviews);

    /// <summary>Completed when a TokenReview request has arrived (before it is answered).</summary>
    public TaskCompletionSource TokenReviewArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int SecretCreates => Volatile.Read(ref _secretCreates);

    public int SecretConflicts => Volatile.Read(ref _secretConflicts);

    /// <summary>When set, every Secret replace is answered with this status (such as 403) and nothing is stored.</summary>
    public int? RefuseSecretReplacesWith { get; set; }

    /// <summary>Secret replaces stored (not counting those refused with 409).</summary>
    public int SecretReplaces => Volatile.Read(ref _secretReplaces);

    /// <summary>Secret replaces refused with 409 Conflict (a stale resourceVersion).</summary>
    public int SecretReplaceConflicts => Volatile.Read(ref _secretReplaceConflicts);

    /// <summary>Completed when the held Secret replace (see <see cref="HoldNextSecretReplace"/>) has arrived.</summary>
    public TaskCompletionSource SecretReplaceArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completed when the held Secret create (see <see cref="HoldNextSecretCreate"/>) has arrived.</summary>
    public TaskCompletionSource SecretCreateArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completed when the held Lease replace (see <see cref="HoldNextLeaseReplace"/>) has arrived.</summary>
    public TaskCompletionSource LeaseReplaceArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<CaKubernetesApiStub> StartAsync()
    {
        var stub = new CaKubernetesApiStub();
        (stub._app, stub.Address) = await LoopbackHost.StartAsync(_ => { }, _ => { }, stub.Map);
        stub.KubeConfigPath = Path.Combine(Path.GetTempPath(), $"xds-k3-kubeconfig-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(stub.KubeConfigPath, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: stub
              cluster:
                server: {stub.Address.ToString().TrimEnd('/')}
            users:
            - name: stub
              user:
                token: {ClientToken}
            contexts:
            - name: stub
              context:
                cluster: stub
                user: stub
            current-context: stub
            """);
        return stub;
    }

    public IKubernetes CreateClient() => new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(KubeConfigPath));

    /// <summary>Holds the next Secret create until <see cref="ReleaseHeldSecretCreate"/>; whether the Secret exists is
    /// decided only then.</summary>
    public void HoldNextSecretCreate() => _heldCreate = _createGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseHeldSecretCreate() => _createGate?.TrySetResult();

    /// <summary>Holds the next Lease replace until <see cref="ReleaseHeldLeaseReplace"/>; its resourceVersion is
    /// checked only then.</summary>
    public void HoldNextLeaseReplace() => _heldReplace = _replaceGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseHeldLeaseReplace() => _replaceGate?.TrySetResult();

    /// <summary>Holds the next Secret replace until <see cref="ReleaseHeldSecretReplace"/>; its resourceVersion is
    /// checked only then.</summary>
    public void HoldNextSecretReplace() =>
        _heldSecretReplace = _secretReplaceGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseHeldSecretReplace() => _secretReplaceGate?.TrySetResult();

    /// <summary>Answers the next <paramref name="count"/> Secret and Lease requests with <paramref name="status"/>.</summary>
    public void FailNextRequests(int count, int status)
    {
        Volatile.Write(ref _failureStatus, status);
        Volatile.Write(ref _failuresLeft, count);
    }

    public void PutSecret(string @namespace, string name, IReadOnlyDictionary<string, string> data) =>
        _secrets[Key(@namespace, name)] = new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace, ResourceVersion = NextVersion() },
            Data = data.ToDictionary(e => e.Key, e => Encoding.UTF8.GetBytes(e.Value)),
        };

    public V1Secret? GetSecret(string @namespace, string name) => _secrets.GetValueOrDefault(Key(@namespace, name));

    public V1Lease? GetLease(string @namespace, string name) => _leases.GetValueOrDefault(Key(@namespace, name));

    public async ValueTask DisposeAsync()
    {
        _createGate?.TrySetResult();
        _replaceGate?.TrySetResult();
        _secretReplaceGate?.TrySetResult();
        await LoopbackHost.StopAsync(_app);
        File.Delete(KubeConfigPath);
    }

    private static string Key(string @namespace, string name) => @namespace + "/" + name;

    private string NextVersion() => Interlocked.Increment(ref _resourceVersion).ToString(CultureInfo.InvariantCulture);

    private void Map(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (context.Request.Headers.Authorization != "Bearer " + ClientToken)
            {
                await Status(context, StatusCodes.Status401Unauthorized, "Unauthorized");
                return;
            }
            if (!context.Request.Path.StartsWithSegments("/apis/authentication.k8s.io") && TakeFailure() is { } failure)
            {
                await Status(context, failure, "InjectedFailure");
                return;
            }
            try
            {
                await next(context);
            }
            catch (Exception ex) when (!context.Response.HasStarted && ex is not OperationCanceledException)
            {
                // A fault of the stub itself: shown in the client's error, not hidden behind an empty 500.
                context.Response.StatusCode = StatusCodes.Status500InternalServerError;
                await context.Response.WriteAsync("stub fault: " + ex);
            }
        });
        app.MapPost("/apis/authentication.k8s.io/v1/tokenreviews", (RequestDelegate)ReviewTokenAsync);
        app.MapGet("/api/v1/namespaces/{ns}/secrets/{name}", (RequestDelegate)(context =>
            _secrets.TryGetValue(Key(Route(context, "ns"), Route(context, "name")), out var secret)
                ? Json(context, StatusCodes.Status200OK, secret)
                : Status(context, StatusCodes.Status404NotFound, "NotFound")));
        app.MapPost("/api/v1/namespaces/{ns}/secrets", (RequestDelegate)CreateSecretAsync);
        app.MapPut("/api/v1/namespaces/{ns}/secrets/{name}", (RequestDelegate)ReplaceSecretAsync);
        app.MapGet("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}", (RequestDelegate)(context =>
            _leases.TryGetValue(Key(Route(context, "ns"), Route(context, "name")), out var lease)
                ? Json(context, StatusCodes.Status200OK, lease)
                : Status(context, StatusCodes.Status404NotFound, "NotFound")));
        app.MapPost("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases", (RequestDelegate)(context => WriteLeaseAsync(context, create: true)));
        app.MapPut("/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}", (RequestDelegate)(context => WriteLeaseAsync(context, create: false)));
    }

    private async Task ReviewTokenAsync(HttpContext context)
    {
        var review = await Read<V1TokenReview>(context);
        LastTokenReview = review.Spec;
        Interlocked.Increment(ref _tokenReviews);
        TokenReviewArrived.TrySetResult();
        var status = await TokenReviews(review.Spec, context.RequestAborted);
        if (status is null)
        {
            await Status(context, StatusCodes.Status500InternalServerError, "InternalError");
            return;
        }
        review.Spec = new V1TokenReviewSpec(); // as the API server does: the token is not echoed
        review.Status = status;
        await Json(context, StatusCodes.Status201Created, review);
    }

    private async Task CreateSecretAsync(HttpContext context)
    {
        var secret = await Read<V1Secret>(context);
        if (Interlocked.Exchange(ref _heldCreate, null) is { } held)
        {
            SecretCreateArrived.TrySetResult();
            await held.Task;
        }
        Interlocked.Increment(ref _secretCreates);
        secret.Metadata.ResourceVersion = NextVersion();
        if (!_secrets.TryAdd(Key(Route(context, "ns"), secret.Metadata.Name), secret))
        {
            Interlocked.Increment(ref _secretConflicts);
            await Status(context, StatusCodes.Status409Conflict, "AlreadyExists");
            return;
        }
        await Json(context, StatusCodes.Status201Created, secret);
    }

    private async Task ReplaceSecretAsync(HttpContext context)
    {
        var secret = await Read<V1Secret>(context);
        if (RefuseSecretReplacesWith is { } refused)
        {
            await Status(context, refused, "Refused");
            return;
        }
        if (Interlocked.Exchange(ref _heldSecretReplace, null) is { } held)
        {
            SecretReplaceArrived.TrySetResult();
            await held.Task;
        }
        var key = Key(Route(context, "ns"), Route(context, "name"));
        bool conflict;
        lock (_leaseLock)
        {
            conflict = !_secrets.TryGetValue(key, out var current) || current.Metadata.ResourceVersion != secret.Metadata.ResourceVersion;
            if (!conflict)
            {
                secret.Metadata.ResourceVersion = NextVersion();
                _secrets[key] = secret;
            }
        }
        Interlocked.Increment(ref conflict ? ref _secretReplaceConflicts : ref _secretReplaces);
        await (conflict
            ? Status(context, StatusCodes.Status409Conflict, "Conflict")
            : Json(context, StatusCodes.Status200OK, secret));
    }

    private int? TakeFailure()
    {
        while (true)
        {
            var left = Volatile.Read(ref _failuresLeft);
            if (left <= 0)
            {
                return null;
            }
            if (Interlocked.CompareExchange(ref _failuresLeft, left - 1, left) == left)
            {
                return Volatile.Read(ref _failureStatus);
            }
        }
    }

    private async Task WriteLeaseAsync(HttpContext context, bool create)
    {
        var lease = await Read<V1Lease>(context);
        var key = Key(Route(context, "ns"), create ? lease.Metadata.Name : Route(context, "name"));
        if (!create && Interlocked.Exchange(ref _heldReplace, null) is { } held)
        {
            LeaseReplaceArrived.TrySetResult();
            await held.Task;
        }
        bool conflict;
        lock (_leaseLock)
        {
            var exists = _leases.TryGetValue(key, out var current);
            conflict = create ? exists : !exists || current!.Metadata.ResourceVersion != lease.Metadata.ResourceVersion;
            if (!conflict)
            {
                lease.Metadata.ResourceVersion = NextVersion();
                _leases[key] = lease;
            }
        }
        await (conflict
            ? Status(context, StatusCodes.Status409Conflict, "Conflict")
            : Json(context, create ? StatusCodes.Status201Created : StatusCodes.Status200OK, lease));
    }

    private static string Route(HttpContext context, string name) => (string)context.Request.RouteValues[name]!;

    private static async Task<T> Read<T>(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        return KubernetesJson.Deserialize<T>(await reader.ReadToEndAsync());
    }

    private static Task Json<T>(HttpContext context, int status, T body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(KubernetesJson.Serialize(body));
    }

    // Written by hand: the client's V1Status converter reads but does not write.
    private static Task Status(HttpContext context, int code, string reason)
    {
        context.Response.StatusCode = code;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(
            $$"""{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"{{reason}}","message":"{{reason}}","code":{{code}}}""");
    }
}
