using System.Collections.Immutable;

namespace XdsServer.Cache;

/// <summary>
/// What the server knows about one client for one resource type on one stream: what it subscribes to, and
/// which version of each resource it holds (as far as the server sent or was told). Immutable: a stream
/// applies each request (<see cref="ApplySotwRequest"/>, <see cref="ApplyDeltaRequest"/>) and each
/// response it sends (<see cref="ApplyResponse"/>), in order, and watches compute responses against it.
/// </summary>
/// <remarks>
/// Compact by design: the versions the client holds are "everything in the set last sent" plus a small
/// set of per-name exceptions, so a stream holds one reference per type rather than a name → version map,
/// and what changed since the last response is read from the set's change history in O(changed).
/// A NACK changes nothing here: the client keeps its old config, and a rejected version is never re-sent;
/// the next change is.
/// </remarks>
public sealed class ClientState
{
    /// <summary>Marks a name whose resource the client is known not to hold (and was told of, in delta).</summary>
    internal const string Absent = "";

    private static readonly ImmutableDictionary<string, XdsResource> NoneKept =
        ImmutableDictionary.Create<string, XdsResource>(StringComparer.Ordinal);

    private ClientState(ResourceType type, bool isDelta, Subscription subscription, ResourceSet? baseline,
        ImmutableDictionary<string, string?> overrides, string? reconnectVersion, int requests,
        ImmutableDictionary<string, XdsResource>? kept = null)
    {
        Kept = kept ?? NoneKept;
        Type = type;
        IsDelta = isDelta;
        Subscription = subscription;
        Baseline = baseline;
        Overrides = overrides;
        ReconnectVersion = reconnectVersion;
        Requests = requests;
    }

    /// <summary>A state-of-the-world client that has sent nothing yet.</summary>
    public static ClientState ForSotw(ResourceType type) => Create(type, isDelta: false);

    /// <summary>A delta (incremental) client that has sent nothing yet.</summary>
    public static ClientState ForDelta(ResourceType type) => Create(type, isDelta: true);

    /// <summary>The resource type.</summary>
    public ResourceType Type { get; }

    /// <summary>True for the delta (incremental) protocol, false for state of the world.</summary>
    public bool IsDelta { get; }

    /// <summary>What the client subscribes to.</summary>
    public Subscription Subscription { get; }

    /// <summary>Number of requests that changed this state (an ACK that changes nothing is not counted).</summary>
    public int Requests { get; }

    /// <summary>The set the client was last brought up to date with: it holds every subscribed resource of
    /// this set, at this set's version, except where <see cref="Overrides"/> says otherwise.</summary>
    internal ResourceSet? Baseline { get; }

    /// <summary>Per-name exceptions to <see cref="Baseline"/>: a version the client holds, <see cref="Absent"/>,
    /// or null for "unknown: send the resource, or in delta its removal". Without a baseline, every name that
    /// has no exception is unknown.</summary>
    internal ImmutableDictionary<string, string?> Overrides { get; }

    /// <summary>Resources whose removal was deferred (<see cref="WatchResponse.Retaining"/>), by name.</summary>
    internal ImmutableDictionary<string, XdsResource> Kept { get; }

    /// <summary>The version a reconnecting SotW wildcard client says it has (its first request's version_info).</summary>
    internal string? ReconnectVersion { get; }

    /// <summary>The version of <paramref name="name"/> the client holds, or null when it holds none.</summary>
    public string? GetVersion(string name)
    {
        var version = GetRaw(name);
        return string.IsNullOrEmpty(version) ? null : version;
    }

