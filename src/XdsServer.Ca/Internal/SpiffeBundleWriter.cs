using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace XdsServer.Ca.Internal;

/// <summary>
/// Writes X.509 roots as a SPIFFE bundle: an RFC 7517 JWK Set with the SPIFFE parameters
/// (SPIFFE Trust Domain and Bundle, section 4; X509-SVID, section 6.1).
/// </summary>
internal static class SpiffeBundleWriter
{
    // RFC 5480 2.1.1.1 named curves, by OID, with the RFC 7518 6.2.1.1 "crv" name and coordinate length in bytes.
    private static readonly Dictionary<string, (string Name, int Size)> Curves = new(StringComparer.Ordinal)
    {
        ["1.2.840.10045.3.1.7"] = ("P-256", 32),
        ["1.3.132.0.34"] = ("P-384", 48),
        ["1.3.132.0.35"] = ("P-521", 66),
    };

    /// <summary>The bundle document as UTF-8 JSON text.</summary>
    /// <exception cref="NotSupportedException">A root's public key cannot be written as a JWK.</exception>
    public static string Write(IReadOnlyList<X509Certificate2> roots, long sequenceNumber, long? refreshHintSeconds)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            // Trust Domain and Bundle 4.1.1: spiffe_sequence SHOULD be set and changes whenever the contents do.
            writer.WriteNumber("spiffe_sequence", sequenceNumber);
            // 4.1.2: spiffe_refresh_hint, when set, is the suggested refresh interval in whole seconds.
            if (refreshHintSeconds is { } seconds)
            {
                writer.WriteNumber("spiffe_refresh_hint", seconds);
            }
            writer.WriteStartArray("keys");
            foreach (var root in roots)
            {
                WriteAuthority(writer, root);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteAuthority(Utf8JsonWriter writer, X509Certificate2 root)
    {
        // Read the key first, so an unsupported root throws before half a JWK is written.
        using var ecdsa = root.GetECDsaPublicKey();
        using var rsa = ecdsa is null ? root.GetRSAPublicKey() : null;
        ECParameters? ec = ecdsa?.ExportParameters(includePrivateParameters: false);
        RSAParameters? rsaKey = rsa?.ExportParameters(includePrivateParameters: false);
        (string Name, int Size) curve = default;
        if (ec is { } ecParameters && (!ecParameters.Curve.IsNamed || ecParameters.Curve.Oid.Value is not { } oid || !Curves.TryGetValue(oid, out curve)))
        {
            throw Unsupported(root, $"EC curve {ecParameters.Curve.Oid.FriendlyName ?? ecParameters.Curve.Oid.Value ?? "(explicit)"}");
        }
        if (ec is null && rsaKey is null)
        {
            throw Unsupported(root, $"key algorithm {root.PublicKey.Oid.FriendlyName ?? root.PublicKey.Oid.Value}");
        }

        writer.WriteStartObject();
        writer.WriteString("kty", ec is not null ? "EC" : "RSA");
        // X509-SVID 6.1: use is "x509-svid", kid MUST NOT be set, and x5c holds exactly this one CA certificate
        // (RFC 7517 4.7: standard base64 of the DER, not base64url).
        writer.WriteString("use", "x509-svid");
        writer.WriteStartArray("x5c");
        writer.WriteStringValue(Convert.ToBase64String(root.RawDataMemory.Span));
        writer.WriteEndArray();
        if (ec is { } point)
        {
            // RFC 7518 6.2.1.2-3: each coordinate is the full field size in bytes, base64url without padding.
            writer.WriteString("crv", curve.Name);
            writer.WriteString("x", Base64Url.EncodeToString(FixedLength(point.Q.X!, curve.Size)));
            writer.WriteString("y", Base64Url.EncodeToString(FixedLength(point.Q.Y!, curve.Size)));
        }
        else if (rsaKey is { } key)
        {
            // RFC 7518 6.3.1: n and e are Base64urlUInt, the shortest big-endian form.
            writer.WriteString("n", Base64Url.EncodeToString(Unsigned(key.Modulus!)));
            writer.WriteString("e", Base64Url.EncodeToString(Unsigned(key.Exponent!)));
        }
        writer.WriteEndObject();
    }

    private static byte[] FixedLength(byte[] coordinate, int size)
    {
        var value = Unsigned(coordinate);
        if (value.Length > size)
        {
            throw new CryptographicException($"An EC coordinate of {value.Length} bytes does not fit the curve's {size}.");
        }
        var result = new byte[size];
        value.CopyTo(result.AsSpan(size - value.Length));
        return result;
    }

    /// <summary>The value without leading zero bytes; zero itself stays one byte (RFC 7518 2, Base64urlUInt).</summary>
    private static ReadOnlySpan<byte> Unsigned(byte[] bigEndian)
    {
        var span = bigEndian.AsSpan();
        while (span.Length > 1 && span[0] == 0)
        {
            span = span[1..];
        }
        return span;
    }

    private static NotSupportedException Unsupported(X509Certificate2 root, string what) =>
        new($"Root \"{root.Subject}\" cannot be written to a SPIFFE bundle: {what} has no JWK form here (supported: EC P-256, P-384, P-521 and RSA).");
}
