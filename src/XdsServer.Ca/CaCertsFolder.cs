using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using XdsServer.Ca.Internal;

namespace XdsServer.Ca;

/// <summary>
/// File names of Istio's <c>cacerts</c> layout, shared by a plugged-in CA and one this package creates.
/// </summary>
/// <remarks>
/// Files are written crash-safely: each goes to a fresh temporary file in the same folder, named
/// <c>.&lt;file&gt;.&lt;32 hex digits&gt;.tmp</c> (created new, never an existing path; owner-only from creation
/// for the key), is flushed to disk, then renamed into place, so a reader sees either the whole file or none.
/// Temporary files of that pattern left by an interrupted write are deleted when the folder is loaded. A
/// folder this package creates is owner-only (mode 0700 on Unix).
/// </remarks>
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

    /// <summary>The files a CA cannot be loaded without (<see cref="CertChainFile"/> is optional).</summary>
    internal static readonly string[] RequiredFiles = [CaCertFile, CaKeyFile, RootCertFile];

    private const string TemporarySuffix = ".tmp";
    private const int TemporaryRandomBytes = 16;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private static readonly SearchValues<char> LowerHexDigits = SearchValues.Create("0123456789abcdef");

    internal static bool HasAny(string folder) => AllFiles.Any(f => File.Exists(Path.Combine(folder, f)));

    /// <summary>Creates <paramref name="folder"/> owner-only (0700) when it does not exist; an existing folder is
    /// left as it is.</summary>
    internal static void CreateFolder(string folder)
    {
        if (Directory.Exists(folder))
        {
            return;
        }
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(folder, OwnerOnlyFolder);
        }
    }

    /// <summary>The temporary name a write of <paramref name="fileName"/> goes through: hidden, random, ours.</summary>
    internal static string TemporaryName(string fileName) =>
        "." + fileName + "." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(TemporaryRandomBytes)) + TemporarySuffix;

    /// <summary>Whether <paramref name="name"/> is a temporary file a write of ours leaves when interrupted: the
    /// current pattern, or <c>&lt;file&gt;.tmp</c> of earlier versions.</summary>
    internal static bool IsTemporaryName(string name)
    {
        foreach (var file in AllFiles)
        {
            if (name == file + TemporarySuffix)
            {
                return true;
            }
            var prefix = "." + file + ".";
            if (name.Length == prefix.Length + (2 * TemporaryRandomBytes) + TemporarySuffix.Length
                && name.StartsWith(prefix, StringComparison.Ordinal)
                && name.EndsWith(TemporarySuffix, StringComparison.Ordinal)
                && !name.AsSpan(prefix.Length, 2 * TemporaryRandomBytes).ContainsAnyExcept(LowerHexDigits))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Writes a file so that a reader, or a restart after a crash, sees all of it or none: a new temporary file
    /// (<see cref="FileMode.CreateNew"/>, so no existing path or link is followed; 0600 from creation when
    /// <paramref name="secret"/>), flushed to disk, then renamed to <paramref name="fileName"/>. Refuses to
    /// replace an existing file.
    /// </summary>
    /// <exception cref="IOException"><paramref name="fileName"/> already exists, or the write failed.</exception>
    internal static void Write(string folder, string fileName, string contents, bool secret)
    {
        var path = Path.Combine(folder, fileName);
        var temporary = Path.Combine(folder, TemporaryName(fileName));
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (secret && !OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = OwnerOnlyFile;
        }
        var stream = new FileStream(temporary, options);
        try
        {
            using (stream)
            {
                stream.Write(Encoding.UTF8.GetBytes(contents));
                stream.Flush(flushToDisk: true);
            }
            // Without overwrite the move fails when the file appeared meanwhile (another process saving a CA),
            // rather than mixing two CAs' files.
            File.Move(temporary, path, overwrite: false);
        }
        catch
        {
            File.Delete(temporary); // ours: CreateNew made it
            throw;
        }
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

    /// <summary>Deletes the temporary files interrupted writes of ours left in <paramref name="folder"/>.</summary>
    internal static void RemoveStaleTemporaryFiles(string folder, ILogger logger)
    {
        if (!Directory.Exists(folder))
        {
            return;
        }
        foreach (var path in Directory.EnumerateFiles(folder))
        {
            if (IsTemporaryName(Path.GetFileName(path)))
            {
                File.Delete(path);
                CaLog.StaleTemporaryFileRemoved(logger, path);
            }
        }
    }

    /// <summary>Warns when the key file can be read (or written) by others than its owner.</summary>
    internal static void WarnIfKeyIsNotOwnerOnly(string folder, ILogger logger)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var path = Path.Combine(folder, CaKeyFile);
        var mode = File.GetUnixFileMode(path);
        if ((mode & GroupOrOther) != 0)
        {
            CaLog.CaKeyNotOwnerOnly(logger, path, FormatMode(mode));
        }
    }

    /// <summary>A Unix mode as chmod takes it, such as <c>0644</c>.</summary>
    internal static string FormatMode(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0xFFF, 8).PadLeft(3, '0');
}
