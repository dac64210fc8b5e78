namespace XdsServer.Cache.Tests;

/// <summary>Opens watches the way a stream does, and captures what they answer.</summary>
internal sealed class Probe : IDisposable
{
    private readonly TaskCompletionSource<WatchResponse> _response = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly IDisposable _watch;

    private Probe(ICache cache, WatchRequest request)
    {
        _watch = cache.CreateWatch(request, r =>
        {
            if (!_response.TrySetResult(r))
            {
                throw new InvalidOperationException("A one-shot watch answered twice.");
            }
        });
    }

    /// <summary>Opens a watch; it may already be answered on return.</summary>
    public static Probe Open(ICache cache, string nodeId, ClientState state) =>
        new(cache, new WatchRequest(Fixtures.Node(nodeId), state));

    /// <summary>What the cache answers right away for this state, or null when the watch waits.</summary>
    public static WatchResponse? Now(ICache cache, string nodeId, ClientState state)
    {
        using var probe = Open(cache, nodeId, state);
        return probe.Response;
    }

    public WatchResponse? Response => _response.Task.IsCompleted ? _response.Task.Result : null;

    public async Task<WatchResponse> WaitAsync(string what)
    {
        try
        {
            return await _response.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"No response within 10 s: {what}");
        }
    }

    public void Dispose() => _watch.Dispose();
}

internal static class Names
{
    public static string[] Of(WatchResponse response) => [.. response.Resources.Select(r => r.Name)];
}
