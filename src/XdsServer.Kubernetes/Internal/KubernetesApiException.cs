namespace XdsServer.Kubernetes.Internal;

/// <summary>The API server answered a request with an error status (or a watch sent an ERROR event).</summary>
internal sealed class KubernetesApiException : Exception
{
    public KubernetesApiException()
    {
    }

    public KubernetesApiException(string message)
        : base(message)
    {
    }

    public KubernetesApiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public KubernetesApiException(int statusCode, string message)
        : base(message) => StatusCode = statusCode;

    /// <summary>The HTTP status (or the Status object's code).</summary>
    public int StatusCode { get; }

    /// <summary>410 Gone: the resource version asked for is too old.</summary>
    public bool IsGone => StatusCode == 410;
}
