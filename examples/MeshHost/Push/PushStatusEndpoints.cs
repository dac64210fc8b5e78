using MeshHost.Hosting;

namespace MeshHost.Push;

/// <summary>Maps <c>/debug/push_status</c>: the push pipeline's last push (reason, changed keys, proxies pushed and
/// skipped, duration) and its totals, as JSON. Loopback callers only, as the other debug endpoints
/// (<see cref="DebugEndpoints.IsAllowed"/>).</summary>
public static class PushStatusEndpoints
{
    /// <summary>The path.</summary>
    public const string Path = "/debug/push_status";

    /// <summary>Maps <see cref="Path"/>.</summary>
    /// <param name="endpoints">The host's endpoints.</param>
    /// <returns>The endpoint's builder.</returns>
    public static RouteHandlerBuilder MapPushStatus(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapGet(Path, (MeshPublisher publisher) =>
        {
            var status = publisher.Status;
            return Results.Json(new
            {
                last = status.Last is { } last
                    ? new
                    {
                        sequence = last.Sequence,
                        generation = last.Generation,
                        reason = last.Reason,
                        changedKeys = last.ChangedKeys,
                        proxiesPushed = last.ProxiesPushed,
                        proxiesSkipped = last.ProxiesSkipped,
                        full = last.Full,
                        routes = last.Routes,
                        eds = last.Endpoints,
                        debounceMs = last.DebounceMilliseconds,
                        durationMs = last.DurationMilliseconds,
                        at = last.At,
                    }
                    : null,
                totals = new
                {
                    pushes = status.Pushes,
                    proxiesPushed = status.ProxiesPushed,
                    proxiesSkipped = status.ProxiesSkipped,
                    byType = status.ByType,
                    byReason = status.ByReason,
                },
                pendingChanges = status.PendingChanges,
                connectedProxies = publisher.Proxies.Count,
            });
        }).AddEndpointFilter(DebugEndpoints.LocalOnly);
    }
}
