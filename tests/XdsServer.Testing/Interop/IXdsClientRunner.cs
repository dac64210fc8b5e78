namespace XdsServer.Testing.Interop;

/// <summary>Runs one kind of real xDS client program (the same CLI and output for every kind).</summary>
public interface IXdsClientRunner
{
    /// <summary>A short name for test output: <c>grpc-js</c>, <c>python-grpcio</c>, <c>grpc-core</c>.</summary>
    string Name { get; }

    /// <summary>Starts the program; the session reads its per-call outcomes as they come.</summary>
    /// <exception cref="InvalidOperationException">The client is not installed (the message says how to install it).</exception>
    XdsClientSession Start(XdsClientRun run);

    /// <summary>Runs the program to the end (bounded by <see cref="XdsClientRun.Timeout"/>) and returns every
    /// call's outcome; fails, with the program's stderr, when it does not make all its calls.</summary>
    Task<IReadOnlyList<CallOutcome>> RunAsync(XdsClientRun run);
}
