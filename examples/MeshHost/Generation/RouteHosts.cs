using System.Globalization;
using MeshHost.Model;
using XdsServer.Discovery;

namespace MeshHost.Generation;

/// <summary>Host name rules of route generation: istiod's wildcard matching of hosts and the domains a service's
/// virtual host answers to.</summary>
public static class RouteHosts
{
    /// <summary>Whether a host starts with <c>*</c>.</summary>
    public static bool IsWildcard(string host) => host.StartsWith('*');

    /// <summary>Whether every name <paramref name="host"/> covers is also covered by <paramref name="other"/>
    /// (<c>a.foo.com</c> ⊆ <c>*.foo.com</c> ⊆ <c>*</c>). Case-insensitive.</summary>
    public static bool SubsetOf(string host, string other)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(other);
        if (string.Equals(host, other, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        if (!IsWildcard(other))
        {
            return false;
        }
        var suffix = other[1..];
        return IsWildcard(host)
            ? host[1..].EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
            : host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) && host.Length > suffix.Length;
    }

    /// <summary>Whether two hosts (either may be a wildcard) have a name in common.</summary>
    public static bool Matches(string a, string b) => SubsetOf(a, b) || SubsetOf(b, a);

    /// <summary>istiod's intersection of host lists: for each pair, the more specific of the two when one covers
    /// the other.</summary>
    public static IReadOnlyList<string> Intersection(IEnumerable<string> hosts, IReadOnlyList<string> others)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentNullException.ThrowIfNull(others);
        var result = new List<string>();
        foreach (var h in hosts)
        {
            foreach (var o in others)
            {
                var pick = SubsetOf(h, o) ? h : SubsetOf(o, h) ? o : null;
                if (pick is not null && !result.Contains(pick, StringComparer.OrdinalIgnoreCase))
                {
                    result.Add(pick);
                }
            }
        }
        return result;
    }

    /// <summary>The hosts of a gateway server that a VirtualService in <paramref name="namespace"/> may bind:
    /// <c>ns/host</c> only when <c>ns</c> is that namespace or <c>*</c>, bare hosts always.</summary>
    public static IReadOnlyList<string> ServerHostsForNamespace(IEnumerable<string> serverHosts, string @namespace)
    {
        ArgumentNullException.ThrowIfNull(serverHosts);
        var result = new List<string>();
        foreach (var h in serverHosts)
        {
            var slash = h.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
            {
                result.Add(h);
                continue;
            }
            var ns = h[..slash];
            if (ns == @namespace || ns == "*")
            {
                result.Add(h[(slash + 1)..]);
            }
        }
        return result;
    }

    /// <summary>istiod's order of host names: exact names before wildcards, longer before shorter, then ordinal.</summary>
    public static int Compare(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var wa = IsWildcard(a);
        var wb = IsWildcard(b);
        if (wa != wb)
        {
            return wa ? 1 : -1;
        }
        return a.Length == b.Length ? string.CompareOrdinal(a, b) : b.Length.CompareTo(a.Length);
    }

    /// <summary>An address as a Host header holds it: IPv6 in brackets.</summary>
    public static string HostHeaderForm(string address) =>
        address.Contains(':', StringComparison.Ordinal) && !address.StartsWith('[') ? $"[{address}]" : address;

    /// <summary>The proxy's DNS domain (<c>&lt;ns&gt;.svc.&lt;domain&gt;</c>) that short names expand against: the
    /// one in its node id, else built from its namespace.</summary>
    public static string ProxyDnsDomain(PushContext context, Proxy proxy)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(proxy);
        return proxy.DnsDomain.Length > 0 ? proxy.DnsDomain : $"{proxy.Namespace}.svc.{context.Options.Domain}";
    }

    /// <summary>
    /// The domains of a service's virtual host as istiod generates them (httproute.go
    /// generateVirtualHostDomains): the FQDN, the short forms a client in the proxy's namespace can use
    /// (<c>name</c>, <c>name.ns.svc</c>, <c>name.ns</c> for a service in that namespace; <c>name.ns</c>,
    /// <c>name.ns.svc</c> for another), <c>*.</c> forms of all of them for a headless Kubernetes service, then the
    /// service's addresses. With <paramref name="withPort"/> each is followed by its <c>:port</c> form (istiod does
    /// that only for proxyless gRPC; Envoy sidecars get <c>ignore_port_in_host_matching</c> instead).
    /// </summary>
    /// <param name="service">The service.</param>
    /// <param name="port">The service port.</param>
    /// <param name="proxyDnsDomain">The proxy's DNS domain (<see cref="ProxyDnsDomain"/>).</param>
    /// <param name="withPort">Whether to add <c>:port</c> forms.</param>
    /// <param name="expanded">The short forms generated (istiod drops one that is also a known FQDN).</param>
    public static List<string> ServiceDomains(DiscoveredService service, int port, string proxyDnsDomain, bool withPort, out List<string> expanded)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(proxyDnsDomain);
        var domains = new List<string>();
        var p = withPort ? port : 0;
        expanded = AltHosts(service.Hostname, p, proxyDnsDomain);
        AppendWithPort(domains, service.Hostname, p);
        domains.AddRange(expanded);
        if (service.Key.Kind == RegistryKinds.Service && service.Addresses.Count == 0)
        {
            // A headless Kubernetes service (istiod's Passthrough resolution): pods are reached by their own names.
            foreach (var d in domains.ToList())
            {
                domains.Add("*." + d);
            }
        }
        foreach (var address in service.Addresses)
        {
            if (address.Length > 0 && address != "0.0.0.0" && !address.Contains('/', StringComparison.Ordinal))
            {
                AppendWithPort(domains, HostHeaderForm(address), p);
            }
        }
        return domains;
    }

    private static void AppendWithPort(List<string> domains, string domain, int port)
    {
        domains.Add(domain);
        if (port != 0)
        {
            domains.Add(string.Create(CultureInfo.InvariantCulture, $"{domain}:{port}"));
        }
    }

    // istiod's GenerateAltVirtualHosts.
    private static List<string> AltHosts(string hostname, int port, string proxyDomain)
    {
        var result = new List<string>();
        var svcInProxy = proxyDomain.IndexOf(".svc.", StringComparison.Ordinal);
        if (svcInProxy >= 0)
        {
            // Kubernetes: expand only <name>.<ns>.svc.<same suffix> names.
            if (!hostname.EndsWith(proxyDomain[svcInProxy..], StringComparison.Ordinal))
            {
                return result;
            }
            var svcInHost = hostname.IndexOf(".svc.", StringComparison.Ordinal);
            var firstDot = hostname.IndexOf('.', StringComparison.Ordinal);
            if (svcInHost <= 0 || firstDot + 1 >= hostname.Length || firstDot + 1 > svcInHost)
            {
                return result;
            }
            var name = hostname[..firstDot];
            var nameNs = hostname[..svcInHost];
            if (hostname[(firstDot + 1)..svcInHost] == proxyDomain[..svcInProxy])
            {
                AppendWithPort(result, name, port);
                AppendWithPort(result, nameNs + ".svc", port);
                AppendWithPort(result, nameNs, port);
            }
            else
            {
                AppendWithPort(result, nameNs, port);
                AppendWithPort(result, nameNs + ".svc", port);
            }
            return result;
        }

        // Not Kubernetes: the labels not shared with the proxy's domain, and those plus the first shared label.
        var hostParts = hostname.Split('.');
        var domainParts = proxyDomain.Split('.');
        var shared = 0;
        while (shared < Math.Min(hostParts.Length, domainParts.Length)
            && hostParts[^(shared + 1)] == domainParts[^(shared + 1)])
        {
            shared++;
        }
        if (shared == 0 || proxyDomain.Length == 0)
        {
            return result;
        }
        var unique = hostParts[..^shared];
        if (unique.Length == 0)
        {
            return result;
        }
        var uniqueName = string.Join('.', unique);
        AppendWithPort(result, uniqueName, port);
        if (unique.Length == 2)
        {
            AppendWithPort(result, uniqueName + "." + hostParts[^shared], port);
        }
        return result;
    }
}
