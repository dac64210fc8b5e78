using Grpc.Core;
using XdsServer.Cache;

namespace XdsServer.Internal;

/// <summary>
/// Make before break over ADS, across updates (docs/architecture.md, invariant 6). Before a response goes out:
/// <list type="bullet">
/// <item>make: it waits while a resource it references, of a type pushed earlier (clusters before routes,
/// secrets before clusters and listeners), exists and is subscribed to but has not reached the client yet;</item>
/// <item>break: a removal of a resource that something the client still holds, of a type pushed later,
/// references is deferred (kept in the response) until that reference is gone.</item>
/// </list>
/// Only subscribed names can hold a response, so a client that asks for clusters by the names it reads in
/// routes (gRPC) is never made to wait for something it cannot yet ask for.
/// </summary>
internal sealed class ResourceOrder(IOrderedStream stream)
{
    /// <summary>Returns the response to send now (perhaps with removals deferred), or null to hold it.</summary>
    public WatchResponse? Prepare(TypeSlot slot, WatchResponse response)
    {
        if (FirstMissingReference(slot, response) is { } missing)
        {
            XdsLog.Held(stream.Core.Logger, stream.StreamId, slot.Type.TypeUrl, missing.TypeUrl, missing.Name);
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
            XdsLog.RemovalDeferred(stream.Core.Logger, stream.StreamId, slot.Type.TypeUrl, name);
        }

        slot.RecheckWhenSettled = true;
        return response.Retaining(keep);
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
                if (stream.Slots.TryGetValue(reference.TypeUrl, out var earlier)
                    && earlier.Type.AdsOrder < slot.Type.AdsOrder
                    && earlier.State.Subscription.Covers(reference.Name)
                    && earlier.State.GetVersion(reference.Name) is null
                    && WillBeSent(earlier, reference.Name))
                {
                    return reference;
                }
            }
        }

        return null;
    }

    /// <summary>True when the resource exists for this node, so the earlier type will deliver it.</summary>
    private bool WillBeSent(TypeSlot earlier, string name)
    {
        if ((earlier.Held ?? earlier.PeekPending()) is { } waiting && waiting.Resources.Any(r => r.Name == name))
        {
            return true;
        }

        // The earlier type has a slot, so the cache said it serves that type to this node (XdsStream.SlotFor).
        FetchResult fetched;
        try
        {
            fetched = stream.Core.Cache.Fetch(new FetchRequest(stream.Node, earlier.Type.TypeUrl, [name], string.Empty));
        }
        catch (Exception e)
        {
            throw stream.Core.CacheFailed(stream.StreamId, nameof(ICache.Fetch), earlier.Type.TypeUrl, e);
        }

        return fetched.Status == FetchStatus.Ok && fetched.Resources.Count > 0;
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
        foreach (var later in stream.Slots.Values)
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

/// <summary>What <see cref="ResourceOrder"/> needs of a stream.</summary>
internal interface IOrderedStream
{
    XdsServerCore Core { get; }

    long StreamId { get; }

    Envoy.Config.Core.V3.Node Node { get; }

    IReadOnlyDictionary<string, TypeSlot> Slots { get; }
}
