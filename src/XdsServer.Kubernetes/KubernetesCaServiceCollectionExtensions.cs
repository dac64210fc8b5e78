using k8s;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using XdsServer;
using XdsServer.Ca;
using XdsServer.Kubernetes;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Connects the certificate authority to Kubernetes: TokenReview for bearer tokens, the CA root in a
/// Secret shared by all replicas.</summary>
public static class KubernetesCaServiceCollectionExtensions
{
    /// <summary>Registers a <see cref="KubernetesTokenReviewer"/> as an <see cref="ITokenReviewer"/> (also resolvable
    /// as itself), so the bearer token authenticator of <c>AddCertificateAuthority</c> accepts Kubernetes service
    /// account tokens. Uses the registered <see cref="IKubernetes"/> when the options name no client or kubeconfig.</summary>
    /// <param name="builder">The xDS server builder.</param>
    /// <param name="configure">Sets audiences, trust domain, cache and client; the defaults when null.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static IXdsServerBuilder AddKubernetesTokenReview(this IXdsServerBuilder builder, Action<KubernetesTokenReviewOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new KubernetesTokenReviewOptions();
        configure?.Invoke(options);
        options.Validate();
        var services = builder.Services;
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp =>
        {
            if (options.Client is null && options.KubeConfigPath is null && sp.GetService<IKubernetes>() is { } shared)
            {
                options.Client = shared;
            }
            return new KubernetesTokenReviewer(options, sp.GetRequiredService<TimeProvider>(), sp.GetService<ILogger<KubernetesTokenReviewer>>());
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ITokenReviewer, KubernetesTokenReviewer>(sp => sp.GetRequiredService<KubernetesTokenReviewer>()));
        return builder;
    }

    /// <summary>
    /// Makes the CA's root come from Kubernetes (see <see cref="KubernetesCaRootStore"/>): registers the
    /// <see cref="RotatingCertificateAuthority"/> as loaded (or created once among all replicas) from a Secret, and a
    /// <see cref="KubernetesCaRootRotator"/> (a hosted service, also resolvable as itself) that keeps it on the
    /// Secret's root and renews a self-signed root before it ends, one replica at a time. Call it
    /// <em>before</em> <c>AddCertificateAuthority</c>, and leave that method's <c>Folder</c> unset:
    /// <c>AddCertificateAuthority</c> registers its own root with <c>TryAddSingleton</c>, so the registration made
    /// here first takes precedence, while its authenticators, token file and health check still apply.
    /// </summary>
    /// <remarks>The first resolve of <see cref="RotatingCertificateAuthority"/> (at the latest when the host starts
    /// its hosted services, the rotator among them) blocks until the root is loaded, created, or the wait
    /// (<see cref="KubernetesCaRootOptions.WaitTimeout"/>) ends; a failure there (a malformed
    /// Secret, no RBAC permission) throws, so the host fails to start rather than sign under a root of its own. When
    /// <see cref="KubernetesCaRootOptions.Authority"/> is null, the root created is the one <c>AddCertificateAuthority</c>
    /// describes (its trust domain and key), and its workload lifetimes apply (the longest of them sets how long a
    /// rotated-out root stays trusted). The rotator's checks begin when the host starts; <see cref="KubernetesCaRootStore"/>
    /// is registered too, and disposed with the container.</remarks>
    /// <param name="builder">The xDS server builder.</param>
    /// <param name="configure">Sets the namespace, Secret and Lease names, replica id and client.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="InvalidOperationException">A <see cref="RotatingCertificateAuthority"/> is registered already
    /// (<c>AddCertificateAuthority</c> was called first).</exception>
    public static IXdsServerBuilder AddKubernetesCaRoot(this IXdsServerBuilder builder, Action<KubernetesCaRootOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new KubernetesCaRootOptions();
        configure(options);
        options.Validate();
        var services = builder.Services;
        if (services.Any(d => d.ServiceType == typeof(RotatingCertificateAuthority)))
        {
            throw new InvalidOperationException(
                "A RotatingCertificateAuthority is registered already: call AddKubernetesCaRoot before AddCertificateAuthority.");
        }
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp =>
        {
            var host = sp.GetService<CertificateAuthorityHostOptions>();
            if (host?.Folder is { } folder)
            {
                throw new InvalidOperationException(
                    $"AddCertificateAuthority names the CA folder \"{folder}\" while AddKubernetesCaRoot keeps the root in a Kubernetes Secret: use one of them.");
            }
            options.Authority ??= host?.Authority;
            if (options.Client is null && options.KubeConfigPath is null && sp.GetService<IKubernetes>() is { } shared)
            {
                options.Client = shared;
            }
            return new KubernetesCaRootStore(options, sp.GetRequiredService<TimeProvider>(), sp.GetService<ILogger<KubernetesCaRootStore>>());
        });
        services.AddSingleton(sp =>
        {
            var store = sp.GetRequiredService<KubernetesCaRootStore>();
            // A DI factory is synchronous; this runs once, at the first resolve, before anything is signed.
            var authority = store.LoadOrCreateAsync(CancellationToken.None).GetAwaiter().GetResult();
            return new RotatingCertificateAuthority(authority, sp.GetService<CertificateAuthorityHostOptions>()?.Workload, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton(sp =>
        {
            var authority = sp.GetRequiredService<RotatingCertificateAuthority>(); // loads first: the rotator starts from that load
            return new KubernetesCaRootRotator(sp.GetRequiredService<KubernetesCaRootStore>(), authority,
                sp.GetService<CertificateAuthorityHostOptions>()?.Workload, sp.GetRequiredService<TimeProvider>(),
                sp.GetService<ILogger<KubernetesCaRootRotator>>());
        });
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<KubernetesCaRootRotator>());
        return builder;
    }
}
