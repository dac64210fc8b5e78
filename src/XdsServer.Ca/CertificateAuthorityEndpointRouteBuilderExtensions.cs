using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;
using XdsServer.Ca;
using XdsServer.Ca.Internal;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the certificate authority's endpoints.</summary>
public static class CertificateAuthorityEndpointRouteBuilderExtensions
{
    /// <summary>The path <see cref="MapTrustBundle"/> uses when given none. SPIFFE leaves the bundle endpoint's
    /// path to the server; this one is our choice.</summary>
    public const string DefaultTrustBundlePath = "/.well-known/spiffe-bundle";

    /// <summary>Maps <c>istio.v1.auth.IstioCertificateService</c> (istiod's CSR API) on the gRPC endpoint.
    /// Requires <c>AddCertificateAuthority</c>.</summary>
    /// <param name="endpoints">The endpoint route builder.</param>
    /// <returns>A builder for conventions such as authorization.</returns>
    public static IEndpointConventionBuilder MapCertificateAuthority(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        return endpoints.MapGrpcService<IstioCertificateServiceImpl>();
    }

    /// <summary>
    /// Maps <c>GET <paramref name="pattern"/></c> to the CA's current trust bundle in the SPIFFE bundle format (a JWK
    /// Set, <c>application/json</c>): both roots during a rotation overlap, <c>spiffe_sequence</c> rising with each
    /// change, <c>spiffe_refresh_hint</c> as given. Answers <c>If-None-Match</c> with 304 (the ETag is a digest of
    /// the document). The bundle holds public certificates only; expose it as widely as the trust domain is
    /// federated. Requires <c>AddCertificateAuthority</c>.
    /// </summary>
    /// <param name="endpoints">The endpoint route builder.</param>
    /// <param name="pattern">The route; <see cref="DefaultTrustBundlePath"/> when null.</param>
    /// <param name="refreshHint">How often consumers should poll (whole seconds); null for 5 minutes.</param>
    /// <returns>A builder for conventions such as host filtering.</returns>
    public static IEndpointConventionBuilder MapTrustBundle(this IEndpointRouteBuilder endpoints, string? pattern = null, TimeSpan? refreshHint = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var hint = refreshHint ?? TimeSpan.FromMinutes(5);
        ArgumentOutOfRangeException.ThrowIfLessThan(hint, TimeSpan.FromSeconds(1), nameof(refreshHint));
        var cache = new BundleDocumentCache(hint);
        return endpoints.MapGet(pattern ?? DefaultTrustBundlePath, (HttpContext context) =>
        {
            var authority = context.RequestServices.GetRequiredService<RotatingCertificateAuthority>();
            var (json, etag) = cache.Get(authority.TrustBundle);
            context.Response.Headers[HeaderNames.ETag] = etag;
            context.Response.Headers[HeaderNames.CacheControl] = "no-cache";
            if (context.Request.Headers[HeaderNames.IfNoneMatch].Contains(etag))
            {
                return Results.StatusCode(StatusCodes.Status304NotModified);
            }
            return Results.Bytes(json, "application/json");
        });
    }

    /// <summary>The serialized document of the newest bundle seen: built once per bundle, not per request.</summary>
    private sealed class BundleDocumentCache(TimeSpan refreshHint)
    {
        private Document? _last;

        public (byte[] Json, string ETag) Get(TrustBundle bundle)
        {
            if (Volatile.Read(ref _last) is { } last && ReferenceEquals(last.Bundle, bundle))
            {
                return (last.Json, last.ETag);
            }
            var json = Encoding.UTF8.GetBytes(bundle.ToSpiffeBundleJson(refreshHint));
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(json).AsSpan(0, 16)) + "\"";
            Volatile.Write(ref _last, new Document(bundle, json, etag));
            return (json, etag);
        }

        private sealed record Document(TrustBundle Bundle, byte[] Json, string ETag);
    }
}
