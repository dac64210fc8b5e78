using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace XdsServer.Ca.Tests;

/// <summary>An <see cref="ILogger{T}"/> that keeps every entry (event id, level, formatted message, exception).</summary>
internal sealed class CapturingLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<Entry> _entries = new();

    public IReadOnlyList<Entry> Entries => [.. _entries];

    public IReadOnlyList<Entry> WithId(int eventId) => [.. _entries.Where(e => e.EventId == eventId)];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue(new Entry(eventId.Id, logLevel, formatter(state, exception), exception));

    public sealed record Entry(int EventId, LogLevel Level, string Message, Exception? Exception);
}
