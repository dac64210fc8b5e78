using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Grpc.Core;

namespace XdsServer.Testing.Interop;

/// <summary>A running real xDS client program. Its stdout carries one JSON line per call, read as it comes;
/// its stderr is kept for failure messages. Every wait is bounded and fails with what the client said.</summary>
public sealed class XdsClientSession : IAsyncDisposable
{
    private const int StderrLimit = 16 * 1024;
    private readonly Process _process;
    private readonly Channel<CallOutcome> _outcomes = Channel.CreateUnbounded<CallOutcome>();
    private readonly List<CallOutcome> _all = [];
    private readonly StringBuilder _stderr = new();
    private readonly Task _stdoutReader;
    private readonly Task _stderrReader;

    internal XdsClientSession(string client, Process process, XdsClientRun run)
    {
        Client = client;
        Run = run;
        _process = process;
        _stdoutReader = Task.Run(ReadStdoutAsync);
        _stderrReader = Task.Run(ReadStderrAsync);
    }

    /// <summary>The client's name.</summary>
    public string Client { get; }

    /// <summary>What the client was asked to do.</summary>
    public XdsClientRun Run { get; }

    /// <summary>The exit code, once the program has exited.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Every outcome read so far.</summary>
    public IReadOnlyList<CallOutcome> Outcomes
    {
        get
        {
            lock (_all)
            {
                return [.. _all];
            }
        }
    }

    /// <summary>What the program wrote to stderr (the last 16 KiB).</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>The next call's outcome.</summary>
    /// <exception cref="TimeoutException">None came within <paramref name="timeout"/>, or the program ended.</exception>
    public async Task<CallOutcome> NextAsync(TimeSpan timeout, string what = "the next call")
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            if (await _outcomes.Reader.WaitToReadAsync(cts.Token) && _outcomes.Reader.TryRead(out var outcome))
            {
                return outcome;
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException(Describe($"did not report {what} within {timeout.TotalSeconds:0.#} s"));
        }

        throw new TimeoutException(Describe($"ended (exit code {ExitCode}) before {what}"));
    }

    /// <summary>Reads outcomes until <paramref name="consecutive"/> calls in a row satisfy
    /// <paramref name="condition"/>; returns every outcome read meanwhile.</summary>
    /// <exception cref="TimeoutException">That did not happen within <paramref name="timeout"/>.</exception>
    public async Task<IReadOnlyList<CallOutcome>> WaitForAsync(Func<CallOutcome, bool> condition, int consecutive,
        TimeSpan timeout, string what)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var read = new List<CallOutcome>();
        var run = 0;
        var deadline = Stopwatch.StartNew();
        while (run < consecutive)
        {
            var left = timeout - deadline.Elapsed;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException(Describe($"did not reach {what} within {timeout.TotalSeconds:0.#} s"));
            }

            var outcome = await NextAsync(left, what);
            read.Add(outcome);
            run = condition(outcome) ? run + 1 : 0;
        }

        return read;
    }

    /// <summary>Closes the program's stdin, which ends its calls, and waits (bounded) for it to exit.</summary>
    public async Task<IReadOnlyList<CallOutcome>> StopAsync(TimeSpan? timeout = null)
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
            // It has already exited.
        }

        return await WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(15));
    }

    /// <summary>Waits for the program to exit by itself and returns every outcome.</summary>
    /// <exception cref="TimeoutException">It did not exit within <paramref name="timeout"/> (it is then killed).</exception>
    public async Task<IReadOnlyList<CallOutcome>> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            await Task.WhenAll(_stdoutReader, _stderrReader).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Kill();
            throw new TimeoutException(Describe($"did not exit within {timeout.TotalSeconds:0.#} s (killed)"));
        }

        return Outcomes;
    }

    /// <summary>A failure message: the client, what went wrong, its last outcomes, its exit code and stderr.</summary>
    public string Describe(string problem)
    {
        var outcomes = Outcomes;
        var last = outcomes.Skip(Math.Max(0, outcomes.Count - 8));
        return $"""
            {Client} client {problem}.
              outcomes: {outcomes.Count} ({outcomes.Count(o => o.Ok)} ok); last: {string.Join("; ", last)}
              exit code: {(ExitCode is { } code ? code.ToString(System.Globalization.CultureInfo.InvariantCulture) : "running")}
              bootstrap: {Run.Bootstrap.ToJson()}
              stderr:
            {Stderr}
            """;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            await Task.WhenAll(_stdoutReader, _stderrReader).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            // The pipes stay open only if a grandchild holds them; the process itself is gone.
        }

        _process.Dispose();
    }

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }
    }

    private async Task ReadStdoutAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (Parse(line) is { } outcome)
                {
                    lock (_all)
                    {
                        _all.Add(outcome);
                    }

                    _outcomes.Writer.TryWrite(outcome);
                }
                else
                {
                    AppendStderr("[stdout] " + line + "\n");
                }
            }
        }
        finally
        {
            _outcomes.Writer.TryComplete();
        }
    }

    private async Task ReadStderrAsync()
    {
        var buffer = new char[4096];
        int n;
        while ((n = await _process.StandardError.ReadAsync(buffer.AsMemory())) > 0)
        {
            AppendStderr(new string(buffer, 0, n));
        }
    }

    private void AppendStderr(string text)
    {
        lock (_stderr)
        {
            _stderr.Append(text);
            if (_stderr.Length > StderrLimit)
            {
                _stderr.Remove(0, _stderr.Length - StderrLimit);
            }
        }
    }

    private static CallOutcome? Parse(string line)
    {
        if (!line.StartsWith('{'))
        {
            return null;
        }

        try
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            var call = root.GetProperty("call").GetInt32();
            return root.GetProperty("ok").GetBoolean()
                ? new CallOutcome(call, root.GetProperty("backend").GetString() ?? string.Empty, StatusCode.OK, null)
                : new CallOutcome(call, null, (StatusCode)root.GetProperty("code").GetInt32(),
                    root.TryGetProperty("details", out var details) ? details.GetString() : null);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }
}
