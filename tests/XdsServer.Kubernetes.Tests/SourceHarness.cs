using System.Collections.Concurrent;
using k8s;
using k8s.Models;
using XdsServer.Discovery;
using XdsServer.Kubernetes.Testing;

namespace XdsServer.Kubernetes.Tests;

/// <summary>
/// A <see cref="KubernetesDiscoverySource"/> running against a <see cref="TestApiServer"/> (through its generated
/// kubeconfig) into a <see cref="ServiceRegistry"/>, with a translator that only names what it is handed (the real
/// <see cref="KubernetesTranslator"/> is tested on its own): a Service becomes a <see cref="DiscoveredService"/>, an
/// EndpointSlice an <see cref="EndpointGroup"/>, a Pod a <see cref="Workload"/>, anything else a
/// <see cref="ConfigObject"/>, each keyed by its kind (group-qualified outside core), namespace and name; an object
/// labelled <c>extra=yes</c> also produces a <c>test/Extra</c> object.
/// </summary>
internal sealed class SourceHarness : IAsyncDisposable
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource _stop = new();
    private Task _run = Task.CompletedTask;

    private SourceHarness(TestApiServer server) => Server = server;

    public TestApiServer Server { get; }

    public ServiceRegistry Registry { get; } = new();

    public LogCapture Logs { get; } = new();

    /// <summary>Every object the source handed the translator, in order.</summary>
    public ConcurrentQueue<IKubernetesObject<V1ObjectMeta>> Translated { get; } = new();

    public DiscoverySourceStatus Status => Registry.Sources.Single();

    public RegistrySnapshot Current => Registry.Current;

    /// <summary>Starts an API server (serving VirtualServices besides the built-in kinds), seeds it, and runs the
    /// source with short back-offs.</summary>
    public static async Task<SourceHarness> StartAsync(Action<TestApiServer>? seed = null, Action<KubernetesDiscoveryOptions>? configure = null)
    {
        var harness = new SourceHarness(await TestApiServer.StartAsync());
        harness.Server.Register(ApiResource.VirtualServices);
        seed?.Invoke(harness.Server);
        var options = new KubernetesDiscoveryOptions
        {
            KubeconfigPath = harness.Server.KubeconfigPath,
            InitialBackoff = TimeSpan.FromMilliseconds(50),
            MaxBackoff = TimeSpan.FromMilliseconds(200),
            MissingKindRetry = TimeSpan.FromHours(1),
        };
        configure?.Invoke(options);
        var source = new KubernetesDiscoverySource(options, harness.Translate, TimeProvider.System, harness.Logs);
        var sink = harness.Registry.OpenSink(source.Name);
        harness._run = Task.Run(() => source.RunAsync(sink, harness._stop.Token));
        return harness;
    }

    public static ObjectKey Key(string kind, string ns, string name) => new(kind, ns, name);

    /// <summary>Waits (bounded) until the source is ready, failing with its status and log otherwise.</summary>
    public async Task WhenReadyAsync()
    {
        try
        {
            await Registry.WhenReady.WaitAsync(Bound);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"not ready within {Bound.TotalSeconds} s: {Status}\n{Logs.Describe()}");
        }
    }

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds of the registry.</summary>
    public async Task EventuallyAsync(Func<RegistrySnapshot, bool> condition, string what)
    {
        try
        {
            await Eventually.TrueAsync(() => condition(Registry.Current), what, Bound);
        }
        catch (TimeoutException e)
        {
            Assert.Fail($"{e.Message}; status: {Status}\n{Logs.Describe()}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _run.WaitAsync(Bound);
        }
        finally
        {
            await Server.DisposeAsync();
            _stop.Dispose();
        }

        Assert.True(_run.IsCompletedSuccessfully, $"the source ended with {_run.Exception}");
    }

    private IReadOnlyList<RegistryObject> Translate(IKubernetesObject<V1ObjectMeta> obj)
    {
        Translated.Enqueue(obj);
        var kind = obj.ApiVersion.Contains('/', StringComparison.Ordinal) ? $"{obj.ApiVersion.Split('/')[0]}/{obj.Kind}" : obj.Kind;
        var key = new ObjectKey(kind, obj.Metadata.NamespaceProperty ?? string.Empty, obj.Metadata.Name);
        var rv = obj.Metadata.ResourceVersion;
        var labels = (IReadOnlyDictionary<string, string>?)obj.Metadata.Labels?.AsReadOnly() ?? new Dictionary<string, string>();
        RegistryObject main = kind switch
        {
            RegistryKinds.Service => new DiscoveredService { Key = key, ResourceVersion = rv, Labels = labels, Hostname = $"{key.Name}.{key.Namespace}.svc.cluster.local" },
            RegistryKinds.EndpointSlice => new EndpointGroup { Key = key, ResourceVersion = rv, Labels = labels, Service = Key(RegistryKinds.Service, key.Namespace, labels.GetValueOrDefault("kubernetes.io/service-name", "?")) },
            RegistryKinds.Pod => new Workload { Key = key, ResourceVersion = rv, Labels = labels },
            _ => new ConfigObject { Key = key, ResourceVersion = rv, Labels = labels },
        };
        return labels.GetValueOrDefault("extra") == "yes"
            ? [main, new ConfigObject { Key = key with { Kind = "test/Extra" }, ResourceVersion = rv }]
            : [main];
    }
}
