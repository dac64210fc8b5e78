namespace XdsServer.Ca;

/// <summary>A certificate signing request was refused; <see cref="Reason"/> says why, the message says what was wrong.</summary>
public sealed class CertificateRequestException : Exception
{
    /// <summary>Creates a refusal with no recorded reason.</summary>
    public CertificateRequestException()
    {
    }

    /// <summary>Creates a refusal with no recorded reason.</summary>
    public CertificateRequestException(string message)
        : base(message)
    {
    }

    /// <summary>Creates a refusal with no recorded reason.</summary>
    public CertificateRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates a refusal for <paramref name="reason"/>.</summary>
    public CertificateRequestException(CertificateRequestError reason, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
    }

    /// <summary>Why the request was refused.</summary>
    public CertificateRequestError Reason { get; }
}
