using System.Text.Json;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using XdsServer.Internal;

namespace XdsServer.Kubernetes.Internal;

/// <summary>
/// Lists and watches one kind (in one namespace, or all): list, then watch from the list's resource version with
/// bookmarks, writing each event to <see cref="SourceObjects"/>. A watch that ends, or whose stream breaks after
/// it delivered something, is resumed from the last resource version seen (an event's or a bookmark's); 410 Gone
/// lists again and replaces the kind as a whole; a watch that sends nothing for the watchdog timeout is ended and
/// resumed; failures back off with jitter; a custom kind that is not served is checked again only now and then.
/// </summary>
internal sealed class ResourceInformer
{
    private readonly KubernetesApi _api;
    private readonly WatchedKind _kind;
    private readonly string? _namespace;
    private readonly string? _labelSelector;
    private readonly Func<IKubernetesObject<V1ObjectMeta>, bool> _holds;
    private readonly SourceObjects _objects;
    private readonly SourceHealth _health;
    private readonly KubernetesDiscoveryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Backoff _backoff;
    private string? _resourceVersion;
    private bool _reportedMissing;

    public ResourceInformer(KubernetesApi api, WatchedKind kind, string? ns, Func<IKubernetesObject<V1ObjectMeta>, bool> holds,
        SourceObjects objects, SourceHealth health, KubernetesDiscoveryOptions options, TimeProvider time, ILogger logger)
    {
        _api = api;
        _kind = kind;
        _namespace = ns;
        _labelSelector = kind.LabelSelected && !string.IsNullOrWhiteSpace(options.LabelSelector) ? options.LabelSelector : null;
        _holds = holds;
        _objects = objects;
        _health = health;
        _options = options;
        _time = time;
        _logger = logger;
        _backoff = new Backoff(options.InitialBackoff, options.MaxBackoff);
        Name = NameOf(kind, ns);
    }

    private enum WatchOutcome
    {
        Resume,
        Relist,
    }

    /// <summary>The kind (and namespace), as logs and the source's status name it.</summary>
    public string Name { get; }

    private string Source => _options.Name;

    /// <summary>How an informer of <paramref name="kind"/> in <paramref name="ns"/> (or all) is named.</summary>
    public static string NameOf(WatchedKind kind, string? ns) => ns is null ? kind.ToString() : $"{kind} in {ns}";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (_resourceVersion is null)
                {
                    await ListAsync(cancellationToken).ConfigureAwait(false);
                }

                if (await WatchAsync(_resourceVersion!, cancellationToken).ConfigureAwait(false) == WatchOutcome.Relist)
                {
                    _resourceVersion = null;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (KubernetesApiException e) when (e.StatusCode == 404 && _kind.Optional)
            {
                _resourceVersion = null;
                if (!_reportedMissing)
                {
                    _reportedMissing = true;
                    KubernetesLog.KindNotInstalled(_logger, Source, Name, _options.MissingKindRetry);
                    _health.Missing(Name);
                }

                await DelayAsync(_options.MissingKindRetry, cancellationToken).ConfigureAwait(false);
            }
            catch (KubernetesApiException e) when (e.IsGone)
            {
                KubernetesLog.Relisting(_logger, Source, Name, _resourceVersion ?? string.Empty);
                _resourceVersion = null;
            }
            catch (Exception e) when (e is KubernetesApiException or HttpRequestException or IOException or JsonException
                or NotSupportedException or OperationCanceledException)
            {
                // A failed list or watch, a broken stream before anything arrived, a line that is not an event, a
                // request timeout: back off, then resume (or list, if the list itself failed).
                var delay = _backoff.Next();
                _health.Failed(Name, e.Message);
                KubernetesLog.KindFailed(_logger, e, Source, Name, delay);
                await DelayAsync(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task ListAsync(CancellationToken cancellationToken)
    {
        var (resourceVersion, items) = await _api.ListAsync(_kind, _namespace, _labelSelector, cancellationToken).ConfigureAwait(false);
        _objects.Replace(Name, _kind.RegistryKind, items.Where(_holds));
        _resourceVersion = resourceVersion;
        _backoff.Reset();
        if (_reportedMissing || _health.IsFailing(Name))
        {
            KubernetesLog.KindRecovered(_logger, Source, Name);
        }

        _reportedMissing = false;
        _health.Listed(Name);
        KubernetesLog.Listed(_logger, Source, items.Count, Name, resourceVersion);
    }

    private async Task<WatchOutcome> WatchAsync(string resourceVersion, CancellationToken cancellationToken)
    {
        // Like client-go, the server ends each watch after 5 to 10 minutes, and it is resumed from where it was.
#pragma warning disable CA5394 // Spreading, not security.
        var timeoutSeconds = 300 + Random.Shared.Next(300);
#pragma warning restore CA5394
        using var watchdog = new CancellationTokenSource(_options.WatchdogTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, watchdog.Token);
        var received = 0;
        try
        {
            using var response = await _api.WatchAsync(_kind, _namespace, _labelSelector, resourceVersion, timeoutSeconds, linked.Token).ConfigureAwait(false);
            if (_health.IsFailing(Name))
            {
                KubernetesLog.KindRecovered(_logger, Source, Name);
                _health.Working(Name);
            }

            var stream = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var reader = new StreamReader(stream);
                while (true)
                {
                    string? line;
                    try
                    {
                        line = await reader.ReadLineAsync(linked.Token).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is IOException or HttpRequestException && received > 0)
                    {
                        KubernetesLog.StreamBroke(_logger, e, Source, Name, _resourceVersion!);
                        return WatchOutcome.Resume;
                    }

                    if (line is null)
                    {
                        KubernetesLog.WatchEnded(_logger, Source, Name, _resourceVersion!);
                        return WatchOutcome.Resume;
                    }

                    watchdog.CancelAfter(_options.WatchdogTimeout);
                    if (line.Length == 0)
                    {
                        continue;
                    }

                    received++;
                    if (Handle(line) is { } outcome)
                    {
                        return outcome;
                    }

                    _backoff.Reset();
                }
            }
        }
        catch (OperationCanceledException) when (watchdog.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            KubernetesLog.WatchdogFired(_logger, Source, Name, _options.WatchdogTimeout, _resourceVersion!);
            return WatchOutcome.Resume;
        }
    }

    // One watch event; an outcome when the watch must end.
    private WatchOutcome? Handle(string line)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        var type = root.GetProperty("type").GetString();
        var json = root.GetProperty("object");
        switch (type)
        {
            case "ADDED" or "MODIFIED" or "DELETED":
                var obj = _kind.Parse(json);
                if (type == "DELETED" || !_holds(obj))
                {
                    _objects.Delete(Name, obj);
                }
                else
                {
                    _objects.Upsert(Name, obj);
                }

                _resourceVersion = obj.Metadata.ResourceVersion ?? _resourceVersion;
                return null;
            case "BOOKMARK":
                if (json.TryGetProperty("metadata", out var metadata) && metadata.TryGetProperty("resourceVersion", out var rv) && rv.GetString() is { Length: > 0 } bookmark)
                {
                    _resourceVersion = bookmark;
                }

                return null;
            case "ERROR":
                var status = KubernetesJson.Deserialize<V1Status>(json.GetRawText());
                if (status?.Code == 410)
                {
                    KubernetesLog.Relisting(_logger, Source, Name, _resourceVersion!);
                    return WatchOutcome.Relist;
                }

                throw new KubernetesApiException(status?.Code ?? 500, $"watch error: {status?.Message ?? json.GetRawText()}");
            default:
                throw new JsonException($"unknown watch event type '{type}'");
        }
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}