    /// <summary>Applies a state-of-the-world request (an ACK, a NACK or a new subscription). Names newly
    /// requested are sent again even if the client had them ("the server must resend any newly requested
    /// resources"). Returns this same instance when nothing changed.</summary>
    /// <param name="resourceNames">The request's resource_names: the complete subscription.</param>
    /// <param name="versionInfo">The request's version_info; on a first request it tells what a reconnecting
    /// wildcard client already has.</param>
    public ClientState ApplySotwRequest(IReadOnlyCollection<string> resourceNames, string? versionInfo = null)
    {
        ArgumentNullException.ThrowIfNull(resourceNames);
        EnsureMode(sotw: true);
        var subscription = Subscription.ApplySotw(resourceNames, Type.SupportsLegacyWildcard, out var added, out var removed);
        var reconnect = Requests == 0 && !string.IsNullOrEmpty(versionInfo) ? versionInfo : ReconnectVersion;
        if (ReferenceEquals(subscription, Subscription) && Requests > 0)
        {
            return this;
        }

        var (baseline, overrides) = subscription.IsWildcard && !Subscription.IsWildcard && Requests > 0
            ? Detach()
            : (Baseline, Overrides);
        var builder = overrides.ToBuilder();
        foreach (var name in removed)
        {
            if (!subscription.Covers(name))
            {
                builder.Remove(name); // no longer subscribed: what the client holds of it no longer matters
            }
        }

        // With a baseline, a newly requested name the baseline has would count as held: mark it unknown so it is
        // sent ("the server must resend any newly requested resources"). Without one nothing counts as held.
        if (baseline is not null)
        {
            foreach (var name in added)
            {
                builder[name] = null;
            }
        }

        return new ClientState(Type, IsDelta, subscription, baseline, builder.ToImmutable(), reconnect, Requests + 1, Kept);
    }

    /// <summary>Applies a delta request. Every name in <paramref name="subscribe"/> is sent (or reported
    /// removed) even if the client seems to have it, as the protocol requires; on the first request,
    /// <paramref name="initialResourceVersions"/> says what a reconnecting client already holds.</summary>
    public ClientState ApplyDeltaRequest(IReadOnlyCollection<string> subscribe, IReadOnlyCollection<string> unsubscribe,
        IReadOnlyDictionary<string, string>? initialResourceVersions = null)
    {
        ArgumentNullException.ThrowIfNull(subscribe);
        ArgumentNullException.ThrowIfNull(unsubscribe);
        EnsureMode(sotw: false);
        var subscription = Subscription.ApplyDelta(subscribe, unsubscribe, Type.SupportsLegacyWildcard,
            out var subscribed, out var unsubscribed);
        var first = Requests == 0;
        if (ReferenceEquals(subscription, Subscription) && subscribed.Count == 0 && !first)
        {
            return this;
        }

        var (baseline, overrides) = subscription.IsWildcard && !Subscription.IsWildcard && !first
            ? Detach()
            : (Baseline, Overrides);
        var builder = overrides.ToBuilder();
        if (first && initialResourceVersions is not null)
        {
            foreach (var (name, version) in initialResourceVersions)
            {
                builder[name] = string.IsNullOrEmpty(version) ? null : version;
            }
        }

        foreach (var name in unsubscribed)
        {
            // Still covered by the wildcard: the client cannot tell whether to keep it, so the server must
            // send it again (or its removal). Otherwise the name no longer matters.
            if (subscription.IsWildcard)
            {
                builder[name] = null;
            }
            else
            {
                builder.Remove(name);
            }
        }

        // Without a baseline every name not among the exceptions is unknown already (GetRaw).
        if (baseline is not null)
        {
            foreach (var name in subscribed)
            {
                builder[name] = null;
            }
        }

        return new ClientState(Type, IsDelta, subscription, baseline, builder.ToImmutable(), null, Requests + 1, Kept);
    }

