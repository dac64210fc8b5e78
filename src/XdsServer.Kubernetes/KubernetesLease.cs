using k8s;
using k8s.Models;
using XdsServer.Kubernetes.Internal;

namespace XdsServer.Kubernetes;

/// <summary>
/// A <c>coordination.k8s.io/v1</c> Lease held by one replica at a time: acquired when absent, free or expired,
/// renewed by its holder, released when done. Every change is a write carrying the <c>resourceVersion</c> last read,
/// so of two replicas racing for it the API server lets one through and answers the other 409 Conflict.
/// </summary>
/// <remarks>A lease has expired when its <c>renewTime</c> (else <c>acquireTime</c>) plus
/// <c>leaseDurationSeconds</c> has passed on this replica's clock (the injected <see cref="TimeProvider"/>); replicas
/// whose clocks disagree by more than a small part of <see cref="Duration"/> can take it over early. The service
/// account needs <c>get</c>, <c>create</c> and <c>update</c> on <c>leases</c> in the namespace.</remarks>
public sealed class KubernetesLease
{
    private readonly IKubernetes _client;
    private readonly TimeProvider _timeProvider;
    private DateTimeOffset? _heldUntil;

    /// <summary>Describes a lease; nothing is sent until it is acquired.</summary>
    /// <param name="client">The Kubernetes client.</param>
    /// <param name="namespace">The lease's namespace.</param>
    /// <param name="name">The lease's name.</param>
    /// <param name="holderIdentity">This replica's id, written as <c>holderIdentity</c>.</param>
    /// <param name="duration">How long the lease holds without renewal; whole seconds, at least one.</param>
    /// <param name="timeProvider">The clock; the system clock when null.</param>
    public KubernetesLease(IKubernetes client, string @namespace, string name, string holderIdentity, TimeSpan duration,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(holderIdentity);
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.FromSeconds(1));
        _client = client;
        Namespace = @namespace;
        Name = name;
        HolderIdentity = holderIdentity;
        Duration = TimeSpan.FromSeconds(Math.Ceiling(duration.TotalSeconds));
        _timeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The lease's namespace.</summary>
    public string Namespace { get; }

    /// <summary>The lease's name.</summary>
    public string Name { get; }

    /// <summary>This replica's id.</summary>
    public string HolderIdentity { get; }

    /// <summary>How long the lease holds without renewal.</summary>
    public TimeSpan Duration { get; }

    /// <summary>The holder seen at the last read (this replica after a successful acquisition); null when the lease
    /// was absent or free.</summary>
    public string? ObservedHolder { get; private set; }

    /// <summary>Whether this replica holds the lease by its last successful acquisition or renewal, and that has
    /// not expired since.</summary>
    public bool IsHeld => _heldUntil is { } until && until > _timeProvider.GetUtcNow();

