using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using XdsServer.Ca.Internal;

namespace XdsServer.Ca;

/// <summary>Accepts the bearer tokens listed in a JSON file: an object mapping each token to the SPIFFE ID it
/// proves, such as <c>{"s3cret": "spiffe://cluster.local/ns/default/sa/web"}</c>. Each token may appear once, and
/// each identity may be proven by one token only. For tests and small fixed deployments.</summary>
/// <remarks>
/// <para><see cref="LoadFromFile"/> reads the file once; <see cref="WatchFile"/> also polls it on the given
/// <see cref="TimeProvider"/> (every <see cref="DefaultPollInterval"/> by default) and takes a changed file at
/// once, swapping the whole token map atomically, so a removed token is refused from the next request on. Every
/// poll reads the file and compares the SHA-256 of its content with that of the content last seen, rather than
/// its last-write time and length: that also catches a rewrite of the same length within the file system's
/// timestamp granularity, ignores a touch, and for a file of a few lines costs little. A valid new content is
/// logged at Information with the number of tokens; one that cannot be read or is not valid keeps the previous
/// tokens and logs a warning with the reason (once per distinct content).</para>
/// <para>Tokens are kept only as SHA-256 hashes and never logged or put in a message.</para>
/// </remarks>
public sealed class StaticTokenReviewer : ITokenReviewer, IDisposable
{
    /// <summary>How often <see cref="WatchFile"/> polls the file unless told otherwise: 2 seconds.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(2);

    private readonly Lock _pollLock = new();
    private readonly string? _path;
    private readonly ILogger _logger;
    private ITimer? _timer;
    private byte[]? _seen; // SHA-256 of the content last read (loaded or refused); null when the file was unreadable
    private string? _unreadable; // why the file could not be read at the last poll
    private bool _disposed;

    // Keyed by the token's SHA-256 (TokenFile.Hash). Replaced whole, never mutated: a request sees one file's map.
    private volatile FrozenDictionary<string, SpiffeId> _identities;

    /// <summary>Creates a reviewer over an in-memory token map.</summary>
    /// <param name="tokens">Token → identity.</param>
    /// <exception cref="ArgumentException">A token is empty or given twice, or two tokens map to one identity.</exception>
    public StaticTokenReviewer(IEnumerable<KeyValuePair<string, SpiffeId>> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var identities = new Dictionary<string, SpiffeId>(StringComparer.Ordinal);
        var proven = new HashSet<SpiffeId>();
        var index = 0;
        foreach (var (token, identity) in tokens)
        {
            ArgumentException.ThrowIfNullOrEmpty(token, nameof(tokens));
            ArgumentNullException.ThrowIfNull(identity, nameof(tokens));
            if (!identities.TryAdd(TokenFile.Hash(token), identity))
            {
                throw new ArgumentException($"Token {index} repeats an earlier token.", nameof(tokens));
            }
            if (!proven.Add(identity))
            {
                throw new ArgumentException($"Token {index} maps to {identity}, which an earlier token already maps to.", nameof(tokens));
            }
            index++;
        }
        _identities = identities.ToFrozenDictionary(StringComparer.Ordinal);
        _logger = NullLogger.Instance;
    }

    private StaticTokenReviewer(string path, byte[] seen, FrozenDictionary<string, SpiffeId> identities, ILogger logger)
    {
        _path = path;
        _seen = seen;
        _identities = identities;
        _logger = logger;
    }

    /// <summary>Raised after <see cref="WatchFile"/> took a changed token file whose tokens differ from those
    /// accepted before (on the timer's thread; a rewrite with the same tokens raises nothing). Subscribers that
    /// hold callers authenticated by a token (live streams) should check them again when
    /// <see cref="TokenReviewerChangedEventArgs.Revoked"/> is set. Handlers should be quick; one that throws is
    /// logged and does not stop the others or the polling.</summary>
    public event EventHandler<TokenReviewerChangedEventArgs>? Changed;

    /// <summary>How many tokens are accepted now.</summary>
    public int Count => _identities.Count;

