using XdsServer.Discovery;

namespace MeshHost.Generation;

/// <summary>An Istio object the generator could not use (or used only in part), and why. The rest of the mesh is
/// still served.</summary>
/// <param name="Key">The object's kind/namespace/name.</param>
/// <param name="Reason">What is wrong, naming the field.</param>
public sealed record ConfigProblem(ObjectKey Key, string Reason)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Key}: {Reason}";
}
