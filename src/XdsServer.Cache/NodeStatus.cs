using Envoy.Config.Core.V3;

namespace XdsServer.Cache;

/// <summary>What a cache knows of one node group right now.</summary>
/// <param name="Group">The group key.</param>
/// <param name="Node">The node last seen in this group, if any.</param>
/// <param name="OpenStreams">Streams open for the group (as counted by <see cref="IConfigWatcher.TrackStream"/>).</param>
/// <param name="OpenWatches">Watches waiting for a change.</param>
/// <param name="LastRequestTime">When a watch was last opened for the group.</param>
/// <param name="SnapshotVersions">Type URL → version of the group's snapshot; empty without one.</param>
public sealed record NodeStatus(
    string Group,
    Node? Node,
    int OpenStreams,
    int OpenWatches,
    DateTimeOffset? LastRequestTime,
    IReadOnlyDictionary<string, string> SnapshotVersions);
