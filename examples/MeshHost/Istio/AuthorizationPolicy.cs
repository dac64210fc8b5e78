using System.Text.Json;

namespace MeshHost.Istio;

/// <summary>security.istio.io AuthorizationPolicy <c>spec</c>.</summary>
public sealed class AuthorizationPolicySpec
{
    /// <summary>The workloads it applies to; none means the namespace (or, in the root namespace, the mesh).</summary>
    public LabelSelector? Selector { get; set; }

    /// <summary>A target reference (waypoints and gateways of the Gateway API; not supported: reported).</summary>
    public JsonElement? TargetRef { get; set; }

    /// <summary>Target references (not supported: reported).</summary>
    public List<JsonElement> TargetRefs { get; set; } = [];

    /// <summary><c>ALLOW</c> (default), <c>DENY</c>, <c>AUDIT</c> or <c>CUSTOM</c>.</summary>
    public string? Action { get; set; }

    /// <summary>The rules; a request matching any rule matches the policy. No rules: matches nothing.</summary>
    public List<AuthorizationRule> Rules { get; set; } = [];
}

/// <summary>One rule: all of <see cref="From"/> (any source), <see cref="To"/> (any operation) and every
/// <see cref="When"/> condition must match.</summary>
public sealed class AuthorizationRule
{
    /// <summary>Sources; empty means any.</summary>
    public List<AuthorizationFrom> From { get; set; } = [];

    /// <summary>Operations; empty means any.</summary>
    public List<AuthorizationTo> To { get; set; } = [];

    /// <summary>Extra conditions.</summary>
    public List<AuthorizationCondition> When { get; set; } = [];
}

/// <summary>A <c>from</c> entry.</summary>
public sealed class AuthorizationFrom
{
    /// <summary>The source.</summary>
    public AuthorizationSource Source { get; set; } = new();
}

/// <summary>A <c>to</c> entry.</summary>
public sealed class AuthorizationTo
{
    /// <summary>The operation.</summary>
    public AuthorizationOperation Operation { get; set; } = new();
}

/// <summary>Where a request comes from: peer identities (mutual TLS) and addresses.</summary>
public sealed class AuthorizationSource
{
    /// <summary>Peer identities without <c>spiffe://</c> (<c>cluster.local/ns/default/sa/sleep</c>); <c>*</c> wildcards.</summary>
    public List<string> Principals { get; set; } = [];

    /// <summary>Negated <see cref="Principals"/>.</summary>
    public List<string> NotPrincipals { get; set; } = [];

    /// <summary>Service accounts, <c>sa</c> or <c>ns/sa</c>.</summary>
    public List<string> ServiceAccounts { get; set; } = [];

    /// <summary>Negated <see cref="ServiceAccounts"/>.</summary>
    public List<string> NotServiceAccounts { get; set; } = [];

    /// <summary>Peer namespaces (from the identity).</summary>
    public List<string> Namespaces { get; set; } = [];

    /// <summary>Negated <see cref="Namespaces"/>.</summary>
    public List<string> NotNamespaces { get; set; } = [];

    /// <summary>Peer addresses or CIDRs (the connection's).</summary>
    public List<string> IpBlocks { get; set; } = [];

    /// <summary>Negated <see cref="IpBlocks"/>.</summary>
    public List<string> NotIpBlocks { get; set; } = [];

    /// <summary>Original client addresses (X-Forwarded-For).</summary>
    public List<string> RemoteIpBlocks { get; set; } = [];

    /// <summary>Negated <see cref="RemoteIpBlocks"/>.</summary>
    public List<string> NotRemoteIpBlocks { get; set; } = [];

    /// <summary>JWT principals (not supported: reported).</summary>
    public List<string> RequestPrincipals { get; set; } = [];

    /// <summary>Negated JWT principals (not supported: reported).</summary>
    public List<string> NotRequestPrincipals { get; set; } = [];
}

/// <summary>What a request does.</summary>
public sealed class AuthorizationOperation
{
    /// <summary>Host (<c>:authority</c>) values, case-insensitive, <c>*</c> wildcards.</summary>
    public List<string> Hosts { get; set; } = [];

    /// <summary>Negated <see cref="Hosts"/>.</summary>
    public List<string> NotHosts { get; set; } = [];

    /// <summary>Destination ports.</summary>
    public List<string> Ports { get; set; } = [];

    /// <summary>Negated <see cref="Ports"/>.</summary>
    public List<string> NotPorts { get; set; } = [];

    /// <summary>HTTP methods.</summary>
    public List<string> Methods { get; set; } = [];

    /// <summary>Negated <see cref="Methods"/>.</summary>
    public List<string> NotMethods { get; set; } = [];

    /// <summary>Paths: exact, <c>prefix*</c>, <c>*suffix</c> or <c>*</c>.</summary>
    public List<string> Paths { get; set; } = [];

    /// <summary>Negated <see cref="Paths"/>.</summary>
    public List<string> NotPaths { get; set; } = [];
}

/// <summary>A <c>when</c> condition.</summary>
public sealed class AuthorizationCondition
{
    /// <summary>The attribute (<c>source.ip</c>, <c>request.headers[x-foo]</c>, ...).</summary>
    public string Key { get; set; } = string.Empty;

    /// <summary>Accepted values.</summary>
    public List<string> Values { get; set; } = [];

    /// <summary>Refused values.</summary>
    public List<string> NotValues { get; set; } = [];
}
