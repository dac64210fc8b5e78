namespace XdsServer.Kubernetes.Internal;

/// <summary>A field of an object's <c>spec</c> does not have the shape its kind needs; <see cref="FieldPath"/> says
/// which (e.g. <c>spec.ports[0].number</c>), so a manifest problem can point at its line.</summary>
internal sealed class SpecFormatException : FormatException
{
    public SpecFormatException(string fieldPath, string reason)
        : base($"{fieldPath}: {reason}")
    {
        FieldPath = fieldPath;
        Reason = reason;
    }

    public SpecFormatException()
    {
        FieldPath = string.Empty;
        Reason = string.Empty;
    }

    public SpecFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        FieldPath = string.Empty;
        Reason = message;
    }

    /// <summary>The field, as a path from the object's root (<c>spec.hosts</c>, <c>spec.ports[1].name</c>).</summary>
    public string FieldPath { get; }

    /// <summary>What is wrong with it.</summary>
    public string Reason { get; }
}
