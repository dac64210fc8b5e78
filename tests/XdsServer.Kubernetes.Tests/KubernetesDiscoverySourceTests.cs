using System.Net;
using XdsServer.Discovery;
using XdsServer.Kubernetes.Testing;
using static XdsServer.Kubernetes.Tests.SourceHarness;

namespace XdsServer.Kubernetes.Tests;

/// <summary>The live source against a test API server that speaks the real list/watch protocol.</summary>
public sealed class KubernetesDiscoverySourceTests
{
    private static readonly ObjectKey Reviews = Key(RegistryKinds.Service, "default", "reviews");

    [Fact]
    public async Task The_initial_lists_write_every_kind_then_the_source_is_ready()
    {
        await using var h = await StartAsync(server =>
        {
            server.Add(TestObjects.Service("default", "reviews"));
            server.Add(TestObjects.EndpointSlice("default", "reviews-abc", "reviews"));
            server.Add(TestObjects.Pod("default", "reviews-1"));
            server.Add(TestObjects.Namespace("default"));
            server.Add(TestObjects.Node("node-1"));
            server.Add(TestObjects.VirtualService("default", "reviews-route"));
        });

        await h.WhenReadyAsync();

        var snapshot = h.Current;
        Assert.NotNull(snapshot.Get<DiscoveredService>(Reviews));
        Assert.NotNull(snapshot.Get<EndpointGroup>(Key(RegistryKinds.EndpointSlice, "default", "reviews-abc")));
        Assert.NotNull(snapshot.Get<Workload>(Key(RegistryKinds.Pod, "default", "reviews-1")));
        Assert.NotNull(snapshot.Get(Key("Namespace", string.Empty, "default")));
        Assert.NotNull(snapshot.Get(Key("Node", string.Empty, "node-1")));
        var route = snapshot.Get<ConfigObject>(Key("networking.istio.io/VirtualService", "default", "reviews-route"));
        Assert.NotNull(route);
        Assert.Equal(6, snapshot.Count);

        // The Istio kind reached the translator as a GenericObject with its spec.
        var generic = Assert.Single(h.Translated.OfType<GenericObject>());
        Assert.Equal("reviews-route", generic.Spec.GetProperty("hosts")[0].GetString());

        // Every built-in kind reached it with apiVersion and kind, though list items carry neither.
        Assert.Contains(h.Translated, o => o.ApiVersion == "discovery.k8s.io/v1" && o.Kind == "EndpointSlice");
        Assert.True(h.Status.Ready && h.Status.Healthy, h.Status.ToString());
    }

    [Fact]
    public async Task Added_updated_and_deleted_objects_reach_the_registry_and_an_update_removes_keys_it_no_longer_produces()
    {
        await using var h = await StartAsync();
        await h.WhenReadyAsync();

        var added = h.Server.Add(TestObjects.Service("default", "reviews", new Dictionary<string, string> { ["extra"] = "yes" }));
        await h.EventuallyAsync(s => s.Get(Reviews)?.ResourceVersion == added, "the added service");
        var extra = Key("test/Extra", "default", "reviews");
        Assert.NotNull(h.Current.Get(extra));

        var updated = h.Server.Update(TestObjects.Service("default", "reviews", new Dictionary<string, string> { ["extra"] = "no" }));
        await h.EventuallyAsync(s => s.Get(Reviews)?.ResourceVersion == updated, "the updated service");
        Assert.Null(h.Current.Get(extra));

        h.Server.Add(TestObjects.Pod("default", "reviews-1", new Dictionary<string, string> { ["extra"] = "yes" }));
        await h.EventuallyAsync(s => s.Get(Key("test/Extra", "default", "reviews-1")) is not null, "the pod's extra object");
        h.Server.Delete(ApiResource.Pods, "default", "reviews-1");
        await h.EventuallyAsync(s => s.Get(Key(RegistryKinds.Pod, "default", "reviews-1")) is null, "the deleted pod gone");
        Assert.Null(h.Current.Get(Key("test/Extra", "default", "reviews-1")));
        Assert.NotNull(h.Current.Get(Reviews));
    }

