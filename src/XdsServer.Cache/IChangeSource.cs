using System.Diagnostics.CodeAnalysis;
using Envoy.Config.Core.V3;

namespace XdsServer.Cache;

/// <summary>
/// A cache that signals "this type changed" instead of answering watches: a stream subscribes once per type and,
/// when signalled, computes its own response (<see cref="ClientState.Answer"/>) from its own state against the set in
/// force when it is ready to send (docs/architecture.md, "The data path"). An update then costs the setter one signal
/// per subscribed stream, and a slow stream skips the versions it missed.
/// </summary>
/// <remarks><see cref="SnapshotCache"/>, <see cref="LinearCache"/> and <see cref="MuxCache"/> implement it. A cache that
/// does not is served through <see cref="IConfigWatcher.CreateWatch"/>, as before.</remarks>
public interface IChangeSource
{
    /// <summary>
    /// Subscribes to changes of <paramref name="typeUrl"/>'s resource set for <paramref name="node"/>.
    /// <paramref name="changed"/> is called (never under a cache lock, possibly on the updating thread) each time the
    /// set changes, and once when a set of the type first exists after the subscription; it must be cheap and must
    /// not block: set a flag and wake the stream. It is not called for the set in force when subscribing: read that
    /// with <see cref="IChangeRegistration.TryGetCurrent"/>.
    /// </summary>
    /// <param name="node">The node of the stream.</param>
    /// <param name="typeUrl">The type URL (one the cache serves).</param>
    /// <param name="changed">Called when the set changes.</param>
    /// <returns>The registration (dispose it to stop the signals), or null when this source cannot signal the type
    /// (a <see cref="MuxCache"/> routing it to a cache that only answers watches): use
    /// <see cref="IConfigWatcher.CreateWatch"/> then.</returns>
    /// <exception cref="ArgumentException">The cache does not serve the type.</exception>
    IChangeRegistration? Subscribe(Node node, string typeUrl, Action changed);
}

/// <summary>A subscription to one type's changes (<see cref="IChangeSource.Subscribe"/>): reads the current set.</summary>
public interface IChangeRegistration : IDisposable
{
    /// <summary>Reads the set of the subscribed type in force now, without a lock.</summary>
    /// <param name="resources">The current set.</param>
    /// <param name="snapshot">The snapshot <paramref name="resources"/> belongs to, when the cache serves whole snapshots
    /// (see <see cref="WatchResponse.Snapshot"/>); null from a cache of one type.</param>
    /// <returns>False when there is no set of the type yet (no snapshot, or a snapshot without the type).</returns>
    bool TryGetCurrent([NotNullWhen(true)] out ResourceSet? resources, out Snapshot? snapshot);
}
