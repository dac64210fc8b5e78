using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace XdsServer.Ca.Internal;

/// <summary>
/// Checks that a <c>cacerts</c> folder holds a whole CA before it is loaded. <see cref="CertificateAuthority.SaveToFolder"/>
/// writes the key, the root and the chain, and <c>ca-cert.pem</c> last, so a first start interrupted after the key
/// and the root leaves exactly <c>ca-cert.pem</c> missing: that is recovered, after checking the root is self-signed
/// and the key is its key. Any other partial set is refused; guessing there could put a different root in front of
/// workloads that trust the old one.
/// </summary>
internal static class CaFolderCompleteness
{
    /// <exception cref="InvalidDataException">A required file is missing and this is not our interrupted first start.</exception>
    public static void Ensure(string folder, ILogger logger)
    {
        if (!Directory.Exists(folder))
        {
            throw new InvalidDataException($"CA folder \"{folder}\" does not exist.");
        }
        var present = CaCertsFolder.AllFiles.Where(f => File.Exists(Path.Combine(folder, f))).ToList();
        var missing = CaCertsFolder.RequiredFiles.Where(f => !present.Contains(f)).ToList();
        if (missing.Count == 0)
        {
            return;
        }
        string? whyNotRecovered = null;
        if (missing is [CaCertsFolder.CaCertFile])
        {
            whyNotRecovered = TryRecoverFirstStart(folder, present, logger);
            if (whyNotRecovered is null)
            {
                return;
            }
        }
        var has = present.Count == 0 ? "none of the CA files" : string.Join(", ", present);
        var reason = whyNotRecovered is null ? "" : $" It is not an interrupted first start of this CA: {whyNotRecovered}.";
        throw new InvalidDataException(
            $"CA folder \"{folder}\" holds an incomplete CA: it has {has} but has no {string.Join(", ", missing)}.{reason} "
            + "Restore the missing files from a backup; or, if nothing trusts this root yet, remove the CA files "
            + $"({string.Join(", ", CaCertsFolder.AllFiles)}) from the folder to have a new root created.");
    }

    /// <summary>Writes the files an interrupted <see cref="CertificateAuthority.SaveToFolder"/> left out; returns
    /// null when it did, else why the folder is not such a leftover.</summary>
    private static string? TryRecoverFirstStart(string folder, List<string> present, ILogger logger)
    {
        X509Certificate2 root;
        try
        {
            root = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(folder, CaCertsFolder.RootCertFile)));
        }
        catch (CryptographicException)
        {
            return $"{CaCertsFolder.RootCertFile} does not hold a PEM certificate";
        }
        using (root)
        {
            if (!SelfSignature.Verifies(root))
            {
                return $"{CaCertsFolder.RootCertFile} is not self-signed";
            }
            if (!IsKeyOf(root, File.ReadAllText(Path.Combine(folder, CaCertsFolder.CaKeyFile))))
            {
                return $"{CaCertsFolder.CaKeyFile} is not the key of {CaCertsFolder.RootCertFile}";
            }

            var pem = root.ExportCertificatePem() + "\n";
            var written = new List<string>(2);
            if (!present.Contains(CaCertsFolder.CertChainFile))
            {
                CaCertsFolder.Write(folder, CaCertsFolder.CertChainFile, pem, secret: false);
                written.Add(CaCertsFolder.CertChainFile);
            }
            CaCertsFolder.Write(folder, CaCertsFolder.CaCertFile, pem, secret: false); // last, as SaveToFolder does
            written.Add(CaCertsFolder.CaCertFile);
            CaLog.InterruptedFirstStartRecovered(logger, folder, string.Join(", ", written), root.Subject);
            return null;
        }
    }

    private static bool IsKeyOf(X509Certificate2 certificate, string keyPem)
    {
        try
        {
            switch (certificate.PublicKey.Oid.Value)
            {
                case WellKnownOids.EcPublicKey:
                {
                    using var key = ECDsa.Create();
                    key.ImportFromPem(keyPem);
                    using var paired = certificate.CopyWithPrivateKey(key); // refuses a key that is not the certificate's
                    return true;
                }
                case WellKnownOids.RsaEncryption:
                {
                    using var key = RSA.Create();
                    key.ImportFromPem(keyPem);
                    using var paired = certificate.CopyWithPrivateKey(key);
                    return true;
                }
                default:
                    return false;
            }
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            return false;
        }
    }
}
