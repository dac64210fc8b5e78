namespace XdsServer;

/// <summary>
/// Re-authorizes live streams on demand. A stream allowed on a credential
/// (<see cref="NodeAuthorization.AllowedByCredential"/>) is re-checked every
/// <see cref="XdsServerOptions.ReauthorizationInterval"/> anyway; call <see cref="ReauthorizeAll"/> when a credential
/// was revoked (a token removed, a client certificate's root distrusted) so that the streams it opened end now.
/// </summary>
public interface IXdsStreamAuthorization
{
    /// <summary>Asks every stream allowed on a credential to run the node authorizers again, soon and in the
    /// background; a stream they now refuse ends with UNAUTHENTICATED.</summary>
    void ReauthorizeAll();
}
