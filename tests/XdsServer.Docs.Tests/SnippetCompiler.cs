using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace XdsServer.Docs.Tests;

/// <summary>
/// Compiles a documentation snippet as its own program, as <c>dotnet new web</c> would: top-level statements
/// (a console application), nullable annotations enabled, the global usings that <c>Microsoft.NET.Sdk.Web</c>
/// imports implicitly, and references to the .NET and ASP.NET Core shared frameworks plus every XdsServer package.
/// </summary>
public static class SnippetCompiler
{
    /// <summary>The implicit global usings of an SDK-style project on <c>Microsoft.NET.Sdk.Web</c>
    /// (<c>ImplicitUsings</c> enabled): the base SDK's seven plus the Web SDK's nine.</summary>
    public static readonly IReadOnlyList<string> WebSdkImplicitUsings =
    [
        "System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading",
        "System.Threading.Tasks",
        "System.Net.Http.Json", "Microsoft.AspNetCore.Builder", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Http",
        "Microsoft.AspNetCore.Routing", "Microsoft.Extensions.Configuration", "Microsoft.Extensions.DependencyInjection",
        "Microsoft.Extensions.Hosting", "Microsoft.Extensions.Logging",
    ];

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(LoadReferences);

    /// <summary>Compiles <paramref name="code"/> and returns its errors and warnings (none: it compiles cleanly).</summary>
    public static IReadOnlyList<Diagnostic> Compile(string code, string name)
    {
        var options = new CSharpParseOptions(LanguageVersion.Latest);
        var usings = string.Concat(WebSdkImplicitUsings.Select(u => $"global using global::{u};\n"));
        var compilation = CSharpCompilation.Create(
            name,
            [
                CSharpSyntaxTree.ParseText(usings, options, path: "GlobalUsings.g.cs"),
                CSharpSyntaxTree.ParseText(code, options, path: name + ".cs"),
            ],
            References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var assembly = new MemoryStream();
        var result = compilation.Emit(assembly);
        return [.. result.Diagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning && !d.IsSuppressed)];
    }

    /// <summary>The trusted platform assemblies of this test process: the .NET and ASP.NET Core shared frameworks
    /// and the test's own dependencies, which include every src/ package and what they depend on.</summary>
    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        // Touch a type of each package so that a missing reference fails here, not in a snippet.
        _ = new[]
        {
            typeof(XdsServer.Cache.SnapshotCache).Assembly, typeof(XdsServer.XdsServerOptions).Assembly,
            typeof(XdsServer.Ca.CertificateAuthority).Assembly, typeof(XdsServer.Kubernetes.KubernetesDiscoveryOptions).Assembly,
            typeof(Envoy.Config.Listener.V3.Listener).Assembly,
        };
        var tpa = (string?)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")
            ?? throw new InvalidOperationException("no TRUSTED_PLATFORM_ASSEMBLIES in this process");
        return [.. tpa.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(p => p.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))];
    }
}