    /// <summary>Records that <paramref name="response"/> was sent: the client now holds what it carried.</summary>
    /// <exception cref="InvalidOperationException">The response was computed from another state: a stream
    /// must drop a pending response once a newer request changed its state, and compute a new one.</exception>
    public ClientState ApplyResponse(WatchResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (!ReferenceEquals(response.State, this))
        {
            throw new InvalidOperationException(
                $"The {Type.ShortName} response was computed from another state of this client; compute a new one.");
        }

        // Every subscribed name now matches the response's source set (the response carried every
        // difference), so the set becomes the baseline; only deferred removals remain as exceptions.
        var overrides = ImmutableDictionary.Create<string, string?>(StringComparer.Ordinal);
        var kept = NoneKept;
        if (response.Retained.Count > 0)
        {
            overrides = overrides.AddRange(response.Retained.Select(r => KeyValuePair.Create(r.Name, (string?)r.Version)));
            kept = kept.AddRange(response.Retained.Select(r => KeyValuePair.Create(r.Name, r)));
        }

        return new ClientState(Type, IsDelta, Subscription, response.Source, overrides, null, Requests, kept);
    }

    /// <summary>Every resource the client holds (as far as the server sent or was told), with the resource
    /// itself when the server still has that version at hand.</summary>
    public IEnumerable<HeldResource> HeldResources()
    {
        foreach (var (name, version) in Overrides)
        {
            if (!string.IsNullOrEmpty(version) && Subscription.Covers(name))
            {
                yield return new HeldResource(name, version, GetHeld(name));
            }
        }

        if (Baseline is null)
        {
            yield break;
        }

        foreach (var resource in Baseline.Sorted)
        {
            if (!Overrides.ContainsKey(resource.Name) && Subscription.Covers(resource.Name))
            {
                yield return new HeldResource(resource.Name, resource.Version, resource);
            }
        }
    }

    /// <summary>The resource the client holds under <paramref name="name"/>, when the server knows it.</summary>
    internal XdsResource? GetHeld(string name)
    {
        var version = GetRaw(name);
        if (string.IsNullOrEmpty(version))
        {
            return null;
        }

        if (Kept.TryGetValue(name, out var kept) && kept.Version == version)
        {
            return kept;
        }

        return Baseline is not null && Baseline.TryGet(name, out var resource) && resource.Version == version ? resource : null;
    }

    /// <summary>The raw client version: a version, <see cref="Absent"/>, or null (unknown).</summary>
    internal string? GetRaw(string name)
    {
        if (Overrides.TryGetValue(name, out var version))
        {
            return version;
        }

        if (Baseline is null)
        {
            // Nothing received yet for this type (or the baseline was detached into exceptions): a name not among
            // the exceptions is unknown, to be sent or, in delta, reported removed.
            return null;
        }

        return Subscription.Covers(name) && Baseline.TryGet(name, out var resource) ? resource.Version : Absent;
    }

    /// <summary>
    /// Before a wildcard is added, the baseline only speaks for the names subscribed so far: turn those into
    /// explicit exceptions and drop the baseline, so resources the client never had are sent.
    /// </summary>
    private (ResourceSet?, ImmutableDictionary<string, string?>) Detach()
    {
        var builder = Overrides.ToBuilder();
        if (Baseline is not null)
        {
            foreach (var name in Subscription.Names)
            {
                if (!builder.ContainsKey(name))
                {
                    builder[name] = Baseline.TryGet(name, out var resource) ? resource.Version : Absent;
                }
            }
        }

        return (null, builder.ToImmutable());
    }

    private void EnsureMode(bool sotw)
    {
        if (sotw == IsDelta)
        {
            throw new InvalidOperationException(
                $"This {Type.ShortName} client state is for {(IsDelta ? "delta" : "state-of-the-world")} requests.");
        }
    }

    private static ClientState Create(ResourceType type, bool isDelta)
    {
        ArgumentNullException.ThrowIfNull(type);
        return new ClientState(type, isDelta, Subscription.None, null,
            ImmutableDictionary.Create<string, string?>(StringComparer.Ordinal), null, 0);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{(IsDelta ? "delta" : "sotw")} {Type.ShortName} [{Subscription}] baseline v{Baseline?.Version ?? "-"} +{Overrides.Count}";
}

/// <summary>A resource a client holds.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Version">The version the client holds.</param>
/// <param name="Resource">That version of the resource, when the server still has it at hand.</param>
public readonly record struct HeldResource(string Name, string Version, XdsResource? Resource);
