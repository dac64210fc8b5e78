namespace DiscoveryLoad;

/// <summary>This process's resident set size from <c>/proc/self/status</c> (Linux); -1 elsewhere.</summary>
internal static class ProcessMemory
{
    /// <summary>VmRSS in bytes.</summary>
    public static long Rss() => Read("VmRSS:");

    /// <summary>VmHWM (the peak resident set size) in bytes.</summary>
    public static long PeakRss() => Read("VmHWM:");

    private static long Read(string field)
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            var kb = line?[field.Length..].Trim().Split(' ')[0];
            return kb is null ? -1 : long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return -1;
        }
    }
}
