using Microsoft.AspNetCore.Routing;
using XdsServer.Ca.Internal;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the certificate authority's endpoints.</summary>
public static class CertificateAuthorityEndpointRouteBuilderExtensions
{
    /// <summary>Maps <c>istio.v1.auth.IstioCertificateService</c> (istiod's CSR API) on the gRPC endpoint.
    /// Requires <c>AddCertificateAuthority</c>.</summary>
    /// <param name="endpoints">The endpoint route builder.</param>
    /// <returns>A builder for conventions such as authorization.</returns>
    public static IEndpointConventionBuilder MapCertificateAuthority(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapGrpcService<IstioCertificateServiceImpl>();
    }
}
