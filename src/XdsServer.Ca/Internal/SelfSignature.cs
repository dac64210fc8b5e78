using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XdsServer.Ca.Internal;

/// <summary>Whether a certificate is self-signed: issued by its own subject and signed by its own key.</summary>
internal static class SelfSignature
{
    /// <summary>True when the issuer is the subject and the signature verifies with the certificate's own
    /// public key (ECDSA or RSA PKCS#1 v1.5 with SHA-256/384/512, what this package signs roots with).</summary>
    public static bool Verifies(X509Certificate2 certificate)
    {
        if (!certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData))
        {
            return false;
        }
        ReadOnlyMemory<byte> toBeSigned;
        string algorithm;
        byte[] signature;
        try
        {
            var reader = new AsnReader(certificate.RawDataMemory, AsnEncodingRules.DER);
            var sequence = reader.ReadSequence();
            toBeSigned = sequence.ReadEncodedValue();
            algorithm = sequence.ReadSequence().ReadObjectIdentifier();
            signature = sequence.ReadBitString(out _);
        }
        catch (AsnContentException)
        {
            return false;
        }

        (HashAlgorithmName Hash, bool Ecdsa)? scheme = algorithm switch
        {
            "1.2.840.10045.4.3.2" => (HashAlgorithmName.SHA256, true),
            "1.2.840.10045.4.3.3" => (HashAlgorithmName.SHA384, true),
            "1.2.840.10045.4.3.4" => (HashAlgorithmName.SHA512, true),
            "1.2.840.113549.1.1.11" => (HashAlgorithmName.SHA256, false),
            "1.2.840.113549.1.1.12" => (HashAlgorithmName.SHA384, false),
            "1.2.840.113549.1.1.13" => (HashAlgorithmName.SHA512, false),
            _ => null,
        };
        if (scheme is not { } s)
        {
            return false;
        }
        try
        {
            if (s.Ecdsa)
            {
                using var ecdsa = certificate.GetECDsaPublicKey();
                return ecdsa is not null && ecdsa.VerifyData(toBeSigned.Span, signature, s.Hash, DSASignatureFormat.Rfc3279DerSequence);
            }
            using var rsa = certificate.GetRSAPublicKey();
            return rsa is not null && rsa.VerifyData(toBeSigned.Span, signature, s.Hash, RSASignaturePadding.Pkcs1);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}
