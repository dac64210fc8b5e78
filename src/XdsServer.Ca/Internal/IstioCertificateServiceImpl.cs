using Grpc.Core;
using Microsoft.Extensions.Logging;
using XdsServer.Ca.Istio;

namespace XdsServer.Ca.Internal;

/// <summary><c>istio.v1.auth.IstioCertificateService</c>: signs a CSR for the caller's proven identity.</summary>
internal sealed class IstioCertificateServiceImpl(
    RotatingCertificateAuthority authority,
    CertificateAuthorityHostOptions options,
    IEnumerable<ICallerAuthenticator> authenticators,
    CaMetrics metrics,
    ILogger<IstioCertificateServiceImpl> logger) : IstioCertificateService.IstioCertificateServiceBase
{
    // A refusal's detail is mostly this CA's own words around a quoted piece of the caller's; every
    // authenticator contributes one reason, so it may run longer than one quoted value.
    private const int MaxDetailLogLength = 1024;

    private readonly ICallerAuthenticator[] _authenticators = authenticators.ToArray();

    public override async Task<IstioCertificateResponse> CreateCertificate(IstioCertificateRequest request, ServerCallContext context)
    {
        var identity = await AuthenticateAsync(context).ConfigureAwait(false);
        var trustDomain = options.Authority.TrustDomain;
        if (!string.Equals(identity.TrustDomain, trustDomain, StringComparison.Ordinal))
        {
            CaLog.ForeignTrustDomain(logger, identity, trustDomain);
            metrics.Refuse(CaMetrics.ForeignTrustDomain);
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"caller identity {identity} is outside this CA's trust domain \"{trustDomain}\""));
        }

        WorkloadCertificate issued;
        var lifetime = Lifetime(request.ValidityDuration);
        try
        {
            // Issue 4 §2: the certificate's identity is the caller's proven identity, never what the CSR asks for.
            issued = authority.Issuer.Issue(request.Csr, identity, lifetime); // the issuer of the current root
        }
        catch (CertificateRequestException ex)
        {
            // The message quotes what the CSR carried (its SANs, its subject): the caller's text.
            CaLog.Refused(logger, identity, ex.Reason, ClientText.ForLog(ex.Message, MaxDetailLogLength));
            metrics.Refuse(ex.Reason.ToString());
            var code = ex.Reason == CertificateRequestError.Unauthenticated ? StatusCode.Unauthenticated : StatusCode.InvalidArgument;
            throw new RpcException(new Status(code, ex.Message));
        }
        catch (InvalidOperationException ex)
        {
            // The CA itself cannot sign (its chain expired): not the caller's fault.
            CaLog.IssueFailed(logger, identity, ex);
            throw new RpcException(new Status(StatusCode.FailedPrecondition, ex.Message));
        }

        metrics.Issued();
        CaLog.Issued(logger, issued.SerialNumber, identity, issued.NotAfter);
        if (issued.LifetimeClamped)
        {
            CaLog.LifetimeClamped(logger, lifetime, identity, issued.NotAfter);
        }
        var response = new IstioCertificateResponse();
        response.CertChain.AddRange(issued.CertificateChainPem); // leaf first, root last, one PEM each
        return response;
    }

    private async Task<SpiffeId> AuthenticateAsync(ServerCallContext context)
    {
        var (identity, _, detail) = await CallerAuthentication.AuthenticateAsync(_authenticators, context.GetHttpContext(),
            context.CancellationToken).ConfigureAwait(false);
        if (identity is not null)
        {
            return identity;
        }

        // The peer string and the authenticators' reasons (a certificate's URI SAN) are the caller's text.
        CaLog.Unauthenticated(logger, ClientText.ForLog(context.Peer), ClientText.ForLog(detail, MaxDetailLogLength));
        metrics.Refuse(nameof(CertificateRequestError.Unauthenticated));
        throw new RpcException(new Status(StatusCode.Unauthenticated, $"caller is not authenticated: {detail}"));
    }

    private static TimeSpan? Lifetime(long seconds) => seconds switch
    {
        0 => null,
        // Beyond TimeSpan's range is certainly beyond the maximum: the issuer clamps it.
        > 0 when seconds >= (long)TimeSpan.MaxValue.TotalSeconds => TimeSpan.MaxValue,
        < 0 when seconds <= (long)TimeSpan.MinValue.TotalSeconds => TimeSpan.MinValue,
        _ => TimeSpan.FromSeconds(seconds),
    };
}
