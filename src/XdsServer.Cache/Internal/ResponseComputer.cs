namespace XdsServer.Cache.Internal;

/// <summary>
/// Decides what one client needs from one resource set. No locks, no I/O; safe on any thread (the only state it
/// writes is the set's lock-free <see cref="ResponseMemo"/>).
/// Cost is O(changed since the client's baseline + exceptions), plus O(subscribed) for the body of a
/// SotW Listener/Cluster response, which must carry the full state.
/// </summary>
internal static class ResponseComputer
{
    /// <summary>Computations on the calling thread so far (tests: prove which thread pays for an update).</summary>
    [ThreadStatic]
    private static long t_computedOnThisThread;

    public static long ComputedOnThisThread => t_computedOnThisThread;

    public static WatchResponse? Compute(ClientState state, ResourceSet current, Snapshot? snapshot = null)
    {
        t_computedOnThisThread++;
        if (!state.Exceptions.IsEmpty)
        {
            return ComputeNew(state, current, snapshot);
        }

        if (state.Subscription.IsEmpty)
        {
            return null; // subscribed to nothing
        }

        if (ReferenceEquals(state.Baseline, current))
        {
            return null; // "no response when nothing the subscriber would receive has changed"
        }

        // Without exceptions the answer depends only on inputs that streams in the same position share: computed
        // once per set and position, and the same lists for all of them (ResponseMemo).
        var key = new ResponseKey(state);
        var memo = current.Responses;
        if (!memo.TryGet(key, out var answer))
        {
            var computed = ComputeNew(state, current, snapshot);
            answer = memo.Add(key, computed is null ? null : new ResponseAnswer(computed.Resources, computed.RemovedNames, computed.IsEmpty && !computed.IsDelta));
            if (answer is not null && computed is not null && ReferenceEquals(answer.Resources, computed.Resources))
            {
                return computed;
            }
        }

        return answer is null ? null : new WatchResponse(state, current, snapshot, answer.Resources, answer.RemovedNames, alreadyHeld: answer.AlreadyHeld);
    }

    private static WatchResponse? ComputeNew(ClientState state, ResourceSet current, Snapshot? snapshot)
    {
        var subscription = state.Subscription;
        if (subscription.IsEmpty && state.Exceptions.IsEmpty)
        {
            return null; // subscribed to nothing
        }

        if (ReferenceEquals(state.Baseline, current) && state.Exceptions.IsEmpty)
        {
            return null; // "no response when nothing the subscriber would receive has changed"
        }

        // A reconnecting SotW wildcard client that already has this version needs nothing (the protocol page
        // allows this for LDS/CDS when the only subscription is a wildcard). Say so with an empty answer, which the
        // stream records without sending: its state then holds the set, so what later types reference is known to be
        // at the client (make before break would otherwise wait for resources the client has).
        if (!state.IsDelta && state.Baseline is null && state.Exceptions.IsEmpty && subscription.IsWildcard
            && subscription.Names.Count == 0 && state.ReconnectVersion == current.Version)
        {
            return new WatchResponse(state, current, snapshot, [], [], alreadyHeld: true);
        }

        if (state.Baseline is null && state.Exceptions.IsEmpty)
        {
            // A client that holds nothing yet (a new stream): every subscribed resource that exists, in name order,
            // read off the set's sorted array instead of looked up and sorted name by name; in delta also the
            // names asked for that do not exist.
            var all = FullState(subscription, current);
            var missing = state.IsDelta ? Missing(subscription, current, all.Count) : [];
            // An empty answer still says something to a SotW wildcard subscriber of a full-state type: "there are
            // none" (as istiod answers), which lets an Envoy finish initialising instead of waiting out its
            // initial_fetch_timeout. Otherwise nothing is sent until something exists.
            var emptyStateMatters = !state.IsDelta && subscription.IsWildcard && current.Type.FullStateInSotw;
            return all.Count == 0 && missing.Count == 0 && !emptyStateMatters ? null : new WatchResponse(state, current, snapshot, all, missing);
        }

        List<XdsResource>? changed = null;
        List<string>? removed = null;
        var deletedKnown = false;
        // A SotW Listener/Cluster response carries the full state whatever changed: the first difference decides.
        var firstDifferenceDecides = !state.IsDelta && state.Type.FullStateInSotw;
        foreach (var name in Candidates(state, current))
        {
            if (firstDifferenceDecides && (changed is not null || deletedKnown))
            {
                break;
            }

            if (!subscription.Covers(name))
            {
                continue;
            }

            var known = state.Known(name);
            if (current.TryGet(name, out var resource))
            {
                if (!known.Holds(resource.Version))
                {
                    (changed ??= []).Add(resource);
                }
            }
            else if (known.Kind != KnownKind.Absent)
            {
                // Unknown (newly subscribed, so the client must learn it does not exist) or deleted.
                (removed ??= []).Add(name);
                deletedKnown |= known.IsHeld;
            }
        }

        if (state.IsDelta)
        {
            if (changed is null && removed is null)
            {
                // Nothing to send. A client known by exceptions (a reconnect's initial_resource_versions) holds
                // exactly `current`: an empty answer lets the stream record that as one reference instead of
                // keeping a version per name (~100 B each, per stream, until the type next changes).
                return state.Exceptions.IsEmpty ? null : new WatchResponse(state, current, snapshot, [], []);
            }

            return new WatchResponse(state, current, snapshot, Sorted(changed), SortedNames(removed));
        }

        if (!state.Type.FullStateInSotw)
        {
            // Partial types: only what changed; a deletion cannot be said in SotW (the parent's change says it).
            return changed is null ? null : new WatchResponse(state, current, snapshot, Sorted(changed), []);
        }

        // Listener and Cluster: "the server must include the complete state of the world"; a resource the
        // client had that is now missing is deleted by its absence.
        if (changed is null && !deletedKnown)
        {
            return null;
        }

        return new WatchResponse(state, current, snapshot, FullState(subscription, current), []);
    }

