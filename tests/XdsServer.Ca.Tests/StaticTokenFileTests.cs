using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace XdsServer.Ca.Tests;

/// <summary>The static token file: ambiguous files are refused with the lines named (never the tokens), and a
/// watched file's edits apply without a restart, a bad edit keeping the tokens that were accepted.</summary>
public sealed class StaticTokenFileTests : IDisposable
{
    private const string Web = "spiffe://cluster.local/ns/default/sa/web";
    private const string Api = "spiffe://cluster.local/ns/default/sa/api";
    private const string Db = "spiffe://cluster.local/ns/default/sa/db";

    private readonly string _file = Path.Combine(Path.GetTempPath(), $"tokens-{Guid.NewGuid():N}.json");
    private readonly FakeTimeProvider _clock = TestCa.Clock();
    private readonly CapturingLogger _logger = new();

    public void Dispose() => File.Delete(_file);

    private static async Task<SpiffeId?> IdentityOf(StaticTokenReviewer reviewer, string token) =>
        (await reviewer.ReviewAsync(token, CancellationToken.None)).Identity;

    private void Poll() => _clock.Advance(StaticTokenReviewer.DefaultPollInterval);

    [Fact]
    public void A_token_given_twice_is_refused_naming_both_lines_but_not_the_token()
    {
        File.WriteAllText(_file, $"{{\n  \"tok-secret-1\": \"{Web}\",\n  \"tok-secret-1\": \"{Api}\"\n}}\n");

        var ex = Assert.Throws<InvalidDataException>(() => StaticTokenReviewer.LoadFromFile(_file));

        Assert.Contains(_file, ex.Message, StringComparison.Ordinal);
        Assert.Contains("entry 2 on line 3 repeats the token of entry 1 on line 2", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("tok-secret-1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_token_given_twice_in_different_json_spellings_is_still_a_repeat()
    {
        File.WriteAllText(_file, $"{{\"ab\": \"{Web}\",\n\"\\u0061b\": \"{Api}\"}}");

        var ex = Assert.Throws<InvalidDataException>(() => StaticTokenReviewer.LoadFromFile(_file));

        Assert.Contains("entry 2 on line 2 repeats the token of entry 1 on line 1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_tokens_for_one_identity_are_refused_naming_both_lines()
    {
        File.WriteAllText(_file, $"{{\n  \"tok-a\": \"{Web}\",\n  \"tok-b\": \"{Api}\",\n  \"tok-c\": \"{Web}\"\n}}\n");

        var ex = Assert.Throws<InvalidDataException>(() => StaticTokenReviewer.LoadFromFile(_file));

        Assert.Contains($"entry 3 on line 4 maps to {Web}, which entry 1 on line 2 already maps to", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("tok-", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_with_token_and_identity_swapped_does_not_echo_the_token()
    {
        File.WriteAllText(_file, $"{{\"{Web}\": \"tok-written-backwards\"}}");

        var ex = Assert.Throws<InvalidDataException>(() => StaticTokenReviewer.LoadFromFile(_file));

        Assert.Contains("entry 1 on line 1 maps to a string (not shown", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("tok-written-backwards", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void In_memory_tokens_are_refused_when_a_token_or_an_identity_repeats()
    {
        var web = SpiffeId.Parse(Web);
        var api = SpiffeId.Parse(Api);

        Assert.Throws<ArgumentException>(() => new StaticTokenReviewer([new("a", web), new("a", api)]));
        Assert.Throws<ArgumentException>(() => new StaticTokenReviewer([new("a", web), new("b", web)]));
    }

    [Fact]
    public async Task A_rewritten_file_is_taken_on_the_next_poll_the_removed_token_refused_and_Changed_raised()
    {
        File.WriteAllText(_file, $"{{\"tok-web\": \"{Web}\", \"tok-api\": \"{Api}\"}}");
        using var reviewer = StaticTokenReviewer.WatchFile(_file, _clock, _logger);
        var changes = new List<TokenReviewerChangedEventArgs>();
        reviewer.Changed += (_, e) => changes.Add(e);
        Assert.Equal(2, reviewer.Count);
        Assert.Contains("2 tokens", _logger.Single(3040).Message, StringComparison.Ordinal);

        File.WriteAllText(_file, $"{{\"tok-web\": \"{Web}\", \"tok-db\": \"{Db}\", \"tok-new\": \"{Api}\"}}");
        Assert.Equal(SpiffeId.Parse(Api), await IdentityOf(reviewer, "tok-api")); // not before the poll
        Poll();

        Assert.Null(await IdentityOf(reviewer, "tok-api"));
        Assert.Equal(SpiffeId.Parse(Db), await IdentityOf(reviewer, "tok-db"));
        Assert.Equal(SpiffeId.Parse(Api), await IdentityOf(reviewer, "tok-new"));
        Assert.Equal(SpiffeId.Parse(Web), await IdentityOf(reviewer, "tok-web"));
        Assert.Equal(3, reviewer.Count);
        var change = Assert.Single(changes);
        Assert.True(change.Revoked);
        Assert.Equal(3, change.Count);
        var reloaded = _logger.Single(3041);
        Assert.Equal(LogLevel.Information, reloaded.Level);
        Assert.Contains("3 tokens", reloaded.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_logger.Entries, e => e.Message.Contains("tok-", StringComparison.Ordinal));

        Poll(); // unchanged: nothing raised again
        Assert.Single(changes);
    }

    [Fact]
    public async Task Adding_a_token_raises_Changed_without_revocation()
    {
        File.WriteAllText(_file, $"{{\"tok-web\": \"{Web}\"}}");
        using var reviewer = StaticTokenReviewer.WatchFile(_file, _clock, _logger);
        var changes = new List<TokenReviewerChangedEventArgs>();
        reviewer.Changed += (_, e) => changes.Add(e);

        File.WriteAllText(_file, $"{{\"tok-web\": \"{Web}\", \"tok-api\": \"{Api}\"}}");
        Poll();

        Assert.Equal(SpiffeId.Parse(Api), await IdentityOf(reviewer, "tok-api"));
        var change = Assert.Single(changes);
        Assert.False(change.Revoked);
    }

    [Fact]
    public async Task A_rewrite_of_the_same_length_and_timestamp_is_still_taken()
    {
        File.WriteAllText(_file, $"{{\"tok-aaa\": \"{Web}\"}}");
        var written = File.GetLastWriteTimeUtc(_file);
        using var reviewer = StaticTokenReviewer.WatchFile(_file, _clock, _logger);

        File.WriteAllText(_file, $"{{\"tok-bbb\": \"{Web}\"}}");
        File.SetLastWriteTimeUtc(_file, written);
        Poll();

        Assert.Equal(SpiffeId.Parse(Web), await IdentityOf(reviewer, "tok-bbb"));
        Assert.Null(await IdentityOf(reviewer, "tok-aaa"));
    }

    [Theory]
    [InlineData("{\"tok-web\": ")] // cut short mid-write
    [InlineData("{\"tok-web\": \"" + Web + "\", \"tok-x\": \"" + Web + "\"}")] // a second token for one identity
    public async Task A_bad_rewrite_keeps_the_old_tokens_and_warns_once_with_the_reason(string rewrite)
    {
        File.WriteAllText(_file, $"{{\"tok-web\": \"{Web}\", \"tok-api\": \"{Api}\"}}");
        using var reviewer = StaticTokenReviewer.WatchFile(_file, _clock, _logger);
        var changes = 0;
        reviewer.Changed += (_, _) => changes++;

        File.WriteAllText(_file, rewrite);
        Poll();
        Poll();

        Assert.Equal(SpiffeId.Parse(Web), await IdentityOf(reviewer, "tok-web"));
        Assert.Equal(SpiffeId.Parse(Api), await IdentityOf(reviewer, "tok-api"));
        Assert.Null(await IdentityOf(reviewer, "tok-x"));
        Assert.Equal(2, reviewer.Count);
        Assert.Equal(0, changes);
        var warning = _logger.Single(3042);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(_file, warning.Message, StringComparison.Ordinal);
        Assert.Contains("previous 2 tokens stay accepted", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("tok-", warning.Message, StringComparison.Ordinal);

        // Fixed: taken on the next poll.
        File.WriteAllText(_file, $"{{\"tok-web\": \"{Web}\"}}");
        Poll();
        Assert.Null(await IdentityOf(reviewer, "tok-api"));
        Assert.Equal(1, changes);
    }

    [Fact]
    public async Task A_deleted_file_keeps_the_old_tokens_and_warns()
    {
        File.WriteAllText(_file, $"{{\"tok-web\": \"{Web}\"}}");
        using var reviewer = StaticTokenReviewer.WatchFile(_file, _clock, _logger);

        File.Delete(_file);
        Poll();
        Poll();

        Assert.Equal(SpiffeId.Parse(Web), await IdentityOf(reviewer, "tok-web"));
        Assert.Contains("cannot be read", _logger.Single(3042).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disposed_reviewer_stops_watching()
    {
        File.WriteAllText(_file, $"{{\"tok-web\": \"{Web}\"}}");
        var reviewer = StaticTokenReviewer.WatchFile(_file, _clock, _logger);
        reviewer.Dispose();

        File.WriteAllText(_file, $"{{\"tok-api\": \"{Api}\"}}");
        Poll();

        Assert.Equal(SpiffeId.Parse(Web), await IdentityOf(reviewer, "tok-web"));
        Assert.Null(await IdentityOf(reviewer, "tok-api"));
        Assert.DoesNotContain(_logger.Entries, e => e.EventId is 3041 or 3042);
    }

    [Fact]
    public async Task A_throwing_Changed_handler_does_not_stop_the_others_or_the_polling()
    {
        File.WriteAllText(_file, $"{{\"tok-web\": \"{Web}\"}}");
        using var reviewer = StaticTokenReviewer.WatchFile(_file, _clock, _logger);
        var seen = 0;
        reviewer.Changed += (_, _) => throw new InvalidOperationException("handler bug");
        reviewer.Changed += (_, _) => seen++;

        File.WriteAllText(_file, $"{{\"tok-api\": \"{Api}\"}}");
        Poll();
        File.WriteAllText(_file, $"{{\"tok-db\": \"{Db}\"}}");
        Poll();

        Assert.Equal(2, seen);
        Assert.Equal(SpiffeId.Parse(Db), await IdentityOf(reviewer, "tok-db"));
        Assert.Equal(2, _logger.Entries.Count(e => e.EventId == 3043));
    }

    [Fact]
    public async Task The_host_registers_a_watching_reviewer_on_its_clock()
    {
        File.WriteAllText(_file, $"{{\"tok-web\": \"{Web}\"}}");
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(_clock);
        services.AddXdsServer().AddCertificateAuthority(o => o.StaticTokenFile = _file);
        await using var provider = services.BuildServiceProvider();

        var reviewer = Assert.IsType<StaticTokenReviewer>(Assert.Single(provider.GetServices<ITokenReviewer>()));
        Assert.Same(reviewer, provider.GetRequiredService<StaticTokenReviewer>());
        File.WriteAllText(_file, $"{{\"tok-api\": \"{Api}\"}}");
        Poll();

        Assert.Equal(SpiffeId.Parse(Api), await IdentityOf(reviewer, "tok-api"));
        Assert.Null(await IdentityOf(reviewer, "tok-web"));
    }

    [Fact]
    public async Task The_host_fails_on_first_resolve_when_the_token_file_is_bad()
    {
        File.WriteAllText(_file, $"{{\"tok-web\": \"{Web}\", \"tok-web\": \"{Api}\"}}");
        var services = new ServiceCollection();
        services.AddXdsServer().AddCertificateAuthority(o => o.StaticTokenFile = _file);
        await using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<InvalidDataException>(() => provider.GetServices<ITokenReviewer>().ToList());
        Assert.Contains("repeats the token", ex.Message, StringComparison.Ordinal);
    }
}
