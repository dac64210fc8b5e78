using System.Diagnostics;
using System.Globalization;

namespace XdsLoad;

/// <summary>Server CPU (utime+stime from /proc/PID/stat) and resident memory (VmRSS from /proc/PID/status,
/// sampled every 100 ms; the peak per phase is kept), and the same RSS figures for this process (the load tool), whose
/// memory must not be what limits a run. Linux only; elsewhere every figure reads 0.</summary>
internal sealed class ProcessMonitor : IDisposable
{
    private readonly int _pid;
    private readonly double _ticksPerSecond;
    private readonly Timer _timer;
    private long _peakRssKiB;
    private long _clientPeakRssKiB;

    public ProcessMonitor(int pid)
    {
        _pid = pid;
        _ticksPerSecond = ClockTicks();
        _timer = new Timer(_ => Sample(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(100));
    }

    /// <summary>Starts a phase: returns the CPU seconds and RSS so far and resets the peak.</summary>
    public (double CpuSeconds, double RssMiB) Begin()
    {
        var rss = RssKiB();
        Interlocked.Exchange(ref _peakRssKiB, rss);
        Interlocked.Exchange(ref _clientPeakRssKiB, RssKiB("self"));
        return (CpuSeconds(), rss / 1024.0);
    }

    public double PeakRssMiB => Math.Max(Interlocked.Read(ref _peakRssKiB), RssKiB()) / 1024.0;

    /// <summary>The load tool's own resident memory now (MiB).</summary>
    public static double ClientRssMiB() => RssKiB("self") / 1024.0;

    /// <summary>The load tool's peak resident memory since <see cref="Begin"/> (MiB).</summary>
    public double ClientPeakRssMiB => Math.Max(Interlocked.Read(ref _clientPeakRssKiB), RssKiB("self")) / 1024.0;

    public double CpuSeconds()
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{_pid}/stat");
            // Fields after "(comm)": state is field 3, utime field 14, stime field 15 (proc(5)).
            var rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(rest[11], CultureInfo.InvariantCulture) + long.Parse(rest[12], CultureInfo.InvariantCulture);
            return ticks / _ticksPerSecond;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public double RssMiB() => RssKiB() / 1024.0;

    public void Dispose() => _timer.Dispose();

    private void Sample()
    {
        Raise(ref _peakRssKiB, RssKiB());
        Raise(ref _clientPeakRssKiB, RssKiB("self"));
    }

    private static void Raise(ref long peak, long rss)
    {
        long seen;
        do
        {
            seen = Interlocked.Read(ref peak);
        }
        while (rss > seen && Interlocked.CompareExchange(ref peak, rss, seen) != seen);
    }

    private long RssKiB() => RssKiB(_pid.ToString(CultureInfo.InvariantCulture));

    private static long RssKiB(string pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return 0;
    }

    /// <summary>sysconf(_SC_CLK_TCK) via getconf; 100 (the Linux default) when that fails.</summary>
    private static double ClockTicks()
    {
        try
        {
            using var getconf = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true });
            var text = getconf!.StandardOutput.ReadToEnd().Trim();
            getconf.WaitForExit();
            return double.TryParse(text, CultureInfo.InvariantCulture, out var ticks) && ticks > 0 ? ticks : 100;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return 100;
        }
    }
}
