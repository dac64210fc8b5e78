namespace XdsServer.Cache.Internal;

/// <summary>What the server knows of one resource a client may hold.</summary>
internal enum KnownKind : byte
{
    /// <summary>Not known: send the resource, or in delta its removal.</summary>
    Unknown,

    /// <summary>The client is known not to hold it (and, in delta, was told it does not exist).</summary>
    Absent,

    /// <summary>The client holds <see cref="KnownResource.Version"/>.</summary>
    Held,
}

/// <summary>
/// What the server knows of one resource a client may hold: a per-name exception to a client state's baseline, or
/// what the baseline itself says. <see cref="Resource"/> is the held resource when the server has it at hand
/// (a resource whose removal was deferred, or the baseline's own).
/// </summary>
internal readonly record struct KnownResource(KnownKind Kind, string? Version, XdsResource? Resource)
{
    public static KnownResource Unknown => default;

    public static KnownResource Absent => new(KnownKind.Absent, null, null);

    public bool IsHeld => Kind == KnownKind.Held;

    public static KnownResource Held(string version) => new(KnownKind.Held, version, null);

    public static KnownResource Held(XdsResource resource) => new(KnownKind.Held, resource.Version, resource);

    /// <summary>True when the client holds exactly <paramref name="version"/>.</summary>
    public bool Holds(string version) => Kind == KnownKind.Held && Version == version;
}
