// Shared by the example hosts (FileServer, MeshHost): compiled into each of them (see their .csproj). Each host's
// parser accepts exactly the options of its table, and --help prints the same table, so the two cannot drift apart.
using System.Text;

namespace XdsServer.Examples;

/// <summary>One command-line option: what the parser accepts and what <c>--help</c> says of it.</summary>
/// <param name="Name">The option, e.g. <c>--urls</c>.</param>
/// <param name="Value">Its value's placeholder, e.g. <c>&lt;urls&gt;</c>; null for a flag.</param>
/// <param name="Description">One line: what it does, and its default.</param>
/// <param name="Example">An example of its use, e.g. <c>--urls http://127.0.0.1:18000</c>.</param>
public sealed record CommandOption(string Name, string? Value, string Description, string Example)
{
    /// <summary>Whether the option takes a value.</summary>
    public bool TakesValue => Value is not null;

    /// <summary>Formats a help text: the synopsis, a sentence on what the program does, then each option (name and
    /// value, description, example) and any further sections.</summary>
    /// <param name="synopsis">The usage line(s), starting with <c>usage: </c>.</param>
    /// <param name="about">What the program does.</param>
    /// <param name="options">The options, in the order to show.</param>
    /// <param name="more">Further text (commands, examples), printed as given.</param>
    /// <returns>The help text.</returns>
    public static string Help(string synopsis, string about, IEnumerable<CommandOption> options, string more)
    {
        ArgumentNullException.ThrowIfNull(options);
        var text = new StringBuilder().Append(synopsis).Append("\n\n").Append(about).Append("\n\noptions:\n");
        foreach (var option in options)
        {
            text.Append("  ").Append(option.Name);
            if (option.Value is { } value)
            {
                text.Append(' ').Append(value);
            }

            text.Append("\n      ").Append(option.Description)
                .Append("\n      e.g. ").Append(option.Example).Append('\n');
        }

        return text.Append(more).ToString().TrimEnd('\n');
    }

    /// <summary>
    /// Reads the option at <c>args[index]</c>, and its value (after <c>=</c>, or the next argument unless that starts with
    /// <c>--</c>, which moves <paramref name="index"/> on); the one tokenizer of both hosts, so they agree on syntax and
    /// errors. <c>-h</c>, <c>--help</c> and <c>-?</c> read as help: true, with <paramref name="option"/> null.
    /// </summary>
    /// <param name="options">The options accepted.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="index">The argument to read; on return, the last one read.</param>
    /// <param name="option">The option read (null: help was asked for).</param>
    /// <param name="value">Its value; null for a flag.</param>
    /// <param name="error">What is wrong, when false.</param>
    /// <returns>False for an unknown option, a flag given a value or a value missing.</returns>
    public static bool TryRead(IReadOnlyList<CommandOption> options, IReadOnlyList<string> args, ref int index,
        out CommandOption? option, out string? value, out string error)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(args);
        var arg = args[index];
        option = null;
        value = null;
        error = string.Empty;
        if (arg is "-h" or "--help" or "-?")
        {
            return true;
        }

        var equals = arg.IndexOf('=', StringComparison.Ordinal);
        var name = arg.StartsWith("--", StringComparison.Ordinal) && equals > 0 ? arg[..equals] : arg;
        option = options.FirstOrDefault(o => o.Name == name);
        if (option is null)
        {
            error = $"unknown argument '{arg}' (the options are {string.Join(", ", options.Select(o => o.Name))})";
            return false;
        }

        if (!option.TakesValue)
        {
            if (equals > 0)
            {
                error = $"{name} takes no value";
                return false;
            }

            return true;
        }

        if (equals > 0)
        {
            value = arg[(equals + 1)..];
        }
        else if (index + 1 < args.Count && !args[index + 1].StartsWith("--", StringComparison.Ordinal))
        {
            value = args[++index];
        }
        else
        {
            error = $"{name} needs a value";
            return false;
        }

        return true;
    }
}
