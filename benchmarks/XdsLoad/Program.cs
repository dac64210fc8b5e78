// XdsLoad: opens N simulated Envoy proxies (ADS, SotW or delta) against XdsLoad.Server in its own process on
// loopback and measures initial sync, per-update convergence, server CPU and RSS, bytes and NACKs.
//
//   dotnet run -c Release --project benchmarks/XdsLoad -- --scenario churn --proxies 1000 --protocol delta
using XdsLoad;

LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"XdsLoad: {e.Message}");
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

// XDSLOAD_HEAP_GOVERNOR=0 turns it off (to compare).
using var governor = Environment.GetEnvironmentVariable("XDSLOAD_HEAP_GOVERNOR") == "0" ? null : new HeapGovernor();
var report = await ScenarioRunner.RunAsync(options);
if (governor is not null)
{
    Console.Error.WriteLine($"[XdsLoad] heap governor: {governor.Collections} full collection(s) asked for");
}

Console.WriteLine(report.ToTable());
if (options.Json is not null)
{
    await File.WriteAllTextAsync(options.Json, report.ToJson());
}

return options.Check && !report.Passed ? 1 : 0;
