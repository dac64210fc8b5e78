using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace XdsServer.Ca.Tests;

/// <summary>A logger that keeps every entry (level, event id, formatted message, exception) for assertions.</summary>
internal class CapturingLogger : ILogger
{
    private readonly ConcurrentQueue<Entry> _entries = new();

    public IReadOnlyList<Entry> Entries => [.. _entries];

    public IReadOnlyList<Entry> WithId(int eventId) => [.. _entries.Where(e => e.EventId == eventId)];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue(new Entry(logLevel, eventId.Id, formatter(state, exception), exception));

    /// <summary>The one entry with <paramref name="eventId"/>; fails listing what was logged otherwise.</summary>
    public Entry Single(int eventId)
    {
        var matching = WithId(eventId);
        Assert.True(matching.Count == 1,
            $"expected one entry with event id {eventId}, got {matching.Count}; logged: {string.Join(" | ", Entries)}");
        return matching[0];
    }

    public sealed record Entry(LogLevel Level, int EventId, string Message, Exception? Exception);
}

/// <summary>A <see cref="CapturingLogger"/> for a component that asks for <see cref="ILogger{T}"/>.</summary>
internal sealed class CapturingLogger<T> : CapturingLogger, ILogger<T>;