    /// <summary>Acquires the lease when it is absent, free or expired, or renews it when this replica holds it.</summary>
    /// <param name="cancellationToken">Ends the attempt.</param>
    /// <returns>True when this replica holds the lease now; false when another does, or won a race for it.</returns>
    /// <exception cref="k8s.Autorest.HttpOperationException">The API server refused for another reason than a
    /// conflict (such as 403 Forbidden).</exception>
    public async Task<bool> TryAcquireAsync(CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        var lease = await ReadAsync(cancellationToken).ConfigureAwait(false);
        if (lease is null)
        {
            var created = new V1Lease
            {
                ApiVersion = "coordination.k8s.io/v1",
                Kind = "Lease",
                Metadata = new V1ObjectMeta { Name = Name, NamespaceProperty = Namespace },
                Spec = new V1LeaseSpec
                {
                    HolderIdentity = HolderIdentity,
                    LeaseDurationSeconds = (int)Duration.TotalSeconds,
                    AcquireTime = now.UtcDateTime,
                    RenewTime = now.UtcDateTime,
                    LeaseTransitions = 0,
                },
            };
            return await WriteAsync(() => _client.CoordinationV1.CreateNamespacedLeaseAsync(created, Namespace, cancellationToken: cancellationToken),
                now, previous: null).ConfigureAwait(false);
        }

        var spec = lease.Spec ??= new V1LeaseSpec();
        var previous = spec.HolderIdentity;
        if (previous == HolderIdentity)
        {
            spec.RenewTime = now.UtcDateTime;
            spec.LeaseDurationSeconds = (int)Duration.TotalSeconds;
        }
        else if (string.IsNullOrEmpty(previous) || ExpiresAt(spec) <= now)
        {
            spec.HolderIdentity = HolderIdentity;
            spec.LeaseDurationSeconds = (int)Duration.TotalSeconds;
            spec.AcquireTime = now.UtcDateTime;
            spec.RenewTime = now.UtcDateTime;
            spec.LeaseTransitions = (spec.LeaseTransitions ?? 0) + (string.IsNullOrEmpty(previous) ? 0 : 1);
        }
        else
        {
            _heldUntil = null;
            return false;
        }
        return await WriteAsync(() => _client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, Name, Namespace, cancellationToken: cancellationToken),
            now, previous).ConfigureAwait(false);
    }

    /// <summary>Renews the lease this replica holds.</summary>
    /// <param name="cancellationToken">Ends the attempt.</param>
    /// <returns>True when renewed; false when the lease was lost (taken over after expiring, or released).</returns>
    public async Task<bool> RenewAsync(CancellationToken cancellationToken)
    {
        var lease = await ReadAsync(cancellationToken).ConfigureAwait(false);
        if (lease?.Spec?.HolderIdentity != HolderIdentity)
        {
            _heldUntil = null;
            return false;
        }
        var now = _timeProvider.GetUtcNow();
        lease.Spec.RenewTime = now.UtcDateTime;
        lease.Spec.LeaseDurationSeconds = (int)Duration.TotalSeconds;
        return await WriteAsync(() => _client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, Name, Namespace, cancellationToken: cancellationToken),
            now, HolderIdentity).ConfigureAwait(false);
    }

    /// <summary>Gives the lease up when this replica holds it (clears the holder, so another replica may take it at
    /// once); does nothing otherwise.</summary>
    /// <param name="cancellationToken">Ends the attempt.</param>
    /// <returns>A task that completes when the lease is released or was not held.</returns>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        _heldUntil = null;
        var lease = await ReadAsync(cancellationToken).ConfigureAwait(false);
        if (lease?.Spec?.HolderIdentity != HolderIdentity)
        {
            return;
        }
        lease.Spec.HolderIdentity = null;
        lease.Spec.AcquireTime = null;
        lease.Spec.RenewTime = null;
        try
        {
            await _client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, Name, Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            ObservedHolder = null;
        }
        catch (k8s.Autorest.HttpOperationException ex) when (KubernetesClients.IsConflict(ex))
        {
            // Changed since the read: someone else holds it now.
        }
    }

    private async Task<V1Lease?> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            var lease = await _client.CoordinationV1.ReadNamespacedLeaseAsync(Name, Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            ObservedHolder = string.IsNullOrEmpty(lease.Spec?.HolderIdentity) ? null : lease.Spec.HolderIdentity;
            return lease;
        }
        catch (k8s.Autorest.HttpOperationException ex) when (KubernetesClients.IsNotFound(ex))
        {
            ObservedHolder = null;
            return null;
        }
    }

    private async Task<bool> WriteAsync(Func<Task<V1Lease>> write, DateTimeOffset now, string? previous)
    {
        try
        {
            var written = await write().ConfigureAwait(false);
            ObservedHolder = written.Spec?.HolderIdentity ?? HolderIdentity;
            _heldUntil = now + Duration;
            PreviousHolder = previous;
            return true;
        }
        catch (k8s.Autorest.HttpOperationException ex) when (KubernetesClients.IsConflict(ex))
        {
            _heldUntil = null;
            return false;
        }
    }

    /// <summary>The holder before this replica's last successful write (itself after a renewal); for logs.</summary>
    internal string? PreviousHolder { get; private set; }

    private static DateTimeOffset ExpiresAt(V1LeaseSpec spec)
    {
        if ((spec.RenewTime ?? spec.AcquireTime) is not { } at)
        {
            return DateTimeOffset.MinValue;
        }
        var utc = at.Kind switch
        {
            DateTimeKind.Utc => at,
            DateTimeKind.Local => at.ToUniversalTime(),
            _ => DateTime.SpecifyKind(at, DateTimeKind.Utc),
        };
        return new DateTimeOffset(utc) + TimeSpan.FromSeconds(spec.LeaseDurationSeconds ?? 0);
    }
}
