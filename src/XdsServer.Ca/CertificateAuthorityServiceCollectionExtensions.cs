using Microsoft.Extensions.DependencyInjection.Extensions;
using XdsServer;
using XdsServer.Ca;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the certificate authority to an xDS server.</summary>
public static class CertificateAuthorityServiceCollectionExtensions
{
    /// <summary>Registers the CA (<see cref="CertificateAuthority"/>, <see cref="WorkloadCertificateIssuer"/>), the
    /// caller authenticators (client certificate, bearer token) and, when configured, a
    /// <see cref="StaticTokenReviewer"/>. Map the gRPC API with <c>app.MapCertificateAuthority()</c>. Further token
    /// reviewers are added as <see cref="ITokenReviewer"/> services; further authenticators as
    /// <see cref="ICallerAuthenticator"/> services (run after the built-in ones).</summary>
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
        services.TryAddSingleton(options);
        services.TryAddSingleton(sp =>
        {
            var clock = sp.GetRequiredService<TimeProvider>();
            return options.Folder is null
                ? CertificateAuthority.CreateSelfSigned(options.Authority, clock)
                : CertificateAuthority.LoadOrCreate(options.Folder, options.Authority, clock);
        });
        services.TryAddSingleton(sp => new WorkloadCertificateIssuer(
            sp.GetRequiredService<CertificateAuthority>(), options.Workload, sp.GetRequiredService<TimeProvider>()));

        if (options.AcceptClientCertificates)
        {
            services.TryAddEnumerable(ServiceDescriptor.Singleton<ICallerAuthenticator, ClientCertificateAuthenticator>(sp =>
                new ClientCertificateAuthenticator(sp.GetRequiredService<CertificateAuthority>(), sp.GetRequiredService<TimeProvider>())));
        }
        if (options.AcceptBearerTokens)
        {
            services.TryAddEnumerable(ServiceDescriptor.Singleton<ICallerAuthenticator, BearerTokenAuthenticator>());
        }
        if (options.StaticTokenFile is { } tokenFile)
        {
            services.TryAddEnumerable(ServiceDescriptor.Singleton<ITokenReviewer, StaticTokenReviewer>(_ => StaticTokenReviewer.LoadFromFile(tokenFile)));
        }
        return builder;
    }
}
