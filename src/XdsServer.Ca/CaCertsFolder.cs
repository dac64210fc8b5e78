namespace XdsServer.Ca;

/// <summary>
/// File names of Istio's <c>cacerts</c> layout, shared by a plugged-in CA and one this package creates.
/// </summary>
public static class CaCertsFolder
{
    /// <summary>The signing (CA) certificate: the root itself, or an intermediate.</summary>
    public const string CaCertFile = "ca-cert.pem";

    /// <summary>The signing certificate's private key (PKCS#8, SEC1 or PKCS#1 PEM).</summary>
    public const string CaKeyFile = "ca-key.pem";

    /// <summary>The root certificate workloads trust.</summary>
    public const string RootCertFile = "root-cert.pem";

    /// <summary>The chain from the signing certificate to the root, both included.</summary>
    public const string CertChainFile = "cert-chain.pem";

    internal static readonly string[] AllFiles = [CaCertFile, CaKeyFile, RootCertFile, CertChainFile];

    internal static bool HasAny(string folder) => AllFiles.Any(f => File.Exists(Path.Combine(folder, f)));

    /// <summary>Writes a file through a temporary name so a reader never sees half of it; keys are owner-only.</summary>
    internal static void Write(string folder, string fileName, string contents, bool secret)
    {
        var path = Path.Combine(folder, fileName);
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (secret && !OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var writer = new StreamWriter(temporary, options))
        {
            writer.Write(contents);
        }
        File.Move(temporary, path, overwrite: true);
    }

    internal static string Read(string folder, string fileName)
    {
        var path = Path.Combine(folder, fileName);
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"CA folder \"{folder}\" has no {fileName}.");
        }
        return File.ReadAllText(path);
    }
}
