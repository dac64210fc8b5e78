using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace XdsServer.Ca;

/// <summary>Accepts the bearer tokens listed in a JSON file: an object mapping each token to the SPIFFE ID it
/// proves, such as <c>{"s3cret": "spiffe://cluster.local/ns/default/sa/web"}</c>. For tests and small fixed
/// deployments; the file is read once.</summary>
public sealed class StaticTokenReviewer : ITokenReviewer
{
    // Keyed by the token's SHA-256 so a lookup's timing says nothing about how much of a token matched.
    private readonly Dictionary<string, SpiffeId> _identities;

    /// <summary>Creates a reviewer over an in-memory token map.</summary>
    /// <param name="tokens">Token → identity.</param>
    public StaticTokenReviewer(IEnumerable<KeyValuePair<string, SpiffeId>> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        _identities = new(StringComparer.Ordinal);
        foreach (var (token, identity) in tokens)
        {
            ArgumentException.ThrowIfNullOrEmpty(token, nameof(tokens));
            ArgumentNullException.ThrowIfNull(identity, nameof(tokens));
            _identities[Hash(token)] = identity;
        }
    }

    /// <summary>How many tokens are accepted.</summary>
    public int Count => _identities.Count;

    /// <summary>Loads a token file.</summary>
    /// <param name="path">A JSON object mapping tokens to SPIFFE IDs.</param>
    /// <returns>The reviewer.</returns>
    /// <exception cref="InvalidDataException">The file is not such an object; the message names the file and the
    /// bad entry (by position and value, never by token).</exception>
    public static StaticTokenReviewer LoadFromFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"Token file \"{path}\" cannot be read: {ex.Message}", ex);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            // JsonException messages give a position, never the content.
            throw new InvalidDataException($"Token file \"{path}\" is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException(
                    $"Token file \"{path}\" must hold a JSON object mapping bearer tokens to SPIFFE IDs, not a {document.RootElement.ValueKind}.");
            }
            var tokens = new List<KeyValuePair<string, SpiffeId>>();
            var entry = 0;
            foreach (var property in document.RootElement.EnumerateObject())
            {
                entry++;
                if (property.Name.Length == 0)
                {
                    throw new InvalidDataException($"Token file \"{path}\": entry {entry} has an empty token.");
                }
                if (property.Value.ValueKind != JsonValueKind.String)
                {
                    throw new InvalidDataException(
                        $"Token file \"{path}\": entry {entry} maps to a {property.Value.ValueKind}, not a SPIFFE ID string.");
                }
                var value = property.Value.GetString()!;
                if (!SpiffeId.TryParse(value, out var id, out var error))
                {
                    throw new InvalidDataException($"Token file \"{path}\": entry {entry} maps to \"{value}\", which is not a SPIFFE ID: {error}");
                }
                tokens.Add(new(property.Name, id));
            }
            return new StaticTokenReviewer(tokens);
        }
    }

    /// <inheritdoc />
    public ValueTask<CallerAuthenticationResult> ReviewAsync(string token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        return ValueTask.FromResult(_identities.TryGetValue(Hash(token), out var identity)
            ? CallerAuthenticationResult.Success(identity)
            : CallerAuthenticationResult.Fail("the bearer token is not in the static token file"));
    }

    private static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
