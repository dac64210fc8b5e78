// MeshHost: the Istio-compatible reference control plane (see README.md). It reads Kubernetes and Istio
// configuration (a folder of manifests, a live cluster, or the embedded demo mesh) into a service registry and
// serves every connected Envoy sidecar and gateway the configuration istiod would, plus its workload certificate.
// gRPC on --urls (HTTP/2, h2c on http://): ADS (SotW and delta), CreateCertificate, SDS, grpc.health.v1.Health
// (SERVING once discovery is ready and the first push context is built). HTTP/1.1 on --http-urls: /healthz, the
// SPIFFE trust bundle, and for loopback callers only the status page / and /debug/* (syncz, config_dump, registryz,
// configz, problems, proxies, push_status); CSDS on the gRPC port, also for loopback callers only.
//
//   dotnet run --project examples/MeshHost -c Release -- --urls http://127.0.0.1:15010 --http-urls http://127.0.0.1:15014 \
//       [--manifests DIR | --kubeconfig FILE | --in-cluster] [--ca DIR] [--ca-tokens FILE] [--domain cluster.local]
//   dotnet run --project examples/MeshHost -c Release -- proxy-status --server http://127.0.0.1:15010
using MeshHost;
using MeshHost.Hosting;
using XdsServer.Ca;

if (args.Length > 0 && args[0] == ProxyStatusCommand.Name)
{
    // MeshHost proxy-status --server <url>: the istioctl proxy-status table from the server's CSDS.
    return await ProxyStatusCommand.RunAsync(args[1..], Console.Out, Console.Error);
}

if (!CommandLine.TryParse(args, out var command, out var error))
{
    Console.Error.WriteLine($"MeshHost: {error}");
    Console.Error.WriteLine(CommandLine.Usage);
    return 2;
}

if (command.Help)
{
    Console.WriteLine(CommandLine.Usage);
    return 0;
}

MeshHostApplication host;
try
{
    host = await MeshHostApplication.StartAsync(command);
}
catch (MeshHostStartException e)
{
    Console.Error.WriteLine($"MeshHost: {e.Message}");
    return e.ExitCode;
}

await using (host)
{
    var log = host.App.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MeshHost");
    foreach (var endpoint in host.Endpoints)
    {
        MeshHostLog.Listening(log, endpoint.Address.ToString().TrimEnd('/'), endpoint.Serves);
    }

    switch (command.Mode)
    {
        case DiscoveryMode.Demo:
            MeshHostLog.DemoMesh(log, host.DemoManifests!);
            break;
        case DiscoveryMode.Manifests:
            MeshHostLog.Source(log, $"the manifests in {command.Manifests} (watched)");
            break;
        case DiscoveryMode.Kubeconfig:
            MeshHostLog.Source(log, $"the cluster of kubeconfig {command.Kubeconfig}");
            break;
        default:
            MeshHostLog.Source(log, "the cluster this pod runs in");
            break;
    }

    var root = host.App.Services.GetRequiredService<RotatingCertificateAuthority>().Current.RootCertificate;
    var proofs = new List<string> { "client certificates this CA issued" };
    if (command.CaTokens is { } tokens)
    {
        proofs.Add($"bearer tokens of {tokens}");
    }

    if (command.Mode is DiscoveryMode.Kubeconfig or DiscoveryMode.InCluster)
    {
        proofs.Add("service account tokens (Kubernetes TokenReview, audience istio-ca)");
    }

    MeshHostLog.CertificateAuthority(log, command.TrustDomain, root.Subject, host.CaWhere!, root.NotAfter.ToUniversalTime(), string.Join(", ", proofs));
    MeshHostLog.Serving(log, command.Domain, command.TrustDomain);
    await host.App.WaitForShutdownAsync();
}

return 0;
