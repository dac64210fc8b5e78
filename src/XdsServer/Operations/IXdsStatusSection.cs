namespace XdsServer;

/// <summary>
/// A section of the status page (<c>app.MapXdsStatusPage()</c>) contributed by a library or a host: register
/// implementations in DI (<c>services.TryAddEnumerable(ServiceDescriptor.Singleton&lt;IXdsStatusSection, T&gt;())</c>);
/// they are rendered after the built-in sections, in registration order. A section writes through
/// <see cref="XdsStatusSectionWriter"/>, which HTML-encodes every text it is given, so values that come from clients or
/// manifests cannot inject markup. The page answers only the callers its authorization hook allows (loopback by
/// default), but a section should still show no secrets: private keys, tokens, passwords.
/// </summary>
public interface IXdsStatusSection
{
    /// <summary>The section's heading.</summary>
    string Title { get; }

    /// <summary>Writes the section's body. An exception is shown in place of the section, not as the page's failure.</summary>
    /// <param name="writer">Writes paragraphs, facts, tables and links, HTML-encoded.</param>
    /// <param name="cancellationToken">The request's cancellation.</param>
    /// <returns>A task that completes when the section is written.</returns>
    ValueTask WriteAsync(XdsStatusSectionWriter writer, CancellationToken cancellationToken);
}
