using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using XdsServer;
using XdsServer.Ca;
using XdsServer.Ca.Internal;
using XdsServer.Cache;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the certificate authority to an xDS server.</summary>
public static class CertificateAuthorityServiceCollectionExtensions
{
    /// <summary>Registers the CA as a <see cref="RotatingCertificateAuthority"/> (resolve it to rotate the root or
    /// read the trust bundle; its <see cref="RotatingCertificateAuthority.Issuer"/> signs), the caller authenticators (client certificate, bearer token) and, when configured, a
    /// <see cref="StaticTokenReviewer"/>. Map the gRPC API with <c>app.MapCertificateAuthority()</c>. Further token
    /// reviewers are added as <see cref="ITokenReviewer"/> services; further authenticators as
    /// <see cref="ICallerAuthenticator"/> services (run after the built-in ones). Adds the health check
    /// <see cref="CertificateAuthorityHealthCheck"/> named <c>certificate-authority</c> (it also watches the
    /// <see cref="WorkloadCertificateRotator"/> when one is registered, as <see cref="AddWorkloadSecrets"/> does; a
    /// registered <see cref="CertificateAuthorityHealthCheckOptions"/> service sets its warning).</summary>
    /// <param name="builder">The xDS server builder.</param>
    /// <param name="configure">Sets the root folder, trust domain, lifetimes and token file.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static IXdsServerBuilder AddCertificateAuthority(this IXdsServerBuilder builder, Action<CertificateAuthorityHostOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new CertificateAuthorityHostOptions();
        configure(options);
        options.Validate();

        var services = builder.Services;
        services.AddGrpc();
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton(sp => new CaMetrics(sp.GetRequiredService<IMeterFactory>()));
        services.TryAddSingleton(options);
        services.TryAddSingleton(sp =>
        {
            var clock = sp.GetRequiredService<TimeProvider>();
            var initial = options.Folder is null
                ? CertificateAuthority.CreateSelfSigned(options.Authority, clock)
                : CertificateAuthority.LoadOrCreate(options.Folder, options.Authority, clock, sp.GetService<ILogger<CertificateAuthority>>());
            return new RotatingCertificateAuthority(initial, options.Workload, clock);
        });

