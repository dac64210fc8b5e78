namespace XdsServer.Kubernetes.Testing;

/// <summary>One request the <see cref="TestApiServer"/> received for a resource (discovery documents are not
/// recorded).</summary>
/// <param name="Resource">The resource asked for.</param>
/// <param name="Namespace">The namespace in the path; null for a cluster-wide request.</param>
/// <param name="Watch">Whether it was a watch (else a list or get).</param>
/// <param name="ResourceVersion">Its <c>resourceVersion</c> parameter, if any.</param>
/// <param name="Query">The whole query string, for failure messages.</param>
public sealed record RecordedRequest(ApiResource Resource, string? Namespace, bool Watch, string? ResourceVersion, string Query);
