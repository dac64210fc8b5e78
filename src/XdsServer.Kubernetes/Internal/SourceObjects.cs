using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using XdsServer.Discovery;

namespace XdsServer.Kubernetes.Internal;

/// <summary>
/// What the live source holds, by informer and object: the registry objects each Kubernetes object produced, so an
/// update removes the keys it no longer produces and a deletion removes all of them. Writes go to the sink under
/// one lock, so the registry always holds exactly the union of what the informers hold.
/// </summary>
internal sealed class SourceObjects(DiscoverySink sink, Func<IKubernetesObject<V1ObjectMeta>, IReadOnlyList<RegistryObject>> translate, ILogger logger)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Dictionary<string, IReadOnlyList<RegistryObject>>> _held = new(StringComparer.Ordinal);

    /// <summary>Makes <paramref name="objects"/> the whole state of <paramref name="informer"/>, through
    /// <see cref="DiscoverySink.Replace"/>: objects that did not change cause no change, and only those that went away
    /// are removed.</summary>
    public void Replace(string informer, string registryKind, IEnumerable<IKubernetesObject<V1ObjectMeta>> objects)
    {
        var translated = new Dictionary<string, IReadOnlyList<RegistryObject>>(StringComparer.Ordinal);
        foreach (var obj in objects)
        {
            translated[Id(obj)] = Translate(obj);
        }

        lock (_lock)
        {
            var kinds = new HashSet<string>(StringComparer.Ordinal) { registryKind };
            if (_held.TryGetValue(informer, out var previous))
            {
                kinds.UnionWith(previous.Values.SelectMany(v => v).Select(o => o.Key.Kind));
            }

            kinds.UnionWith(translated.Values.SelectMany(v => v).Select(o => o.Key.Kind));
            _held[informer] = translated;

            // Replace removes whatever of these kinds it is not given, so it is given what other informers hold of
            // them too (another namespace's informer, another kind translated to the same registry kind).
            sink.Replace(kinds, _held.Values.SelectMany(h => h.Values).SelectMany(v => v).Where(o => kinds.Contains(o.Key.Kind)));
        }
    }

    /// <summary>Writes an added or modified object: its registry objects, and removals of keys its previous
    /// version produced that this one does not.</summary>
    public void Upsert(string informer, IKubernetesObject<V1ObjectMeta> obj) => Write(informer, Id(obj), Translate(obj));

    /// <summary>Removes every key a deleted object produced.</summary>
    public void Delete(string informer, IKubernetesObject<V1ObjectMeta> obj) => Write(informer, Id(obj), []);

    private static string Id(IKubernetesObject<V1ObjectMeta> obj) => $"{obj.Metadata.NamespaceProperty}/{obj.Metadata.Name}";

    private void Write(string informer, string id, IReadOnlyList<RegistryObject> now)
    {
        lock (_lock)
        {
            if (!_held.TryGetValue(informer, out var held))
            {
                _held[informer] = held = new(StringComparer.Ordinal);
            }

            var before = held.GetValueOrDefault(id) ?? [];
            if (now.Count == 0)
            {
                held.Remove(id);
            }
            else
            {
                held[id] = now;
            }

            var kept = now.Select(o => o.Key).ToHashSet();
            var removals = before.Select(o => o.Key).Where(k => !kept.Contains(k)).ToList();
            if (now.Count > 0 || removals.Count > 0)
            {
                sink.Apply(now, removals);
            }
        }
    }

    private IReadOnlyList<RegistryObject> Translate(IKubernetesObject<V1ObjectMeta> obj)
    {
        try
        {
            return translate(obj);
        }
#pragma warning disable CA1031 // One object the translator cannot handle must not stop the kind.
        catch (Exception e)
#pragma warning restore CA1031
        {
            KubernetesLog.TranslateFailed(logger, e, sink.Source, $"{obj.Kind} {Id(obj)}");
            return [];
        }
    }
}
