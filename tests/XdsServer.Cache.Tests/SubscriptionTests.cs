namespace XdsServer.Cache.Tests;

/// <summary>How a SotW request's names become a subscription: an ACK repeating the names changes nothing and
/// allocates no new state; equal name sets of different streams are one shared set.</summary>
public sealed class SubscriptionTests
{
    private static readonly ResourceType Eds = EnvoyResourceTypes.ClusterLoadAssignment;

    [Fact]
    public void A_request_repeating_the_names_in_another_order_returns_the_same_state()
    {
        var state = ClientState.ForSotw(Eds).ApplySotwRequest(["a", "b", "c"]);

        // Fresh strings, as parsed off the wire, in another order.
        var again = state.ApplySotwRequest([new string("c"), new string("a"), new string("b")], "v1");

        Assert.Same(state, again);
    }

    [Fact]
    public void A_request_naming_one_name_twice_instead_of_another_is_a_change()
    {
        var state = ClientState.ForSotw(Eds).ApplySotwRequest(["a", "b"]);

        var next = state.ApplySotwRequest(["a", "a"]);

        Assert.NotSame(state, next);
        Assert.Equal(["a"], next.Subscription.Names);
    }

    [Theory]
    [InlineData("a,b,*")]
    [InlineData("a")]
    [InlineData("a,b,c")]
    [InlineData("a,x")]
    public void Any_other_set_of_names_is_a_change(string list)
    {
        var names = list.Split(',');
        var state = ClientState.ForSotw(Eds).ApplySotwRequest(["a", "b"]);

        var next = state.ApplySotwRequest(names);

        Assert.NotSame(state, next);
        Assert.Equal(names.Contains("*"), next.Subscription.IsWildcard);
        Assert.Equal(names.Where(n => n != "*").Order(StringComparer.Ordinal), next.Subscription.Names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Streams_subscribing_to_the_same_names_share_one_name_set()
    {
        var names = Enumerable.Range(0, 1_000).Select(i => $"service-{i}").ToArray();
        var first = ClientState.ForSotw(Eds).ApplySotwRequest([.. names.Select(n => new string(n))]);
        var second = ClientState.ForSotw(Eds).ApplySotwRequest([.. names.Reverse().Select(n => new string(n))]);
        var delta = ClientState.ForDelta(Eds).ApplyDeltaRequest([.. names.Select(n => new string(n))], []);

        Assert.Same(first.Subscription.Names, second.Subscription.Names);
        Assert.Same(first.Subscription.Names, delta.Subscription.Names);
        GC.KeepAlive(first);
    }
}
