using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace XdsServer.Testing;

/// <summary>One log entry as a logger received it.</summary>
public sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

/// <summary>
/// A logger provider that keeps every entry, at every level, for tests that assert what is logged and at which
/// level (add it to a host with <c>services.AddSingleton&lt;ILoggerProvider&gt;(capture)</c>, or create loggers from
/// it directly).
/// </summary>
public sealed class LogCapture : ILoggerProvider, ILoggerFactory
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    /// <summary>Every entry so far, in order.</summary>
    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    /// <summary>The entries so far as text, one per line, for failure messages.</summary>
    public string Describe() => string.Join('\n', _entries.Select(e =>
        $"{e.Level} {e.Category}[{e.EventId.Id}] {e.Message}{(e.Exception is null ? string.Empty : " | " + e.Exception.GetType().Name)}"));

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <inheritdoc />
    public void AddProvider(ILoggerProvider provider)
    {
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception), exception));
    }
}