    /// <summary>Loads a token file once.</summary>
    /// <param name="path">A JSON object mapping tokens to SPIFFE IDs.</param>
    /// <returns>The reviewer.</returns>
    /// <exception cref="InvalidDataException">The file cannot be read or is not such an object, repeats a token, or
    /// maps two tokens to one identity; the message names the file and the bad entry (by number, line and value,
    /// never by token).</exception>
    public static StaticTokenReviewer LoadFromFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var content = ReadFile(path);
        return new StaticTokenReviewer(path, SHA256.HashData(content), TokenFile.Parse(content, path), NullLogger.Instance);
    }

    /// <summary>Loads a token file and keeps watching it: see the remarks on <see cref="StaticTokenReviewer"/>.
    /// Dispose the reviewer to stop watching.</summary>
    /// <param name="path">A JSON object mapping tokens to SPIFFE IDs.</param>
    /// <param name="timeProvider">The clock the file is polled on; the system clock when null.</param>
    /// <param name="logger">Receives the loads (with the number of tokens) and the refused changes; none when null.</param>
    /// <param name="pollInterval">How often the file is read; <see cref="DefaultPollInterval"/> when null.</param>
    /// <returns>The reviewer, watching.</returns>
    /// <exception cref="InvalidDataException">The file is not valid now, as for <see cref="LoadFromFile"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pollInterval"/> is not positive.</exception>
    public static StaticTokenReviewer WatchFile(string path, TimeProvider? timeProvider = null, ILogger? logger = null, TimeSpan? pollInterval = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var interval = pollInterval ?? DefaultPollInterval;
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero, nameof(pollInterval));
        logger ??= NullLogger.Instance;

        var content = ReadFile(path);
        var reviewer = new StaticTokenReviewer(path, SHA256.HashData(content), TokenFile.Parse(content, path), logger);
        CaLog.TokenFileLoaded(logger, path, reviewer.Count);
        reviewer._timer = (timeProvider ?? TimeProvider.System).CreateTimer(static state => ((StaticTokenReviewer)state!).Poll(),
            reviewer, interval, interval);
        return reviewer;
    }

    /// <inheritdoc />
    public ValueTask<CallerAuthenticationResult> ReviewAsync(string token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(token);
        return ValueTask.FromResult(_identities.TryGetValue(TokenFile.Hash(token), out var identity)
            ? CallerAuthenticationResult.Success(identity)
            : CallerAuthenticationResult.Fail("the bearer token is not in the static token file"));
    }

    /// <summary>Stops watching the file; the tokens last loaded stay accepted.</summary>
    public void Dispose()
    {
        lock (_pollLock)
        {
            _disposed = true;
            _timer?.Dispose();
        }
    }

    /// <summary>Reads the file and, when its content changed, takes it or says why not. Polls never overlap.</summary>
    internal void Poll()
    {
        TokenReviewerChangedEventArgs? change;
        lock (_pollLock)
        {
            if (_disposed)
            {
                return;
            }
            try
            {
                change = Check(_path!);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // On a timer thread an exception would end the process; the previous tokens stay in force.
                CaLog.TokenFilePollFailed(_logger, _path!, ex);
                return;
            }
        }
        if (change is not null)
        {
            RaiseChanged(change);
        }
    }

    private TokenReviewerChangedEventArgs? Check(string path)
    {
        byte[] content;
        try
        {
            content = ReadFile(path);
        }
        catch (InvalidDataException ex)
        {
            if (_unreadable != ex.Message)
            {
                _unreadable = ex.Message;
                _seen = null;
                CaLog.TokenFileRejected(_logger, path, Count, ex.Message);
            }
            return null;
        }
        _unreadable = null;

        var hash = SHA256.HashData(content);
        if (_seen is not null && hash.AsSpan().SequenceEqual(_seen))
        {
            return null;
        }
        _seen = hash;

        FrozenDictionary<string, SpiffeId> identities;
        try
        {
            identities = TokenFile.Parse(content, path);
        }
        catch (InvalidDataException ex)
        {
            CaLog.TokenFileRejected(_logger, path, Count, ex.Message);
            return null;
        }
        var previous = _identities;
        var revoked = previous.Any(p => !identities.TryGetValue(p.Key, out var now) || now != p.Value);
        CaLog.TokenFileReloaded(_logger, path, identities.Count, revoked);
        if (!revoked && identities.Count == previous.Count)
        {
            return null; // the same tokens, written differently: nothing changed for callers
        }
        _identities = identities;
        return new TokenReviewerChangedEventArgs(identities.Count, revoked);
    }

    private void RaiseChanged(TokenReviewerChangedEventArgs change)
    {
        if (Changed is not { } handlers)
        {
            return;
        }
        foreach (var handler in handlers.GetInvocationList().Cast<EventHandler<TokenReviewerChangedEventArgs>>())
        {
            try
            {
                handler(this, change);
            }
            catch (Exception ex)
            {
                // A handler belongs to someone else; it must not stop the others or the polling timer.
                CaLog.TokenChangedHandlerFailed(_logger, _path ?? "", ex);
            }
        }
    }

    private static byte[] ReadFile(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"Token file \"{path}\" cannot be read: {ex.Message}", ex);
        }
    }
}
