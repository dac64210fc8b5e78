using System.Globalization;

namespace XdsLoad;

/// <summary>
/// The held-resource check (<c>--check</c>): at the end of a phase every proxy must hold, per type, exactly what the
/// server publishes for it (<c>GET /published</c>). Cluster and Listener: every published resource (wildcard);
/// Endpoint and Route: the published resources among the names the proxy subscribes to, and none of the subscribed
/// names the server does not publish. SotW proxies compare digests of the resource bytes (versions are per type
/// there), delta proxies their per-resource versions.
/// </summary>
internal static class HeldCheck
{
    private const int Shown = 5;

    /// <summary>Waits (polling, at most <paramref name="timeout"/>) until every proxy holds what the server publishes;
    /// null when they do, else the failure: proxies and resources that differ, the first few by name.</summary>
    public static async Task<string?> RunAsync(string phase, SimulatedProxy[] proxies, ServerHandle server, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var published = await server.PublishedAsync().ConfigureAwait(false);
            var failure = Compare(phase, proxies, published);
            if (failure is null || DateTime.UtcNow > deadline)
            {
                return failure;
            }

            await Task.Delay(250).ConfigureAwait(false);
        }
    }

    public static string? Compare(string phase, SimulatedProxy[] proxies, PublishedResult published)
    {
        var types = new Dictionary<string, PublishedResource>?[XdsType.Count];
        for (var t = 0; t < XdsType.Count; t++)
        {
            types[t] = published.Types.GetValueOrDefault(XdsType.Urls[t]);
        }

        var shown = new List<string>();
        var differing = 0;
        var resources = 0;
        foreach (var proxy in proxies)
        {
            var before = resources;
            for (var t = 0; t < XdsType.Count; t++)
            {
                var expected = types[t] ?? [];
                var held = proxy.HeldResources(t);
                var wildcard = t is XdsType.Cluster or XdsType.Listener;
                void Differs(string name, string? had, string? wanted)
                {
                    resources++;
                    if (shown.Count < Shown)
                    {
                        shown.Add(string.Create(CultureInfo.InvariantCulture,
                            $"proxy {proxy.Index} {XdsType.ShortNames[t]} '{name}': holds {had ?? "nothing"}, server published {wanted ?? "nothing"}"));
                    }
                }

                foreach (var (name, resource) in expected)
                {
                    if (!wildcard && !proxy.Subscribes(t, name))
                    {
                        continue;
                    }

                    var wanted = proxy.HeldAsDigests ? resource.Digest : resource.Version;
                    held.TryGetValue(name, out var had);
                    if (!string.Equals(had, wanted, StringComparison.Ordinal))
                    {
                        Differs(name, had, wanted);
                    }
                }

                foreach (var (name, had) in held)
                {
                    // A SotW proxy may keep resources it no longer subscribes to: only subscribed names count.
                    if (!expected.ContainsKey(name) && (wildcard || proxy.Subscribes(t, name)))
                    {
                        Differs(name, had, null);
                    }
                }
            }

            if (resources > before)
            {
                differing++;
            }
        }

        return differing == 0 ? null : string.Create(CultureInfo.InvariantCulture,
            $"held resources after {phase}: {differing}/{proxies.Length} proxies differ from what the server published ({resources} resources{(resources > shown.Count ? $", first {shown.Count}" : "")}: {string.Join("; ", shown)})");
    }
}
