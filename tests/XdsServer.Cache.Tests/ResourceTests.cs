using Google.Protobuf;

namespace XdsServer.Cache.Tests;

public class ResourceTests
{
    [Fact]
    public void Resource_holds_the_serialized_message_and_a_content_version()
    {
        var cla = Fixtures.Endpoints("backend", 8080);
        var resource = XdsResource.Create(cla);

        Assert.Equal(TypeUrls.ClusterLoadAssignment, resource.TypeUrl);
        Assert.Equal("backend", resource.Name);
        Assert.Equal(cla.ToByteArray(), resource.Bytes.ToByteArray());
        Assert.Matches("^[0-9a-f]{16}$", resource.Version);
        Assert.Equal(resource.Version, XdsResource.Create(Fixtures.Endpoints("backend", 8080)).Version);
        Assert.NotEqual(resource.Version, XdsResource.Create(Fixtures.Endpoints("backend", 8081)).Version);
    }

    [Fact]
    public void Explicit_version_is_kept()
    {
        Assert.Equal("v7", XdsResource.Create(Fixtures.Endpoints("a", 1), version: "v7").Version);
        Assert.Throws<ArgumentException>(() => XdsResource.Create(Fixtures.Endpoints("a", 1), version: ""));
    }

    [Fact]
    public void Packed_forms_are_built_once_and_shared()
    {
        var resource = XdsResource.Create(Fixtures.Cluster("c"));
        Assert.Same(resource.Packed, resource.Packed);
        Assert.Same(resource.DeltaResource, resource.DeltaResource);
        Assert.Same(resource.Packed, resource.DeltaResource.Resource_);
        Assert.Equal(TypeUrls.Cluster, resource.Packed.TypeUrl);
        Assert.Equal("c", resource.DeltaResource.Name);
        Assert.Equal(resource.Version, resource.DeltaResource.Version);
    }

    [Fact]
    public void Message_of_the_wrong_type_or_without_a_name_is_refused_with_a_clear_message()
    {
        var wrongType = Assert.Throws<ArgumentException>(() =>
            XdsResource.Create(EnvoyResourceTypes.Listener, Fixtures.Cluster("c")));
        Assert.Contains("envoy.config.cluster.v3.Cluster cannot be a Listener", wrongType.Message);

        var noName = Assert.Throws<ArgumentException>(() => XdsResource.Create(Fixtures.Cluster("")));
        Assert.Contains("Cluster resource must have a non-empty name", noName.Message);

        var unknown = Assert.Throws<ArgumentException>(() => XdsResource.Create(new Google.Protobuf.WellKnownTypes.Struct()));
        Assert.Contains("Unknown resource type URL 'type.googleapis.com/google.protobuf.Struct'", unknown.Message);
    }

    [Fact]
    public void References_are_read_from_embedded_configs()
    {
        var listener = XdsResource.Create(Fixtures.Listener("hello", "hello-route"));
        Assert.Equal([new ResourceReference(TypeUrls.RouteConfiguration, "hello-route")], listener.References);

        var cluster = XdsResource.Create(Fixtures.Cluster("c", serviceName: "c-eds", secret: "cert"));
        Assert.Contains(new ResourceReference(TypeUrls.ClusterLoadAssignment, "c-eds"), cluster.References);
        Assert.Contains(new ResourceReference(TypeUrls.Secret, "cert"), cluster.References);

        var route = XdsResource.Create(Fixtures.Route("r", "c"));
        Assert.Equal([new ResourceReference(TypeUrls.Cluster, "c", Required: false)], route.References);
    }

    [Fact]
    public void Unparseable_embedded_config_is_reported_not_thrown()
    {
        var listener = Fixtures.Listener("bad", "r");
        listener.ApiListener.ApiListener_.Value = ByteString.CopyFrom(0xFF, 0xFF, 0xFF);
        var resource = XdsResource.Create(listener);

        Assert.Empty(resource.References);
        Assert.Contains("HttpConnectionManager cannot be parsed", resource.ReferenceError);
    }
}
