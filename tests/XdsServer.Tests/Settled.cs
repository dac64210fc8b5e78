namespace XdsServer.Tests;

/// <summary>Awaited server state, instead of a quiet window, to show that nothing was (or will be) sent.</summary>
internal static class Settled
{
    /// <summary>Waits until <paramref name="node"/> has <paramref name="watches"/> open cache watches and no stream of the
    /// server holds a pending or held answer, once <paramref name="applied"/> says the client's last request was
    /// applied. An open watch has not answered: nothing is on its way to the client.</summary>
    public static async Task WatchingAsync(LoopbackXdsServer server, string node, int watches, Func<IReadOnlyList<XdsTypeStatus>, bool> applied, string what)
    {
        try
        {
            await Eventually.TrueAsync(() =>
                server.Status.GetStreams() is [var stream] && applied(stream.Types)
                && stream.Types.All(t => t.PendingResponses == 0 && !t.HeldForOrdering)
                && server.Snapshots.GetStatus(node) is { } status && status.OpenWatches == watches,
                what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; open watches {server.Snapshots.GetStatus(node)?.OpenWatches}, server state now:\n{server.Describe()}", e);
        }
    }
}
