namespace XdsServer.Ca.Tests;

public class SpiffeIdTests
{
    [Theory]
    [InlineData("spiffe://example.org", "example.org", "")]
    [InlineData("spiffe://cluster.local/ns/default/sa/web", "cluster.local", "/ns/default/sa/web")]
    [InlineData("spiffe://my_domain-1.io/Path.With-Mixed_Case/x", "my_domain-1.io", "/Path.With-Mixed_Case/x")]
    [InlineData("spiffe://td/..a/b..", "td", "/..a/b..")]
    public void Valid_ids_parse_into_trust_domain_and_path(string value, string trustDomain, string path)
    {
        var id = SpiffeId.Parse(value);

        Assert.Equal(trustDomain, id.TrustDomain);
        Assert.Equal(path, id.Path);
        Assert.Equal(value, id.ToString());
        Assert.Equal(value, id.ToUri().OriginalString);
    }

    [Theory]
    [InlineData("", "cannot be empty")]
    [InlineData("http://example.org/a", "scheme is missing or invalid")]
    [InlineData("SPIFFE://example.org/a", "scheme is missing or invalid")]
    [InlineData("spiffe:/example.org/a", "scheme is missing or invalid")]
    [InlineData("spiffe://", "trust domain is missing")]
    [InlineData("spiffe:///a", "trust domain is missing")]
    [InlineData("spiffe://Example.org/a", "trust domain characters are limited")]
    [InlineData("spiffe://exa%6dple.org", "trust domain characters are limited")]
    [InlineData("spiffe://example.org:8080/a", "cannot contain a port")]
    [InlineData("spiffe://user@example.org/a", "cannot contain user info")]
    [InlineData("spiffe://example.org/a?b=c", "cannot contain a query")]
    [InlineData("spiffe://example.org/a#frag", "cannot contain a fragment")]
    [InlineData("spiffe://example.org/", "trailing slash")]
    [InlineData("spiffe://example.org/a/", "trailing slash")]
    [InlineData("spiffe://example.org//a", "empty segments")]
    [InlineData("spiffe://example.org/a/./b", "dot segments")]
    [InlineData("spiffe://example.org/a/..", "dot segments")]
    [InlineData("spiffe://example.org/a b", "path segment characters are limited")]
    [InlineData("spiffe://example.org/caf%C3%A9", "path segment characters are limited")]
    [InlineData("spiffe://example.org/café", "path segment characters are limited")]
    public void Invalid_ids_are_refused_with_the_rule_they_break(string value, string rule)
    {
        var ex = Assert.Throws<FormatException>(() => SpiffeId.Parse(value));
        Assert.Contains(rule, ex.Message, StringComparison.Ordinal);

        Assert.False(SpiffeId.TryParse(value, out var id, out var error));
        Assert.Null(id);
        Assert.Contains(rule, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Length_limits_are_enforced()
    {
        var longDomain = new string('a', SpiffeId.MaxTrustDomainLength + 1);
        Assert.Contains("trust domain is longer than 255", Assert.Throws<FormatException>(() => SpiffeId.Parse("spiffe://" + longDomain)).Message, StringComparison.Ordinal);
        Assert.NotNull(SpiffeId.Parse("spiffe://" + longDomain[1..]));

        var longPath = "spiffe://td/" + new string('p', SpiffeId.MaxLength - "spiffe://td/".Length);
        Assert.NotNull(SpiffeId.Parse(longPath));
        Assert.Contains("longer than 2048", Assert.Throws<FormatException>(() => SpiffeId.Parse(longPath + "p")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Istio_form_is_ns_then_sa()
    {
        var id = SpiffeId.ForIstio("cluster.local", "default", "bookinfo-productpage");

        Assert.Equal("spiffe://cluster.local/ns/default/sa/bookinfo-productpage", id.ToString());
        Assert.Equal(SpiffeId.Parse("spiffe://cluster.local"), id.TrustDomainId);
    }

    [Theory]
    [InlineData("cluster.local", "a/b", "sa", "namespace")]
    [InlineData("cluster.local", "ns", "", "service account")]
    [InlineData("cluster.local", "..", "sa", "dot segments")]
    [InlineData("Cluster.local", "ns", "sa", "trust domain characters")]
    public void Istio_form_refuses_bad_parts(string trustDomain, string ns, string sa, string rule)
    {
        var ex = Assert.Throws<FormatException>(() => SpiffeId.ForIstio(trustDomain, ns, sa));
        Assert.Contains(rule, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Equality_is_ordinal_on_the_whole_id()
    {
        var a = SpiffeId.Parse("spiffe://td/ns/a/sa/b");
        var same = SpiffeId.ForIstio("td", "a", "b");
        var otherCase = SpiffeId.Parse("spiffe://td/ns/A/sa/b");

        Assert.Equal(a, same);
        Assert.True(a == same);
        Assert.Equal(a.GetHashCode(), same.GetHashCode());
        Assert.NotEqual(a, otherCase);
        Assert.True(a != otherCase);
        Assert.False(a == null);
        Assert.False(SpiffeId.TryParse(null, out _));
    }
}
