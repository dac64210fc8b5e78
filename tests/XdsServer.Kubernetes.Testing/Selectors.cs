namespace XdsServer.Kubernetes.Testing;

/// <summary>
/// Kubernetes label and field selectors as the API server reads them: comma-separated requirements, all of which
/// must hold. Labels: <c>k=v</c>, <c>k==v</c>, <c>k!=v</c>, <c>k in (a,b)</c>, <c>k notin (a,b)</c>, <c>k</c>,
/// <c>!k</c>. Fields: <c>metadata.name</c> and <c>metadata.namespace</c> with <c>=</c>, <c>==</c> or <c>!=</c>.
/// </summary>
public static class Selectors
{
    /// <summary>Parses a label selector; null or empty selects everything.</summary>
    public static Func<IReadOnlyDictionary<string, string>, bool> ParseLabels(string? selector)
    {
        if (string.IsNullOrWhiteSpace(selector))
        {
            return _ => true;
        }

        var requirements = SplitRequirements(selector).Select(ParseLabelRequirement).ToList();
        return labels => requirements.All(r => r(labels));
    }

    /// <summary>Parses a field selector over name and namespace; null or empty selects everything.</summary>
    /// <exception cref="FormatException">A field other than <c>metadata.name</c> or <c>metadata.namespace</c>.</exception>
    public static Func<string, string, bool> ParseFields(string? selector)
    {
        if (string.IsNullOrWhiteSpace(selector))
        {
            return (_, _) => true;
        }

        List<Func<string, string, bool>> requirements = [];
        foreach (var part in SplitRequirements(selector))
        {
            var negate = part.Contains("!=", StringComparison.Ordinal);
            var pieces = part.Split(negate ? "!=" : part.Contains("==", StringComparison.Ordinal) ? "==" : "=", 2);
            if (pieces.Length != 2)
            {
                throw new FormatException($"bad field selector requirement '{part}'");
            }

            var field = pieces[0].Trim();
            var value = pieces[1].Trim();
            Func<string, string, bool> test = field switch
            {
                "metadata.name" => (name, _) => name == value,
                "metadata.namespace" => (_, ns) => ns == value,
                _ => throw new FormatException($"field label not supported: {field}"),
            };
            requirements.Add(negate ? (n, ns) => !test(n, ns) : test);
        }

        return (name, ns) => requirements.All(r => r(name, ns));
    }

    private static IEnumerable<string> SplitRequirements(string selector)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < selector.Length; i++)
        {
            switch (selector[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case ',' when depth == 0:
                    yield return selector[start..i].Trim();
                    start = i + 1;
                    break;
            }
        }

        yield return selector[start..].Trim();
    }

    private static Func<IReadOnlyDictionary<string, string>, bool> ParseLabelRequirement(string requirement)
    {
        if (requirement.Contains("!=", StringComparison.Ordinal))
        {
            var p = requirement.Split("!=", 2);
            var (key, value) = (p[0].Trim(), p[1].Trim());
            return labels => !labels.TryGetValue(key, out var v) || v != value;
        }

        if (requirement.Contains('='))
        {
            var p = requirement.Split(requirement.Contains("==", StringComparison.Ordinal) ? "==" : "=", 2);
            var (key, value) = (p[0].Trim(), p[1].Trim());
            return labels => labels.TryGetValue(key, out var v) && v == value;
        }

        var words = requirement.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length == 2 && words[1].EndsWith(')'))
        {
            var key = words[0];
            var rest = words[1];
            var notIn = rest.StartsWith("notin", StringComparison.Ordinal);
            if (!notIn && !rest.StartsWith("in", StringComparison.Ordinal))
            {
                throw new FormatException($"bad label selector requirement '{requirement}'");
            }

            var open = rest.IndexOf('(', StringComparison.Ordinal);
            var set = rest[(open + 1)..^1].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
            return notIn
                ? labels => !labels.TryGetValue(key, out var v) || !set.Contains(v)
                : labels => labels.TryGetValue(key, out var v) && set.Contains(v);
        }

        if (requirement.StartsWith('!'))
        {
            var key = requirement[1..].Trim();
            return labels => !labels.ContainsKey(key);
        }

        var exists = requirement.Trim();
        return labels => labels.ContainsKey(exists);
    }
}
