using System.Diagnostics.CodeAnalysis;

namespace XdsServer.Cache.Internal;

/// <summary>
/// A stream's subscription to one type of one cache: the signal to give and how to read the current set. The cache
/// keeps it in a <see cref="RegistrationSet"/> per type, and signals outside its lock.
/// </summary>
internal sealed class ChangeRegistration(string typeUrl, Action changed, Func<string, (ResourceSet? Set, Snapshot? Snapshot)> current,
    Action<ChangeRegistration> remove) : IChangeRegistration
{
    private int _disposed;

    public string TypeUrl { get; } = typeUrl;

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Gives the signal; a failing callback is the stream's problem and must not stop the other signals.</summary>
    public bool Signal()
    {
        if (IsDisposed)
        {
            return false;
        }

        changed();
        return true;
    }

    public bool TryGetCurrent([NotNullWhen(true)] out ResourceSet? resources, out Snapshot? snapshot)
    {
        (resources, snapshot) = current(TypeUrl);
        return resources is not null;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            remove(this);
        }
    }

    /// <summary>Signals <paramref name="registrations"/> (arrays in ADS order of their type), outside every lock.</summary>
    public static void SignalAll(IEnumerable<ChangeRegistration[]>? registrations, Microsoft.Extensions.Logging.ILogger logger,
        WatchEvaluations? signals = null)
    {
        foreach (var array in registrations ?? [])
        {
            foreach (var registration in array)
            {
                try
                {
                    if (registration.Signal())
                    {
                        signals?.Count(registration.TypeUrl);
                    }
                }
                catch (Exception e)
                {
                    CacheLog.ResponseCallbackFailed(logger, e, registration.TypeUrl);
                }
            }
        }
    }
}

/// <summary>
/// The registrations of one type: adding and removing cost O(1) (thousands of streams subscribe and leave at once when
/// proxies reconnect), and the array an update signals is made once per change of membership, when an update needs it.
/// </summary>
/// <remarks>Thread rule: every member is called under the owning cache's lock; the array <see cref="ToArray"/> returns is
/// never changed afterwards, so it is signalled outside that lock.</remarks>
internal sealed class RegistrationSet
{
    private readonly HashSet<ChangeRegistration> _members = [];
    private ChangeRegistration[]? _array;

    public int Count => _members.Count;

    public void Add(ChangeRegistration registration)
    {
        _members.Add(registration);
        _array = null;
    }

    public bool Remove(ChangeRegistration registration)
    {
        if (!_members.Remove(registration))
        {
            return false;
        }

        _array = null;
        return true;
    }

    public ChangeRegistration[] ToArray() => _array ??= [.. _members];
}