    /// <summary>The names that may differ between what the client holds and <paramref name="current"/>.</summary>
    private static IEnumerable<string> Candidates(ClientState state, ResourceSet current)
    {
        var subscription = state.Subscription;
        var changed = state.Baseline is null ? null : current.ChangesSince(state.Baseline);

        if (!subscription.IsWildcard && (changed is null || subscription.Names.Count < changed.Count))
        {
            // Few names subscribed: looking at each is cheaper than the change (or there is no baseline).
            foreach (var name in subscription.Names)
            {
                yield return name;
            }

            foreach (var name in state.Exceptions.Keys)
            {
                if (!subscription.Names.Contains(name))
                {
                    yield return name;
                }
            }

            yield break;
        }

        if (changed is null)
        {
            // Wildcard without a baseline: the client holds only what the exceptions say. The set's sorted array, not
            // its map's keys: enumerating the persistent map walks a tree (a reconnect profile's hot spot).
            foreach (var resource in current.Sorted)
            {
                yield return resource.Name;
            }

            foreach (var name in state.Exceptions.Keys)
            {
                if (!current.Contains(name))
                {
                    yield return name;
                }
            }

            // Names subscribed beside the wildcard that the set lacks: a client that did not list them learns they do
            // not exist, as a new subscriber does.
            foreach (var name in subscription.Names)
            {
                if (!current.Contains(name) && !state.Exceptions.ContainsKey(name))
                {
                    yield return name;
                }
            }

            yield break;
        }

        foreach (var name in changed)
        {
            yield return name;
        }

        foreach (var name in state.Exceptions.Keys)
        {
            if (!changed.Contains(name))
            {
                yield return name;
            }
        }
    }

    private static IReadOnlyList<XdsResource> FullState(Subscription subscription, ResourceSet current)
    {
        if (subscription.IsWildcard)
        {
            return current.Sorted; // shared by every wildcard stream: O(1) per watch
        }

        var names = subscription.Names;
        if (names.Count * 4 >= current.Count)
        {
            // Many names: one pass over the sorted set, no sort.
            var covered = new List<XdsResource>(Math.Min(names.Count, current.Count));
            foreach (var resource in current.Sorted)
            {
                if (names.Contains(resource.Name))
                {
                    covered.Add(resource);
                }
            }

            return covered;
        }

        var resources = new List<XdsResource>(names.Count);
        foreach (var name in names)
        {
            if (current.TryGet(name, out var resource))
            {
                resources.Add(resource);
            }
        }

        return Sorted(resources);
    }

    /// <summary>The explicitly subscribed names <paramref name="current"/> lacks, sorted; <paramref name="found"/>
    /// resources of the subscription were found, so without a wildcard the check is skipped when all were.</summary>
    private static List<string> Missing(Subscription subscription, ResourceSet current, int found)
    {
        if (subscription.Names.Count == 0 || (!subscription.IsWildcard && found == subscription.Names.Count))
        {
            return [];
        }

        List<string>? missing = null;
        foreach (var name in subscription.Names)
        {
            if (!current.Contains(name))
            {
                (missing ??= []).Add(name);
            }
        }

        return SortedNames(missing);
    }

    private static List<XdsResource> Sorted(List<XdsResource>? resources)
    {
        if (resources is null)
        {
            return [];
        }

        resources.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return resources;
    }

    private static List<string> SortedNames(List<string>? names)
    {
        if (names is null)
        {
            return [];
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }
}
