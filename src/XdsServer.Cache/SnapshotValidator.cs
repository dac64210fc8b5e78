namespace XdsServer.Cache;

/// <summary>
/// Checks the references between a snapshot's resources. Given the previous valid snapshot of the same
/// lineage it checks only what changed: the references of changed resources, and, where resources were
/// removed, who still points at them (docs/architecture.md, invariant 4: work is O(changed)).
/// </summary>
internal static class SnapshotValidator
{
    public static SnapshotValidationResult Validate(Snapshot snapshot, Snapshot? previousValid)
    {
        var problems = new List<SnapshotProblem>();
        var secrets = snapshot.GetResources(TypeUrls.Secret);
        HashSet<(string, string)>? removed = null;
        foreach (var set in snapshot.ResourceSets)
        {
            if (set.Type.ReferencesOf is null)
            {
                continue;
            }

            var previous = previousValid?.GetResources(set.TypeUrl);
            if (previous is null || NeedsFullCheck(snapshot, previousValid!))
            {
                foreach (var resource in set)
                {
                    Check(resource, snapshot, secrets, problems);
                }

                continue;
            }

            // Resources of this type that changed: check their own references.
            var changed = set.ChangesSince(previous);
            foreach (var name in changed)
            {
                if (set.TryGet(name, out var resource))
                {
                    Check(resource, snapshot, secrets, problems);
                }
            }

            // Referenced resources that disappeared: find unchanged referrers that still point at them.
            removed ??= RemovedReferenceTargets(snapshot, previousValid!);
            if (removed.Count > 0)
            {
                foreach (var resource in set)
                {
                    if (changed.Contains(resource.Name))
                    {
                        continue;
                    }

                    foreach (var reference in resource.References)
                    {
                        if (reference.Required && removed.Contains((reference.TypeUrl, reference.Name)))
                        {
                            Check(resource, snapshot, secrets, problems);
                            break;
                        }
                    }
                }
            }
        }

        problems.Sort((a, b) => (a.TypeUrl, a.ResourceName, a.Message).CompareTo((b.TypeUrl, b.ResourceName, b.Message)));
        return new SnapshotValidationResult(problems);
    }

    /// <summary>Secrets newly carried (or dropped) change which references count: check everything.</summary>
    private static bool NeedsFullCheck(Snapshot snapshot, Snapshot previous) =>
        (snapshot.GetResources(TypeUrls.Secret) is null) != (previous.GetResources(TypeUrls.Secret) is null);

    private static HashSet<(string, string)> RemovedReferenceTargets(Snapshot snapshot, Snapshot previous)
    {
        var removed = new HashSet<(string, string)>();
        foreach (var before in previous.ResourceSets)
        {
            var now = snapshot.GetResources(before.TypeUrl);
            if (ReferenceEquals(now, before))
            {
                continue;
            }

            if (now is null)
            {
                foreach (var name in before.Names)
                {
                    removed.Add((before.TypeUrl, name));
                }

                continue;
            }

            foreach (var name in now.ChangesSince(before))
            {
                if (!now.Contains(name))
                {
                    removed.Add((before.TypeUrl, name));
                }
            }
        }

        return removed;
    }

    private static void Check(XdsResource resource, Snapshot snapshot, ResourceSet? secrets, List<SnapshotProblem> problems)
    {
        if (resource.ReferenceError is { } error)
        {
            problems.Add(new SnapshotProblem(resource.TypeUrl, resource.Name,
                $"{resource.Type.ShortName} '{resource.Name}': {error}"));
            return;
        }

        foreach (var reference in resource.References)
        {
            if (!reference.Required)
            {
                continue;
            }

            // Secrets are checked only when the snapshot carries secrets at all: otherwise they come from
            // elsewhere (a node agent's SDS server, say).
            var target = reference.TypeUrl == TypeUrls.Secret ? secrets : snapshot.GetResources(reference.TypeUrl);
            if (reference.TypeUrl == TypeUrls.Secret && secrets is null)
            {
                continue;
            }

            if (target is null || !target.Contains(reference.Name))
            {
                var targetType = snapshot.Registry.TryGet(reference.TypeUrl, out var t) ? t.ShortName : reference.TypeUrl;
                problems.Add(new SnapshotProblem(resource.TypeUrl, resource.Name,
                    $"{resource.Type.ShortName} '{resource.Name}' references {targetType} '{reference.Name}', which the snapshot does not contain"));
            }
        }
    }
}
