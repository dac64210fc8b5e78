using k8s;
using k8s.Models;
using XdsServer.Discovery;

namespace XdsServer.Kubernetes.Internal;

/// <summary>One good object of a manifest file: who it is, where, and what it translates to.</summary>
/// <param name="Id">The object's registry kind, namespace and name (its identity across files).</param>
/// <param name="Object">The parsed object.</param>
/// <param name="Translated">Its registry objects.</param>
/// <param name="File">The file, relative to the folder.</param>
/// <param name="Line">The line its document (or List item) starts at.</param>
/// <param name="Column">The column its document (or List item) starts at.</param>
internal sealed record ManifestEntry(ObjectKey Id, IKubernetesObject<V1ObjectMeta> Object, IReadOnlyList<RegistryObject> Translated,
    string File, int Line, int Column);

/// <summary>A manifest file as parsed: its good objects and its problems (a file with any problem is bad).</summary>
/// <param name="Entries">The good objects, in file order.</param>
/// <param name="Problems">The problems, in file order.</param>
internal sealed record ManifestFile(IReadOnlyList<ManifestEntry> Entries, IReadOnlyList<ManifestProblem> Problems);
