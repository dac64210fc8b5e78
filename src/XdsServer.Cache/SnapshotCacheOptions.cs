using System.Diagnostics.Metrics;

namespace XdsServer.Cache;

/// <summary>Options of a <see cref="SnapshotCache"/>.</summary>
public sealed class SnapshotCacheOptions
{
    /// <summary>Refuse snapshots whose references do not resolve (see <see cref="Snapshot.Validate"/>),
    /// throwing <see cref="InvalidSnapshotException"/> and keeping the previous snapshot. Default: true.</summary>
    public bool RejectInvalidSnapshots { get; set; } = true;

    /// <summary>When set, a group's snapshot is dropped once the group has had no open stream for this long
    /// (and its snapshot was not set again). Null (the default) keeps snapshots until cleared.</summary>
    public TimeSpan? IdleSnapshotTimeout { get; set; }

    /// <summary>The node-to-group mapping; <see cref="NodeHash.ById"/> by default.</summary>
    public INodeHash NodeHash { get; set; } = Cache.NodeHash.ById;

    /// <summary>Makes the cache's meter <c>XdsServer.Cache</c> (snapshots set and rejected, watches answered). Null
    /// (the default) records no metrics: there is no process-wide meter, so caches of two hosts in one process never
    /// count into each other's series. <c>AddSnapshotCache()</c> sets the host's <see cref="IMeterFactory"/> when this
    /// is null; a cache made with <c>new</c> gets metrics by setting it, e.g. to
    /// <c>app.Services.GetRequiredService&lt;IMeterFactory&gt;()</c>.</summary>
    public IMeterFactory? MeterFactory { get; set; }
}
