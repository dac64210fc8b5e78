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
    /// pushed this often. 10 s by default (istiod's <c>PILOT_DEBOUNCE_MAX</c>).</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The default generator: <see cref="MeshGenerator.Generate(PushContext, Proxy)"/>. With it the publisher
    /// generates through a shared <see cref="ResourceCache"/> and regenerates only what a change affects
    /// (<see cref="MeshGenerator.Update"/>), with the same result.</summary>
    public static Func<PushContext, Proxy, Snapshot> DefaultGenerate { get; } = MeshGenerator.Generate;

    /// <summary>Generates one proxy's snapshot; <see cref="DefaultGenerate"/> by default (tests may replace it: a
    /// replaced generator is called for every proxy a push reaches, and generates it whole).</summary>
    public Func<PushContext, Proxy, Snapshot> Generate { get; init; } = DefaultGenerate;

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