        if (options.AcceptClientCertificates)
        {
            services.TryAddEnumerable(ServiceDescriptor.Singleton<ICallerAuthenticator, ClientCertificateAuthenticator>(sp =>
                new ClientCertificateAuthenticator(sp.GetRequiredService<RotatingCertificateAuthority>(), sp.GetRequiredService<TimeProvider>())));
        }
        if (options.AcceptBearerTokens)
        {
            services.TryAddEnumerable(ServiceDescriptor.Singleton<ICallerAuthenticator, BearerTokenAuthenticator>());
        }
        if (options.StaticTokenFile is { } tokenFile)
        {
            // Watched: edits to the file (a token added or revoked) apply without a restart. A bad file throws on the
            // first resolve. Also resolvable as StaticTokenReviewer, to subscribe to its Changed event.
            services.TryAddSingleton(sp =>
            {
                var reviewer = StaticTokenReviewer.WatchFile(
                    tokenFile, sp.GetRequiredService<TimeProvider>(), sp.GetService<ILogger<StaticTokenReviewer>>());
                // A token removed from the file ends the streams it opened now, not at their next periodic re-check.
                var streams = sp.GetService<IXdsStreamAuthorization>();
                reviewer.Changed += (_, e) =>
                {
                    if (e.Revoked)
                    {
                        streams?.ReauthorizeAll();
                    }
                };
                return reviewer;
            });
            services.TryAddEnumerable(ServiceDescriptor.Singleton<ITokenReviewer, StaticTokenReviewer>(sp => sp.GetRequiredService<StaticTokenReviewer>()));
        }
        AddHealthCheck(services);
        return builder;
    }

    /// <summary>Registers <see cref="CertificateAuthorityHealthCheck"/> once, however often it is asked.</summary>
    private static void AddHealthCheck(IServiceCollection services)
    {
        services.AddHealthChecks();
        services.Configure<HealthCheckServiceOptions>(o =>
        {
            if (!o.Registrations.Any(r => r.Name == CertificateAuthorityHealthCheck.Name))
            {
                o.Registrations.Add(new HealthCheckRegistration(CertificateAuthorityHealthCheck.Name, sp => new CertificateAuthorityHealthCheck(
                    sp.GetRequiredService<RotatingCertificateAuthority>(), sp.GetService<WorkloadCertificateRotator>(),
                    sp.GetService<CertificateAuthorityHealthCheckOptions>(), sp.GetRequiredService<TimeProvider>()),
                    failureStatus: null, tags: null));
            }
        });
    }

    /// <summary>
    /// Delivers each workload's certificate over SDS: a stream whose node claims a workload identity (see
    /// <see cref="WorkloadIdentityNodeHash"/>: istio-agent's <c>NAMESPACE</c>/<c>SERVICE_ACCOUNT</c> metadata, or a
    /// node id that is a SPIFFE ID) must prove that identity with a caller authenticator (client certificate or
    /// bearer token), else it is refused with PERMISSION_DENIED; once in, the identity gets a certificate (issued
    /// on first sight, renewed by a <see cref="WorkloadCertificateRotator"/>) published as the secrets
    /// <c>default</c> and <c>ROOTCA</c> that only that identity's streams are served. Nodes claiming no identity are
    /// let in without proof and are served no secrets. Requires <see cref="AddCertificateAuthority"/>.
    /// </summary>
    /// <remarks>
    /// The <c>Secret</c> type is served from a cache of its own (a <see cref="SnapshotCache"/> keyed
    /// <see cref="WorkloadSecretsCacheKey"/>, grouped by identity), whatever the default cache serves; secrets
    /// of the default cache are therefore not served. An identity stays held (and renewed) while streams use it,
    /// and is released once no stream has used it for <see cref="WorkloadSecretPublisherOptions.IdleTimeout"/>.
    /// Failed renewals are retried with backoff and reported by the <c>certificate-authority</c> health check.
    /// </remarks>
    /// <param name="builder">The xDS server builder.</param>
    /// <param name="rotation">Lifetime asked for, renewal and retry timing; null for the defaults (the CA's default
    /// lifetime, renewal at 50 % ± 10 %, retries from 5 seconds up to 5 minutes apart).</param>
    /// <param name="publishing">When idle identities are released; null for the defaults (after 1 hour).</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="InvalidOperationException"><see cref="AddCertificateAuthority"/> was not called first.</exception>
    /// <exception cref="ArgumentException"><paramref name="rotation"/> or <paramref name="publishing"/> is invalid.</exception>
    public static IXdsServerBuilder AddWorkloadSecrets(this IXdsServerBuilder builder, WorkloadCertificateRotatorOptions? rotation = null,
        WorkloadSecretPublisherOptions? publishing = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        rotation ??= new WorkloadCertificateRotatorOptions();
        rotation.Validate();
        publishing ??= new WorkloadSecretPublisherOptions();
        publishing.Validate();
        var services = builder.Services;
        var host = services.FirstOrDefault(d => d.ServiceType == typeof(CertificateAuthorityHostOptions))?.ImplementationInstance as CertificateAuthorityHostOptions
            ?? throw new InvalidOperationException("AddWorkloadSecrets needs the certificate authority: call AddCertificateAuthority first.");

        var nodeHash = new WorkloadIdentityNodeHash(host.Authority.TrustDomain);
        services.TryAddSingleton(sp => new WorkloadCertificateRotator(
            sp.GetRequiredService<RotatingCertificateAuthority>(), rotation, sp.GetRequiredService<TimeProvider>(), random: null,
            sp.GetService<ILogger<WorkloadCertificateRotator>>(), sp.GetRequiredService<CaMetrics>()));
        services.TryAddKeyedSingleton(WorkloadSecretsCacheKey, (sp, _) => new SnapshotCache(
            new SnapshotCacheOptions { NodeHash = nodeHash, MeterFactory = sp.GetService<IMeterFactory>() },
            sp.GetRequiredService<TimeProvider>(), sp.GetService<ILogger<SnapshotCache>>()));
        services.TryAddSingleton(sp => new WorkloadSecretPublisher(
            sp.GetRequiredService<WorkloadCertificateRotator>(), sp.GetRequiredKeyedService<SnapshotCache>(WorkloadSecretsCacheKey),
            options: publishing, timeProvider: sp.GetRequiredService<TimeProvider>(), logger: sp.GetService<ILogger<WorkloadSecretPublisher>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<INodeAuthorizer, SpiffeNodeAuthorizer>(sp =>
        {
            var publisher = sp.GetRequiredService<WorkloadSecretPublisher>();
            return new SpiffeNodeAuthorizer(sp.GetServices<ICallerAuthenticator>(), nodeHash, publisher.GroupOf)
            {
                UnclaimedGroup = WorkloadIdentityNodeHash.Unclaimed,
                RequireProvenIdentity = host.RequireProvenIdentity,
                OnAuthorized = identity => publisher.Ensure(identity),
            };
        }));
        return builder.AddCache(TypeUrls.Secret, sp => sp.GetRequiredKeyedService<SnapshotCache>(WorkloadSecretsCacheKey));
    }

    /// <summary>The service key of the <see cref="SnapshotCache"/> that <see cref="AddWorkloadSecrets"/> serves
    /// secrets from: <c>[FromKeyedServices(WorkloadSecretsCacheKey)] SnapshotCache</c>.</summary>
    public const string WorkloadSecretsCacheKey = "xds-workload-secrets";
}
