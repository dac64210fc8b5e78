using System.Collections;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using XdsServer.Cache;

namespace XdsServer.Internal;

/// <summary>
/// Clears the fields Envoy's API marks <c>(udpa.annotations.sensitive) = true</c> (private keys, passwords, session
/// ticket keys, HMAC secrets) from a resource before it is shown in CSDS, the way Envoy's own config dump redacts
/// them — including inside <c>Any</c> (a Listener's transport socket holds its TLS context as one). A resource with
/// no such field set is shown as it is; the redacted form is computed once per resource version.
/// </summary>
internal static class SensitiveFields
{
    private const string AnyName = "google.protobuf.Any";
    private static readonly ConditionalWeakTable<XdsResource, Any> Redacted = [];
    private static readonly ConcurrentDictionary<MessageDescriptor, bool> CanHold = new();

    /// <summary>The resource as CSDS may show it: its packed form, or a copy without its sensitive fields.</summary>
    public static Any Redact(XdsResource resource) =>
        Redacted.GetValue(resource, static r => Holds(r.Message) ? Pack(r.TypeUrl, Cleared(r.Message)) : r.Packed);

    /// <summary>True when a sensitive field of <paramref name="message"/> (or of a message inside it) is set.</summary>
    private static bool Holds(IMessage message)
    {
        if (!MayHold(message.Descriptor))
        {
            return false;
        }

        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            if (IsSensitive(field) ? IsSet(field, message) : Children(field, message).Any(Holds))
            {
                return true;
            }
        }

        return false;
    }

    private static IMessage Cleared(IMessage message)
    {
        var copy = message.Descriptor.Parser.ParseFrom(message.ToByteString());
        Clear(copy);
        return copy;
    }

    private static void Clear(IMessage message)
    {
        if (!MayHold(message.Descriptor))
        {
            return;
        }

        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            if (IsSensitive(field))
            {
                field.Accessor.Clear(message);
                continue;
            }

            if (field.FieldType != FieldType.Message)
            {
                continue;
            }

            foreach (var child in Values(field, message))
            {
                if (child is Any any)
                {
                    if (Unpack(any) is { } inner && Holds(inner))
                    {
                        Clear(inner);
                        any.Value = inner.ToByteString();
                    }
                }
                else
                {
                    Clear(child);
                }
            }
        }
    }

    /// <summary>The messages directly inside <paramref name="field"/>, with an <c>Any</c> unpacked when its type is known.</summary>
    private static IEnumerable<IMessage> Children(FieldDescriptor field, IMessage message)
    {
        if (field.FieldType != FieldType.Message)
        {
            yield break;
        }

        foreach (var child in Values(field, message))
        {
            if (child is Any any)
            {
                if (Unpack(any) is { } inner)
                {
                    yield return inner;
                }
            }
            else
            {
                yield return child;
            }
        }
    }

    private static IEnumerable<IMessage> Values(FieldDescriptor field, IMessage message)
    {
        var value = field.Accessor.GetValue(message);
        if (field.IsMap)
        {
            foreach (DictionaryEntry entry in (IDictionary)value)
            {
                if (entry.Value is IMessage child)
                {
                    yield return child;
                }
            }
        }
        else if (field.IsRepeated)
        {
            foreach (var item in (IList)value)
            {
                yield return (IMessage)item;
            }
        }
        else if (value is IMessage single)
        {
            yield return single;
        }
    }

    private static IMessage? Unpack(Any any)
    {
        var name = Any.GetTypeName(any.TypeUrl);
        return EnvoyApiTypes.Registry.Find(name) is { } descriptor ? descriptor.Parser.ParseFrom(any.Value) : null;
    }

    private static bool IsSet(FieldDescriptor field, IMessage message)
    {
        var value = field.Accessor.GetValue(message);
        return value switch
        {
            null => false,
            IList list => list.Count > 0,
            IDictionary map => map.Count > 0,
            string text => text.Length > 0,
            ByteString bytes => !bytes.IsEmpty,
            bool flag => flag,
            _ => field.HasPresence ? field.Accessor.HasValue(message) : !value.Equals(Activator.CreateInstance(value.GetType())),
        };
    }

    private static bool IsSensitive(FieldDescriptor field) =>
        field.GetOptions()?.GetExtension(Udpa.Annotations.SensitiveExtensions.Sensitive) == true;

    /// <summary>Whether a message of this type can hold a sensitive field at all: through its own fields, its message
    /// fields, or an <c>Any</c> (which may hold anything).</summary>
    private static bool MayHold(MessageDescriptor descriptor) => CanHold.GetOrAdd(descriptor, static d => Reach(d, []));

    private static bool Reach(MessageDescriptor descriptor, HashSet<string> seen)
    {
        if (descriptor.FullName == AnyName)
        {
            return true;
        }

        if (!seen.Add(descriptor.FullName))
        {
            return false;
        }

        foreach (var field in descriptor.Fields.InDeclarationOrder())
        {
            if (IsSensitive(field) || (field.FieldType == FieldType.Message && Reach(field.MessageType, seen)))
            {
                return true;
            }
        }

        return false;
    }

    private static Any Pack(string typeUrl, IMessage message) => new() { TypeUrl = typeUrl, Value = message.ToByteString() };
}
