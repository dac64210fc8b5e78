using MeshHost.Generation;
using MeshHost.Model;
using XdsServer.Cache;

namespace MeshHost.Push;

/// <summary>How the push pipeline reacts to registry changes, and what it generates with.</summary>
public sealed record MeshPublisherOptions
{
    /// <summary>How long the registry must stay quiet after a change before a new push context is built (a burst of
    /// changes is pushed once). 100 ms by default (istiod's <c>PILOT_DEBOUNCE_AFTER</c>).</summary>
    public TimeSpan QuietPeriod { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest a change waits for the registry to quiet down: a steady trickle of changes is still
    /// pushed this often. 1 s by default (istiod's <c>PILOT_DEBOUNCE_MAX</c> is 10 s; a small mesh can afford less).</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Generates one proxy's snapshot; <see cref="MeshGenerator.Generate"/> by default (tests may replace it).</summary>
    public Func<PushContext, Proxy, Snapshot> Generate { get; init; } = MeshGenerator.Generate;

    /// <summary>Throws when the options cannot work.</summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public void Validate()
    {
        if (QuietPeriod < TimeSpan.Zero || QuietPeriod > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentException($"QuietPeriod must be between 0 and 1 minute (is {QuietPeriod}).");
        }

        if (MaxDelay < QuietPeriod || MaxDelay > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentException($"MaxDelay must be at least QuietPeriod and at most 5 minutes (is {MaxDelay}).");
        }

        ArgumentNullException.ThrowIfNull(Generate);
    }
}
