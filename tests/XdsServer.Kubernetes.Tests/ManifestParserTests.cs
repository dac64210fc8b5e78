using XdsServer.Discovery;
using XdsServer.Kubernetes;
using XdsServer.Kubernetes.Internal;

namespace XdsServer.Kubernetes.Tests;

public sealed class ManifestParserTests
{
    private readonly KubernetesTranslator _translator = new();

    [Fact]
    public void Label_of_the_wrong_type_is_reported_at_its_line_and_column()
    {
        var file = ManifestParser.Parse("a.yaml", """
            apiVersion: v1
            kind: Pod
            metadata:
              name: p
              labels:
                version: 2
            """, _translator);

        var problem = Assert.Single(file.Problems);
        Assert.Empty(file.Entries);
        Assert.Equal((6, 14), (problem.Line, problem.Column));
        Assert.Equal(("Pod", "default", "p"), (problem.Kind, problem.Namespace, problem.Name));
        Assert.StartsWith("metadata.labels.version:", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ServiceEntry_spec_error_is_reported_at_the_field_and_later_documents_are_still_read()
    {
        var file = ManifestParser.Parse("se.yaml", """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: { name: ext, namespace: mesh }
            spec:
              hosts: [ext.example.com]
              ports:
              - name: http
                number: eighty
            ---
            apiVersion: networking.istio.io/v1
            kind: Sidecar
            metadata: { name: default, namespace: mesh }
            """, _translator);

        var problem = Assert.Single(file.Problems);
        Assert.Equal((8, 13), (problem.Line, problem.Column));
        Assert.Equal("spec.ports[0].number: expected a whole number", problem.Reason);
        var entry = Assert.Single(file.Entries);
        Assert.Equal(new ObjectKey("networking.istio.io/Sidecar", "mesh", "default"), entry.Id);
        Assert.Equal(10, entry.Line);
    }

    [Fact]
    public void Json_file_and_a_typed_kind_list_are_read_with_namespaces_defaulted()
    {
        var file = ManifestParser.Parse("all.json", """
            {"apiVersion":"v1","kind":"ServiceList","items":[
              {"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"port":80}]}},
              {"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","namespace":"ignored"}}
            ]}
            """, _translator);

        Assert.Empty(file.Problems);
        Assert.Equal(
            [new ObjectKey(RegistryKinds.Service, "default", "a"), new ObjectKey("Node", string.Empty, "n1")],
            file.Entries.Select(e => e.Id));
        Assert.Equal(3, file.Entries[1].Line);
    }

    [Fact]
    public void Document_that_is_not_a_mapping_is_a_problem()
    {
        var file = ManifestParser.Parse("x.yaml", "- just\n- a list\n", _translator);

        var problem = Assert.Single(file.Problems);
        Assert.Equal(1, problem.Line);
        Assert.Contains("must be a mapping", problem.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Problem_text_names_file_place_object_and_reason()
    {
        var problem = new ManifestProblem { File = "a/b.yaml", Line = 3, Column = 5, Kind = "Service", Namespace = "shop", Name = "x", Reason = "bad" };

        Assert.Equal("a/b.yaml:3:5: Service shop/x: bad", problem.ToString());
        Assert.Equal(".: the folder is gone", new ManifestProblem { File = string.Empty, Reason = "the folder is gone" }.ToString());
    }
}
