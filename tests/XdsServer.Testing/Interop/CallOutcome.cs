using Grpc.Core;

namespace XdsServer.Testing.Interop;

/// <summary>What one call of a real xDS client came to: the backend that answered, or a gRPC status.</summary>
/// <param name="Call">The call's index in the client's run.</param>
/// <param name="Backend">The answering backend's name, when the call succeeded.</param>
/// <param name="Code">The status code, when it failed.</param>
/// <param name="Details">The status details, when it failed.</param>
public sealed record CallOutcome(int Call, string? Backend, StatusCode Code, string? Details)
{
    /// <summary>True when a backend answered.</summary>
    public bool Ok => Backend is not null;

    /// <inheritdoc />
    public override string ToString() => Ok ? $"#{Call} -> {Backend}" : $"#{Call} {Code}: {Details}";
}
