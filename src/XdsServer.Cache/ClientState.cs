using XdsServer.Cache.Internal;

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
    private static readonly KnownResources NoExceptions = KnownResources.Empty;

    private ClientState(ResourceType type, bool isDelta, Subscription subscription, ResourceSet? baseline,
        KnownResources exceptions, string? reconnectVersion, int requests)
    {
        Type = type;
        IsDelta = isDelta;
        Subscription = subscription;
        Baseline = baseline;
        Exceptions = exceptions;
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
    /// this set, at this set's version, except where <see cref="Exceptions"/> says otherwise.</summary>
    internal ResourceSet? Baseline { get; }

    /// <summary>Per-name exceptions to <see cref="Baseline"/>: held (at a version; with the resource when its
    /// removal was deferred, <see cref="WatchResponse.Retaining"/>), absent, or unknown ("send the resource, or in
    /// delta its removal"). Without a baseline, every name that has no exception is unknown.</summary>
    internal KnownResources Exceptions { get; }

    /// <summary>The version a reconnecting SotW wildcard client says it has (its first request's version_info).</summary>
    internal string? ReconnectVersion { get; }

    /// <summary>The version of <paramref name="name"/> the client holds, or null when it holds none.</summary>
    public string? GetVersion(string name)
    {
        var known = Known(name);
        return known.IsHeld ? known.Version : null;
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

        var (baseline, exceptions) = subscription.IsWildcard && !Subscription.IsWildcard && Requests > 0
            ? Detach()
            : (Baseline, Exceptions);
        var builder = exceptions.ToBuilder();
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
                builder[name] = KnownResource.Unknown;
            }
        }

        return new ClientState(Type, IsDelta, subscription, baseline, KnownResources.From(builder), reconnect, Requests + 1);
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

        var (baseline, exceptions) = subscription.IsWildcard && !Subscription.IsWildcard && !first
            ? Detach()
            : (Baseline, Exceptions);
        var builder = exceptions.ToBuilder(first ? initialResourceVersions?.Count ?? 0 : 0);
        if (first && initialResourceVersions is not null)
        {
            foreach (var (name, version) in initialResourceVersions)
            {
                builder[name] = string.IsNullOrEmpty(version) ? KnownResource.Unknown : KnownResource.Held(version);
            }
        }

        foreach (var name in unsubscribed)
        {
            // Still covered by the wildcard: the client cannot tell whether to keep it, so the server must
            // send it again (or its removal). Otherwise the name no longer matters.
            if (subscription.IsWildcard)
            {
                builder[name] = KnownResource.Unknown;
            }
            else
            {
                builder.Remove(name);
            }
        }

        // Without a baseline every name not among the exceptions is unknown already (Known).
        if (baseline is not null)
        {
            foreach (var name in subscribed)
            {
                builder[name] = KnownResource.Unknown;
            }
        }

        return new ClientState(Type, IsDelta, subscription, baseline, KnownResources.From(builder), null, Requests + 1);
    }

    /// <summary>
    /// Applies the first delta request of a stream whose client says what it already holds (a reconnect's
    /// <paramref name="initialResourceVersions"/>), measured against <paramref name="current"/>, the set in force:
    /// what the client holds at that set's versions becomes the state's baseline and only the names that differ are
    /// kept one by one. The answers are those of <see cref="ApplyDeltaRequest"/> with the same versions (nothing the
    /// client holds at the current version is sent again; what it lacks, holds at another version, or subscribes to
    /// and that does not exist, is); the state is a reference instead of a version per name.
    /// </summary>
    /// <param name="subscribe">The request's resource_names_subscribe.</param>
    /// <param name="unsubscribe">The request's resource_names_unsubscribe.</param>
    /// <param name="initialResourceVersions">Name → version the client holds (an empty version: held at a version it
    /// does not know, so sent again).</param>
    /// <param name="current">The set of this state's type in force now.</param>
    /// <exception cref="InvalidOperationException">This state already applied a request, or is a SotW state.</exception>
    /// <exception cref="ArgumentException"><paramref name="current"/> is of another type.</exception>
    public ClientState ResumeDelta(IReadOnlyCollection<string> subscribe, IReadOnlyCollection<string> unsubscribe,
        IReadOnlyDictionary<string, string> initialResourceVersions, ResourceSet current)
    {
        ArgumentNullException.ThrowIfNull(initialResourceVersions);
        var subscription = BeginResume(subscribe, unsubscribe, current);
        var builder = new Dictionary<string, KnownResource>(StringComparer.Ordinal);
        foreach (var (name, version) in initialResourceVersions)
        {
            if (!subscription.Covers(name))
            {
                continue; // not subscribed: what the client holds of it does not matter
            }

            if (string.IsNullOrEmpty(version))
            {
                builder[name] = KnownResource.Unknown;
            }
            else if (!current.TryGet(name, out var resource) || resource.Version != version)
            {
                builder[name] = KnownResource.Held(version); // another version, or one the set no longer has
            }

            // Else the baseline says it: held at the current version.
        }

        // Covered names the client did not list: it does not hold them. The set's are sent, and an explicitly
        // subscribed name the set lacks is reported removed (as to any new subscriber).
        if (subscription.IsWildcard)
        {
            foreach (var resource in current.Sorted)
            {
                if (!initialResourceVersions.ContainsKey(resource.Name))
                {
                    builder[resource.Name] = KnownResource.Unknown;
                }
            }
        }

        foreach (var name in subscription.NameSet)
        {
            if (!initialResourceVersions.ContainsKey(name))
            {
                builder[name] = KnownResource.Unknown;
            }
        }

        return new ClientState(Type, IsDelta, subscription, current, KnownResources.From(builder), null, 1);
    }

    /// <summary>
    /// <see cref="ResumeDelta"/> without reading the client's versions one by one: when their digest (what the
    /// client holds) equals that of what <paramref name="current"/> holds for the request's subscription, the client
    /// is up to date and the state is <paramref name="current"/> itself, at O(1) per stream (the set's side is
    /// computed once per subscription and kept with the set). Returns null when the digests differ; the caller then
    /// reads the versions and calls <see cref="ResumeDelta"/>.
    /// </summary>
    /// <param name="subscribe">The request's resource_names_subscribe.</param>
    /// <param name="unsubscribe">The request's resource_names_unsubscribe.</param>
    /// <param name="initialResourceVersions">The digest of the request's initial_resource_versions.</param>
    /// <param name="current">The set of this state's type in force now.</param>
    /// <exception cref="InvalidOperationException">This state already applied a request, or is a SotW state.</exception>
    /// <exception cref="ArgumentException"><paramref name="current"/> is of another type.</exception>
    public ClientState? TryResumeDelta(IReadOnlyCollection<string> subscribe, IReadOnlyCollection<string> unsubscribe,
        ResourceVersionsDigest initialResourceVersions, ResourceSet current)
    {
        var subscription = BeginResume(subscribe, unsubscribe, current);
        var held = current.HeldBy(subscription);
        return held.Digest == initialResourceVersions ? Resumed(held, subscription, current) : null;
    }

    /// <summary>
    /// <see cref="TryResumeDelta(IReadOnlyCollection{string}, IReadOnlyCollection{string}, ResourceVersionsDigest, ResourceSet)"/>
    /// for a request whose names are not read either: <paramref name="subscribe"/> is the digest of its
    /// resource_names_subscribe (and it unsubscribes from nothing). It is matched to a subscription an earlier stream
    /// resumed with against <paramref name="current"/> (through the other overload), whose names that stream listed
    /// the same; returns null when none was, or when the versions' digest differs.
    /// </summary>
    /// <param name="subscribe">The digest of the request's resource_names_subscribe.</param>
    /// <param name="initialResourceVersions">The digest of the request's initial_resource_versions.</param>
    /// <param name="current">The set of this state's type in force now.</param>
    /// <exception cref="InvalidOperationException">This state already applied a request, or is a SotW state.</exception>
    /// <exception cref="ArgumentException"><paramref name="current"/> is of another type.</exception>
    public ClientState? TryResumeDelta(ResourceNamesDigest subscribe, ResourceVersionsDigest initialResourceVersions, ResourceSet current)
    {
        CheckResume(current);
        return current.HeldByNames(subscribe) is { } held && held.Digest == initialResourceVersions
            ? Resumed(held, held.Subscription, current)
            : null;
    }

    /// <summary>The state of a client up to date with <paramref name="current"/>. An explicitly subscribed name the set
    /// lacks is reported removed, as to any new subscriber.</summary>
    private ClientState Resumed(HeldDigest held, Subscription subscription, ResourceSet current)
    {
        var exceptions = NoExceptions;
        if (held.Missing.Count > 0)
        {
            var builder = new Dictionary<string, KnownResource>(held.Missing.Count, StringComparer.Ordinal);
            foreach (var name in held.Missing)
            {
                builder[name] = KnownResource.Unknown;
            }

            exceptions = KnownResources.From(builder);
        }

        return new ClientState(Type, IsDelta, subscription, current, exceptions, null, 1);
    }

    private Subscription BeginResume(IReadOnlyCollection<string> subscribe, IReadOnlyCollection<string> unsubscribe, ResourceSet current)
    {
        ArgumentNullException.ThrowIfNull(subscribe);
        ArgumentNullException.ThrowIfNull(unsubscribe);
        CheckResume(current);
        return Subscription.ApplyDelta(subscribe, unsubscribe, Type.SupportsLegacyWildcard, out _, out _);
    }

    private void CheckResume(ResourceSet current)
    {
        ArgumentNullException.ThrowIfNull(current);
        EnsureMode(sotw: false);
        if (Requests > 0)
        {
            throw new InvalidOperationException($"This {Type.ShortName} client state has applied a request already; only a stream's first request resumes.");
        }

        if (!ReferenceEquals(current.Type, Type) && current.TypeUrl != Type.TypeUrl)
        {
            throw new ArgumentException($"A {current.Type.ShortName} set cannot resume a {Type.ShortName} client.", nameof(current));
        }
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
        var exceptions = NoExceptions;
        if (response.Retained.Count > 0)
        {
            var retained = new Dictionary<string, KnownResource>(response.Retained.Count, StringComparer.Ordinal);
            foreach (var resource in response.Retained)
            {
                retained[resource.Name] = KnownResource.Held(resource);
            }

            exceptions = KnownResources.From(retained);
        }

        return new ClientState(Type, IsDelta, Subscription, response.Source, exceptions, null, Requests);
    }

    /// <summary>
    /// What the client needs from <paramref name="current"/>: the response to send, or null when nothing the client
    /// would receive differs. A stream signalled by an <see cref="IChangeSource"/> calls this when it is ready to
    /// send, against the set in force then (<see cref="IChangeRegistration.TryGetCurrent"/>), so it never sends a
    /// version a newer one has replaced. No locks, no I/O; streams in the same position share the answer's lists.
    /// </summary>
    /// <param name="current">The current set of this state's type.</param>
    /// <param name="snapshot">The snapshot <paramref name="current"/> belongs to, if any (see
    /// <see cref="WatchResponse.Snapshot"/>).</param>
    /// <exception cref="ArgumentException"><paramref name="current"/> is of another type.</exception>
    public WatchResponse? Answer(ResourceSet current, Snapshot? snapshot = null)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (!ReferenceEquals(current.Type, Type) && current.TypeUrl != Type.TypeUrl)
        {
            throw new ArgumentException($"A {current.Type.ShortName} set cannot answer a {Type.ShortName} client.", nameof(current));
        }

        return ResponseComputer.Compute(this, current, snapshot);
    }

    /// <summary>Every resource the client holds (as far as the server sent or was told), with the resource
    /// itself when the server still has that version at hand.</summary>
    public IEnumerable<HeldResource> HeldResources()
    {
        foreach (var (name, known) in Exceptions)
        {
            if (known.IsHeld && Subscription.Covers(name))
            {
                yield return new HeldResource(name, known.Version!, HeldAtHand(name, known));
            }
        }

        if (Baseline is null)
        {
            yield break;
        }

        foreach (var resource in Baseline.Sorted)
        {
            if (!Exceptions.ContainsKey(resource.Name) && Subscription.Covers(resource.Name))
            {
                yield return new HeldResource(resource.Name, resource.Version, resource);
            }
        }
    }

    /// <summary>The resource the client holds under <paramref name="name"/>, when the server knows it.</summary>
    internal XdsResource? GetHeld(string name) => HeldAtHand(name, Known(name));

    /// <summary>What the server knows of the client's <paramref name="name"/>: an exception, else what the
    /// baseline says.</summary>
    internal KnownResource Known(string name)
    {
        if (Exceptions.TryGetValue(name, out var known))
        {
            return known;
        }

        if (Baseline is null)
        {
            // Nothing received yet for this type (or the baseline was detached into exceptions): a name not among
            // the exceptions is unknown, to be sent or, in delta, reported removed.
            return KnownResource.Unknown;
        }

        return Subscription.Covers(name) && Baseline.TryGet(name, out var resource)
            ? KnownResource.Held(resource)
            : KnownResource.Absent;
    }

    /// <summary>The held resource itself, when the server has that version at hand.</summary>
    private XdsResource? HeldAtHand(string name, KnownResource known)
    {
        if (!known.IsHeld)
        {
            return null;
        }

        return known.Resource
            ?? (Baseline is not null && Baseline.TryGet(name, out var resource) && resource.Version == known.Version ? resource : null);
    }

    /// <summary>
    /// Before a wildcard is added, the baseline only speaks for the names subscribed so far: turn those into
    /// explicit exceptions and drop the baseline, so resources the client never had are sent.
    /// </summary>
    private (ResourceSet?, KnownResources) Detach()
    {
        var builder = Exceptions.ToBuilder();
        if (Baseline is not null)
        {
            foreach (var name in Subscription.Names)
            {
                if (!builder.ContainsKey(name))
                {
                    // The version only: without the baseline the resource is no longer at hand (as for a version a
                    // reconnecting client reports).
                    builder[name] = Baseline.TryGet(name, out var resource)
                        ? KnownResource.Held(resource.Version)
                        : KnownResource.Absent;
                }
            }
        }

        return (null, KnownResources.From(builder));
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
        return new ClientState(type, isDelta, Subscription.None, null, NoExceptions, null, 0);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{(IsDelta ? "delta" : "sotw")} {Type.ShortName} [{Subscription}] baseline v{Baseline?.Version ?? "-"} +{Exceptions.Count}";
}

/// <summary>A resource a client holds.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Version">The version the client holds.</param>
/// <param name="Resource">That version of the resource, when the server still has it at hand.</param>
public readonly record struct HeldResource(string Name, string Version, XdsResource? Resource);
