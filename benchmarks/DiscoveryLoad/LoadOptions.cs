using System.Globalization;

namespace DiscoveryLoad;

/// <summary>The command line: <c>[--services N] [--pods-per-service N] [--flips N] [--timeout 60s]</c>, and
/// <c>--serve</c> for the child process that runs the API server.</summary>
internal sealed record LoadOptions(int Services, int PodsPerService, int Flips, TimeSpan ReadyTimeout, bool Serve)
{
    public static LoadOptions Parse(string[] args)
    {
        var options = new LoadOptions(1000, 10, 50, TimeSpan.FromSeconds(60), false);
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--services" => options with { Services = Positive(Value()) },
                "--pods-per-service" => options with { PodsPerService = Positive(Value()) },
                "--flips" => options with { Flips = Positive(Value()) },
                "--timeout" => options with { ReadyTimeout = Duration(Value()) },
                "--serve" => options with { Serve = true },
                _ => throw new ArgumentException($"unknown option {args[i]}; options: --services N (1000), --pods-per-service N (10), --flips N (50), --timeout 60s"),
            };
        }

        return options;
    }

    /// <summary>The arguments that make a child process serve the same cluster.</summary>
    public IEnumerable<string> ServeArguments() =>
        ["--serve", "--services", Services.ToString(CultureInfo.InvariantCulture), "--pods-per-service", PodsPerService.ToString(CultureInfo.InvariantCulture)];

    private static int Positive(string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new ArgumentException($"'{value}' is not a positive number");

    private static TimeSpan Duration(string value) =>
        value.EndsWith("ms", StringComparison.Ordinal) ? TimeSpan.FromMilliseconds(Positive(value[..^2]))
        : value.EndsWith('s') ? TimeSpan.FromSeconds(Positive(value[..^1]))
        : TimeSpan.FromSeconds(Positive(value));
}
