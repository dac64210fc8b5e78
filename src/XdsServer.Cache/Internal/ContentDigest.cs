using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;

namespace XdsServer.Cache.Internal;

/// <summary>
/// The digest of one resource version: SHA-256 over its name, its serialized bytes and any explicit
/// version. Computed once, when the resource is created; never again for the same version.
/// </summary>
internal static class ContentDigest
{
    public static ulong Compute(string name, ByteString bytes, string? explicitVersion)
    {
        var nameBytes = Encoding.UTF8.GetByteCount(name);
        var versionBytes = explicitVersion is null ? 0 : Encoding.UTF8.GetByteCount(explicitVersion);
        var length = nameBytes + 1 + bytes.Length + 1 + versionBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var span = buffer.AsSpan(0, length);
            Encoding.UTF8.GetBytes(name, span);
            span[nameBytes] = 0;
            bytes.Span.CopyTo(span[(nameBytes + 1)..]);
            span[nameBytes + 1 + bytes.Length] = 0;
            if (explicitVersion is not null)
            {
                Encoding.UTF8.GetBytes(explicitVersion, span[(nameBytes + 2 + bytes.Length)..]);
            }

            Span<byte> hash = stackalloc byte[32];
            SHA256.HashData(span, hash);
            return BinaryPrimitives.ReadUInt64LittleEndian(hash);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Formats a digest as 16 lower-case hex digits.</summary>
    public static string Format(ulong digest) => digest.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
}