    [Fact]
    public async Task A_bookmark_moves_the_resume_point_and_is_not_translated()
    {
        await using var h = await StartAsync(server => server.Add(TestObjects.Service("default", "reviews")));
        await h.WhenReadyAsync();
        await Eventually.TrueAsync(() => h.Server.OpenWatches(ApiResource.Services) == 1, "the services watch", Bound);
        var translated = h.Translated.Count;

        var bookmark = h.Server.SendBookmark();
        // The bookmark is read before the stream ends (events and controls are sent in order); the next watch must
        // start from it.
        h.Server.EndWatches(ApiResource.Services);

        await Eventually.TrueAsync(() => h.Server.Requests.Any(r => r.Resource == ApiResource.Services && r.Watch && r.ResourceVersion == bookmark),
            $"a services watch from the bookmark's resource version {bookmark}", Bound);
        Assert.Equal(translated, h.Translated.Count);
        Assert.Equal(1, h.Server.ListCount(ApiResource.Services));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_forced_410_relists_and_changes_only_what_really_changed(bool asHttpStatus)
    {
        await using var h = await StartAsync(server =>
        {
            server.Add(TestObjects.Service("default", "reviews"));
            server.Add(TestObjects.Service("default", "ratings"));
            server.Add(TestObjects.Service("default", "details"));
        });
        await h.WhenReadyAsync();
        await Eventually.TrueAsync(() => h.Server.OpenWatches(ApiResource.Services) == 1, "the services watch", Bound);
        using var watch = h.Registry.Watch();

        // The services watch goes away; while it is away one service is added and one deleted, and the history is
        // forgotten, so resuming gets 410 and the source must list again.
        h.Server.StallWatches(ApiResource.Services);
        h.Server.Add(TestObjects.Service("default", "productpage"));
        h.Server.Delete(ApiResource.Services, "default", "details");
        h.Server.Compact();
        h.Server.FailNextWatchWithGone(ApiResource.Services, asHttpStatus);
        h.Server.DropWatches(ApiResource.Services);

        await Eventually.TrueAsync(() => h.Server.ListCount(ApiResource.Services) == 2, "the services relist", Bound);
        await h.EventuallyAsync(s => s.Get(Key(RegistryKinds.Service, "default", "productpage")) is not null
            && s.Get(Key(RegistryKinds.Service, "default", "details")) is null, "the relist written");

        using var cancel = new CancellationTokenSource(Bound);
        var (changes, _) = await watch.NextAsync(cancel.Token);
        Assert.Equal(
            [(Key(RegistryKinds.Service, "default", "details"), RegistryChangeKind.Removed), (Key(RegistryKinds.Service, "default", "productpage"), RegistryChangeKind.Added)],
            changes.Select(c => (c.Key, c.Kind)).OrderBy(c => c.Key.Name, StringComparer.Ordinal));
        Assert.NotNull(h.Current.Get(Reviews));
    }

    [Fact]
    public async Task An_api_server_restart_is_survived_with_relists_that_change_only_what_changed()
    {
        await using var h = await StartAsync(server =>
        {
            server.Add(TestObjects.Service("default", "reviews"));
            server.Add(TestObjects.Service("default", "details"));
            server.Add(TestObjects.Pod("default", "reviews-1"));
            server.Add(TestObjects.Namespace("default"));
        });
        await h.WhenReadyAsync();
        await Eventually.TrueAsync(() => h.Server.OpenWatches(ApiResource.Services) == 1 && h.Server.OpenWatches(ApiResource.Pods) == 1,
            "the watches", Bound);
        using var watch = h.Registry.Watch();

        // The restart: every watch cut, the server unavailable for a few requests, and its watch history gone (a new
        // API server answers resource versions it has not kept with 410). Meanwhile one service went away and one came.
        h.Server.StallWatches();
        h.Server.Delete(ApiResource.Services, "default", "details");
        h.Server.Add(TestObjects.Service("default", "ratings"));
        h.Server.Compact();
        h.Server.FailNextRequests(6, System.Net.HttpStatusCode.ServiceUnavailable);
        h.Server.DropWatches();

        await h.EventuallyAsync(s => s.Get(Key(RegistryKinds.Service, "default", "ratings")) is not null
            && s.Get(Key(RegistryKinds.Service, "default", "details")) is null, "the relisted services");
        await Eventually.TrueAsync(() => h.Status.Healthy, "the source to be healthy again", Bound);
        using var cancel = new CancellationTokenSource(Bound);
        var (changes, now) = await watch.NextAsync(cancel.Token);
        Assert.Equal(
            [(Key(RegistryKinds.Service, "default", "details"), RegistryChangeKind.Removed), (Key(RegistryKinds.Service, "default", "ratings"), RegistryChangeKind.Added)],
            changes.Select(c => (c.Key, c.Kind)).OrderBy(c => c.Key.Name, StringComparer.Ordinal));
        Assert.NotNull(now.Get(Reviews)); // what did not change was neither removed nor re-added
    }

    [Fact]
    public async Task A_dropped_stream_is_resumed_from_the_last_resource_version_without_a_relist()
    {
        await using var h = await StartAsync(server => server.Add(TestObjects.Service("default", "reviews")));
        await h.WhenReadyAsync();
        await Eventually.TrueAsync(() => h.Server.OpenWatches(ApiResource.Services) == 1, "the services watch", Bound);
        var last = h.Server.Add(TestObjects.Service("default", "ratings"));
        await h.EventuallyAsync(s => s.Get(Key(RegistryKinds.Service, "default", "ratings")) is not null, "ratings");

        h.Server.DropWatches(ApiResource.Services);
        h.Server.Add(TestObjects.Service("default", "details"));

        await h.EventuallyAsync(s => s.Get(Key(RegistryKinds.Service, "default", "details")) is not null, "details, added while the stream was down");
        Assert.Equal(1, h.Server.ListCount(ApiResource.Services));
        Assert.Contains(h.Server.Requests, r => r.Resource == ApiResource.Services && r.Watch && r.ResourceVersion == last);
    }

    [Fact]
    public async Task A_stalled_watch_is_ended_by_the_watchdog_and_resumed()
    {
        await using var h = await StartAsync(
            server => server.Add(TestObjects.Service("default", "reviews")),
            options => options.WatchdogTimeout = TimeSpan.FromSeconds(1.5));
        await h.WhenReadyAsync();
        await Eventually.TrueAsync(() => h.Server.OpenWatches(ApiResource.Services) == 1, "the services watch", Bound);

        h.Server.StallWatches(ApiResource.Services);
        h.Server.Add(TestObjects.Service("default", "ratings"));

        await h.EventuallyAsync(s => s.Get(Key(RegistryKinds.Service, "default", "ratings")) is not null, "ratings, sent after the stall");
        Assert.Contains(h.Logs.Entries, e => e.EventId.Id == 2283 && e.Message.Contains("services", StringComparison.Ordinal));
        Assert.Equal(1, h.Server.ListCount(ApiResource.Services));
    }

    [Fact]
    public async Task An_api_server_answering_500_then_429_is_retried_while_unhealthy_and_recovers()
    {
        var sawUnhealthy = false;
        await using var h = await StartAsync(
            server => server.FailNextRequests(30, HttpStatusCode.InternalServerError),
            options => (options.InitialBackoff, options.MaxBackoff) = (TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(400)));

        await Eventually.TrueAsync(() => !h.Status.Healthy && h.Status.Message.Contains("failing", StringComparison.Ordinal), "unhealthy while lists fail", Bound);
        Assert.False(h.Status.Ready);
        await h.WhenReadyAsync();
        await Eventually.TrueAsync(() => h.Status.Healthy, "healthy after the failures", Bound);

        // Once ready: the services watch ends and the server answers 429 for a while.
        await Eventually.TrueAsync(() => h.Server.OpenWatches(ApiResource.Services) == 1, "the services watch", Bound);
        h.Server.FailNextRequests(4, HttpStatusCode.TooManyRequests);
        h.Server.EndWatches(ApiResource.Services);
        await Eventually.TrueAsync(() => sawUnhealthy |= !h.Status.Healthy && h.Status.Message.Contains("services", StringComparison.Ordinal),
            "unhealthy, naming services", Bound);

        var added = h.Server.Add(TestObjects.Service("default", "reviews"));
        await h.EventuallyAsync(s => s.Get(Reviews)?.ResourceVersion == added, "a service added after the failures");
        await Eventually.TrueAsync(() => h.Status.Healthy && h.Status.Ready, "healthy again", Bound);
        Assert.Contains(h.Logs.Entries, e => e.EventId.Id == 2284);
    }

    [Fact]
    public async Task An_uninstalled_CRD_is_reported_once_and_does_not_hold_back_readiness()
    {
        await using var h = await StartAsync(server => server.Add(TestObjects.VirtualService("default", "route")));
        await h.WhenReadyAsync();

        Assert.True(h.Status.Healthy, h.Status.ToString());
        Assert.Contains("not installed", h.Status.Message, StringComparison.Ordinal);
        Assert.Contains("networking.istio.io/v1 destinationrules", h.Status.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("virtualservices", h.Status.Message, StringComparison.Ordinal);
        Assert.NotNull(h.Current.Get(Key("networking.istio.io/VirtualService", "default", "route")));

        // Later activity does not bring the missing kinds back into a retry loop.
        var added = h.Server.Add(TestObjects.Service("default", "reviews"));
        await h.EventuallyAsync(s => s.Get(Reviews)?.ResourceVersion == added, "a later service");
        var reports = h.Logs.Entries.Where(e => e.EventId.Id == 2285).Select(e => e.Message).ToList();
        Assert.Equal(8, reports.Count);
        Assert.Equal(8, reports.Distinct().Count());
    }

    [Fact]
    public async Task Namespace_and_label_selectors_limit_what_is_held()
    {
        var cart = new Dictionary<string, string> { ["app"] = "cart" };
        await using var h = await StartAsync(
            server =>
            {
                server.Add(TestObjects.Namespace("shop"));
                server.Add(TestObjects.Namespace("default"));
                server.Add(TestObjects.Node("node-1"));
                server.Add(TestObjects.Service("shop", "cart", cart));
                server.Add(TestObjects.Service("shop", "other", new Dictionary<string, string> { ["app"] = "other" }));
                server.Add(TestObjects.Service("default", "cart", cart));
            },
            options =>
            {
                options.Namespaces.Add("shop");
                options.LabelSelector = "app=cart";
            });
        await h.WhenReadyAsync();

        Assert.Equal(
            ["Namespace//shop", "Node//node-1", "Service/shop/cart"],
            h.Current.OfKind("Namespace").Concat(h.Current.OfKind("Node")).Concat(h.Current.OfKind(RegistryKinds.Service))
                .Select(o => $"{o.Key.Kind}/{o.Key.Namespace}/{o.Key.Name}").Order(StringComparer.Ordinal));
        Assert.All(h.Server.Requests.Where(r => r.Resource == ApiResource.Services), r => Assert.Equal("shop", r.Namespace));

        // Live: an object labelled out of the selection goes; one outside the namespaces never comes.
        h.Server.Add(TestObjects.Service("default", "late", cart));
        h.Server.Update(TestObjects.Service("shop", "cart", new Dictionary<string, string> { ["app"] = "moved" }));
        var last = h.Server.Add(TestObjects.Service("shop", "late", cart));
        await h.EventuallyAsync(s => s.Get(Key(RegistryKinds.Service, "shop", "late"))?.ResourceVersion == last, "shop/late");
        Assert.Null(h.Current.Get(Key(RegistryKinds.Service, "shop", "cart")));
        Assert.Null(h.Current.Get(Key(RegistryKinds.Service, "default", "late")));
    }

    [Fact]
    public async Task Duplicate_events_change_nothing_and_a_malformed_line_is_survived_without_a_relist()
    {
        await using var h = await StartAsync();
        await h.WhenReadyAsync();
        await Eventually.TrueAsync(() => h.Server.OpenWatches(ApiResource.Services) == 1, "the services watch", Bound);
        using var watch = h.Registry.Watch();

        h.Server.DuplicateEvents = true;
        var added = h.Server.Add(TestObjects.Service("default", "reviews"));
        await h.EventuallyAsync(s => s.Get(Reviews)?.ResourceVersion == added, "reviews");
        var generation = h.Current.Generation;
        h.Server.DuplicateEvents = false;

        h.Server.SendMalformedLine();
        var after = h.Server.Add(TestObjects.Service("default", "ratings"));
        await h.EventuallyAsync(s => s.Get(Key(RegistryKinds.Service, "default", "ratings"))?.ResourceVersion == after, "ratings, after the bad line");

        Assert.Equal(generation + 1, h.Current.Generation);
        Assert.Equal(1, h.Server.ListCount(ApiResource.Services));
        await Eventually.TrueAsync(() => h.Status.Healthy, "healthy after the bad line", Bound);
    }
}
