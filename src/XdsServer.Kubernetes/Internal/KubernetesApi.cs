using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;

namespace XdsServer.Kubernetes.Internal;

/// <summary>
/// List and watch requests to the API server over the Kubernetes client's connection (its TLS setup and
/// credentials), with the responses read here: a watch is a stream of JSON lines the informer reads one by one, so
/// it sees bookmarks, ERROR events and a stalled stream itself.
/// </summary>
internal sealed class KubernetesApi(k8s.Kubernetes client)
{
    private readonly Uri _base = client.BaseUri.AbsoluteUri.EndsWith('/') ? client.BaseUri : new Uri(client.BaseUri.AbsoluteUri + "/");

    /// <summary>Lists every object of a kind (in a namespace or all) and the list's resource version.</summary>
    public async Task<(string ResourceVersion, IReadOnlyList<IKubernetesObject<V1ObjectMeta>> Items)> ListAsync(
        WatchedKind kind, string? ns, string? labelSelector, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(kind.Path(ns) + Query(labelSelector, null), cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var document = await JsonDocument.ParseAsync(stream, default, cancellationToken).ConfigureAwait(false);
            var root = document.RootElement;
            var resourceVersion = root.GetProperty("metadata").GetProperty("resourceVersion").GetString()
                ?? throw new JsonException($"the {kind} list has no resourceVersion");
            List<IKubernetesObject<V1ObjectMeta>> items = [];
            if (root.TryGetProperty("items", out var array) && array.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in array.EnumerateArray())
                {
                    items.Add(kind.Parse(item));
                }
            }

            return (resourceVersion, items);
        }
    }

    /// <summary>Opens a watch from <paramref name="resourceVersion"/> with bookmarks; the caller reads and disposes
    /// the response.</summary>
    public Task<HttpResponseMessage> WatchAsync(WatchedKind kind, string? ns, string? labelSelector, string resourceVersion,
        int timeoutSeconds, CancellationToken cancellationToken) =>
        SendAsync(kind.Path(ns) + Query(labelSelector, (resourceVersion, timeoutSeconds)), cancellationToken);

    private static string Query(string? labelSelector, (string ResourceVersion, int TimeoutSeconds)? watch)
    {
        var query = new StringBuilder();
        void Add(string name, string value) => query.Append(query.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
        if (!string.IsNullOrEmpty(labelSelector))
        {
            Add("labelSelector", labelSelector);
        }

        if (watch is { } w)
        {
            Add("watch", "1");
            Add("allowWatchBookmarks", "true");
            Add("resourceVersion", w.ResourceVersion);
            Add("timeoutSeconds", w.TimeoutSeconds.ToString(CultureInfo.InvariantCulture));
        }

        return query.ToString();
    }

    private async Task<HttpResponseMessage> SendAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_base, pathAndQuery));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (client.Credentials is { } credentials)
        {
            await credentials.ProcessHttpRequestAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var response = await client.HttpClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            var message = $"{status} {response.ReasonPhrase}";
            try
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                if (KubernetesJson.Deserialize<V1Status>(body) is { Message: { Length: > 0 } text })
                {
                    message = $"{status} {text}";
                }
            }
            catch (JsonException)
            {
                // Not a Status object: the status line says enough.
            }

            throw new KubernetesApiException(status, message);
        }
    }
}
