namespace XdsServer.Kubernetes.Testing;

/// <summary>One list the <see cref="TestApiServer"/> answered: what, how big, and when, for load tools that read
/// how long the server took to answer a client's initial lists.</summary>
/// <param name="Resource">The resource listed.</param>
/// <param name="Namespace">The namespace in the path; null for a cluster-wide list.</param>
/// <param name="Items">How many objects the list held.</param>
/// <param name="Bytes">The size of the response body in bytes (UTF-8 JSON).</param>
/// <param name="StartTimestamp">A <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> taken when the server
/// started building the list.</param>
/// <param name="EndTimestamp">A <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> taken when the whole body
/// was handed to the connection (the client may still be reading the last of it).</param>
public sealed record AnsweredList(ApiResource Resource, string? Namespace, int Items, long Bytes, long StartTimestamp, long EndTimestamp)
{
    /// <summary>The time from <see cref="StartTimestamp"/> to <see cref="EndTimestamp"/>.</summary>
    public TimeSpan Duration => System.Diagnostics.Stopwatch.GetElapsedTime(StartTimestamp, EndTimestamp);
}
