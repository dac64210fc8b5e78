using Microsoft.Extensions.Logging;
using XdsServer.Cache;

namespace XdsServer.Internal;

/// <summary>
/// Make before break over ADS, across updates (docs/architecture.md, invariant 6). Before a response goes out:
/// <list type="bullet">
/// <item>make: it is held while a resource it references, of a type pushed earlier (clusters before routes,
/// secrets before clusters and listeners), is subscribed to, has not reached the client yet and will be sent;</item>
/// <item>break: a removal of a resource that something the client still holds, of a type pushed later,
/// references is deferred (kept in the response) until that reference is gone.</item>
/// </list>
/// "Will be sent" is decided from what the earlier type's slot already knows: its waiting or held answer, the set in
/// force for it now (caches that signal), or else the snapshot the response was computed from
/// (<see cref="WatchResponse.Snapshot"/>: the same update carries the referenced resource exactly when that snapshot
/// holds it). The cache is never asked. Only subscribed names can hold a response, so a client that asks for clusters by the names it reads in
/// routes (gRPC) is never made to wait for something it cannot yet ask for.
/// A held type keeps no response to send later: the loop leaves it dirty and computes it again, against the set in
/// force then, once an earlier type was sent; the held answer is kept only to say what the type will send.
/// </summary>
/// <remarks>Thread rule: owned by the stream's loop, which alone calls it; its held answers and deferred-removal
/// marks are loop-only state. It reads the slots' loop-owned state and their waiting answers, and writes neither.</remarks>
internal sealed class ResponseOrdering(IReadOnlyDictionary<string, TypeSlot> slots, ILogger logger, long streamId)
{
    private readonly Dictionary<TypeSlot, WatchResponse> _held = [];
    private readonly HashSet<TypeSlot> _deferred = [];

    /// <summary>
    /// Returns the response to send now (perhaps with removals deferred), or null when it must wait: the type is held
    /// (<see cref="IsHeld"/>) until it is prepared again or forgotten.
    /// </summary>
    public WatchResponse? Prepare(TypeSlot slot, WatchResponse response)
    {
        Forget(slot);
        if (FirstMissingReference(slot, response) is { } missing)
        {
            XdsLog.Held(logger, streamId, slot.Type.TypeUrl, missing.TypeUrl, missing.Name);
            _held[slot] = response;
            return null;
        }

        var removals = Removals(slot, response);
        if (removals.Count == 0)
        {
            return response;
        }

        var referenced = ReferencedByLaterTypes(slot);
        var keep = removals.Where(referenced.Contains).ToList();
        if (keep.Count == 0)
        {
            return response;
        }

        foreach (var name in keep)
        {
            XdsLog.RemovalDeferred(logger, streamId, slot.Type.TypeUrl, name);
        }

        _deferred.Add(slot);
        return response.Retaining(keep);
    }

    /// <summary>True when the last answer prepared for <paramref name="slot"/> had to wait.</summary>
    public bool IsHeld(TypeSlot slot) => _held.ContainsKey(slot);

    /// <summary>True when <paramref name="slot"/> deferred a removal and should be evaluated again once the types
    /// pushed after it settle (the reference may be gone by then).</summary>
    public bool HasDeferredRemovals(TypeSlot slot) => _deferred.Contains(slot);

    /// <summary>Forgets what was held or deferred for <paramref name="slot"/>: it is computed again (its client state
    /// moved on, or another type was sent).</summary>
    public void Forget(TypeSlot slot)
    {
        _held.Remove(slot);
        _deferred.Remove(slot);
    }

    private ResourceReference? FirstMissingReference(TypeSlot slot, WatchResponse response)
    {
        foreach (var resource in response.Resources)
        {
            if (slot.State.GetVersion(resource.Name) == resource.Version)
            {
                continue; // nothing new for the client in this one
            }

            foreach (var reference in resource.References)
            {
                if (slots.TryGetValue(reference.TypeUrl, out var earlier)
                    && earlier.Type.AdsOrder < slot.Type.AdsOrder
                    && earlier.State.Subscription.Covers(reference.Name)
                    && earlier.State.GetVersion(reference.Name) is null
                    && WillBeSent(earlier, reference.Name, response))
                {
                    return reference;
                }
            }
        }

        return null;
    }

    /// <summary>
    /// True when the earlier type will deliver <paramref name="name"/>: its held or waiting answer carries it; or its
    /// set in force now holds it (a cache that signals: the loop sends that type from that set, so a resource removed
    /// meanwhile holds nothing back, and a cache of one type, behind a <see cref="MuxCache"/>, still orders); or, for
    /// a cache that only answers watches, the snapshot <paramref name="response"/> was computed from holds it (the
    /// same update sends it).
    /// </summary>
    private bool WillBeSent(TypeSlot earlier, string name, WatchResponse response)
    {
        var waiting = _held.GetValueOrDefault(earlier) ?? earlier.Answers?.Waiting;
        if (waiting is not null && waiting.Resources.Any(r => r.Name == name))
        {
            return true;
        }

        if (earlier.Answers is { } answers && answers.TryGetCurrent(out var current))
        {
            return current.Contains(name);
        }

        return response.Snapshot?.GetResources(earlier.Type.TypeUrl) is { } set && set.Contains(name);
    }

    /// <summary>Names the response removes from the client.</summary>
    private static List<string> Removals(TypeSlot slot, WatchResponse response)
    {
        if (response.IsDelta)
        {
            return [.. response.RemovedNames.Where(n => slot.State.GetVersion(n) is not null)];
        }

        if (!slot.Type.FullStateInSotw)
        {
            return []; // SotW cannot remove other types
        }

        var sent = response.Resources.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        return [.. slot.State.HeldResources().Select(h => h.Name).Where(n => !sent.Contains(n))];
    }

    /// <summary>Names of <paramref name="slot"/>'s type referenced by what the client holds of later types.</summary>
    private HashSet<string> ReferencedByLaterTypes(TypeSlot slot)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var later in slots.Values)
        {
            if (later.Type.AdsOrder <= slot.Type.AdsOrder)
            {
                continue;
            }

            foreach (var held in later.State.HeldResources())
            {
                foreach (var reference in held.Resource?.References ?? [])
                {
                    if (reference.TypeUrl == slot.Type.TypeUrl)
                    {
                        names.Add(reference.Name);
                    }
                }
            }
        }

        return names;
    }
}
