using DiscoveryLoad;

// Kubernetes discovery under load; see ../README.md and DiscoveryRun.cs for what is measured.
LoadOptions options;
try
{
    options = LoadOptions.Parse(args);
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync(e.Message);
    return 2;
}

return options.Serve ? await ApiServerChild.RunAsync(options) : await new DiscoveryRun(options).RunAsync();
