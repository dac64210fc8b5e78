using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace XdsServer.Ca.Internal;

/// <summary>Reads URI SANs, which <see cref="X509SubjectAlternativeNameExtension"/> does not enumerate.</summary>
internal static class SubjectAlternativeNames
{
    // RFC 5280 4.2.1.6: GeneralName ::= CHOICE { ... uniformResourceIdentifier [6] IA5String ... }
    private static readonly Asn1Tag UriTag = new(TagClass.ContextSpecific, 6);

    /// <summary>The certificate's URI SANs, or <see langword="null"/> when the extension is malformed.</summary>
    public static List<string>? ReadUris(X509Certificate2 certificate)
    {
        var uris = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != "2.5.29.17")
            {
                continue;
            }
            try
            {
                var reader = new AsnReader(extension.RawData, AsnEncodingRules.DER);
                var names = reader.ReadSequence();
                reader.ThrowIfNotEmpty();
                while (names.HasData)
                {
                    var tag = names.PeekTag();
                    if (tag.HasSameClassAndValue(UriTag))
                    {
                        uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, UriTag));
                    }
                    else
                    {
                        names.ReadEncodedValue();
                    }
                }
            }
            catch (AsnContentException)
            {
                return null;
            }
        }
        return uris;
    }
}
