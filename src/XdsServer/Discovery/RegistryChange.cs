namespace XdsServer.Discovery;

/// <summary>What happened to a registry object.</summary>
public enum RegistryChangeKind
{
    /// <summary>It appeared.</summary>
    Added,

    /// <summary>Its content changed (a new resource version).</summary>
    Updated,

    /// <summary>It went away.</summary>
    Removed,
}

/// <summary>One object that changed: which, how, and from which source.</summary>
/// <param name="Key">The object.</param>
/// <param name="Kind">How it changed.</param>
/// <param name="Source">The source that changed it.</param>
public sealed record RegistryChange(ObjectKey Key, RegistryChangeKind Kind, string Source);
