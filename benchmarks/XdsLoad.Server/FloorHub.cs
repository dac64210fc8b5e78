using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Envoy.Service.Discovery.V3;
using Google.Protobuf;
using XdsServer.Cache;

namespace XdsLoad.Server;

/// <summary>
/// The floor: the transport's limit on the same stack. Holds the current prebuilt messages and the open floor
/// streams; an update writes its prebuilt message to every open stream of the changed type. No cache, no
/// per-stream state beyond "which types has it asked for", no ACK handling.
/// </summary>
internal sealed class FloorHub : IMeshTarget
{
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<long, FloorStream> _streams = new();
    private long _nextId;
    private MeshModel? _model;
    private Snapshot? _current;
    private FloorMessages? _messages;

    public FloorMessages? Messages => Volatile.Read(ref _messages);

    public SetupResult Setup(MeshShape shape)
    {
        lock (_gate)
        {
            _model = new MeshModel(shape);
            _current = _model.BuildInitial();
            Volatile.Write(ref _messages, FloorMessages.Build(0, _current, null, null));
            return SnapshotTarget.Describe(_current, 0);
        }
    }

    public UpdateResult Update(UpdateRequest request)
    {
        lock (_gate)
        {
            if (_model is null || _current is null)
            {
                throw new InvalidOperationException("POST /setup first");
            }

            var next = SnapshotTarget.Next(_model, _current, request);
            var messages = FloorMessages.Build(_model.Generation, next, _current, _messages);
            var timestamp = Stopwatch.GetTimestamp();
            Volatile.Write(ref _messages, messages);
            foreach (var stream in _streams.Values)
            {
                stream.Publish(messages);
            }

            var result = SnapshotTarget.Changes(_current, next, _model.Generation, timestamp);
            _current = next;
            return result;
        }
    }

    public PublishedResult Published()
    {
        lock (_gate)
        {
            return _current is null || _model is null ? throw new InvalidOperationException("POST /setup first") : PublishedResult.Of(_current, _model.Generation);
        }
    }

    public StatsResult Stats() => new("floor", 0, 0, null, _streams.Count);

    public FloorStream Open(bool delta)
    {
        var stream = new FloorStream(this, delta) { Id = Interlocked.Increment(ref _nextId) };
        _streams[stream.Id] = stream;
        return stream;
    }

    public void Close(FloorStream stream) => _streams.TryRemove(stream.Id, out _);
}

/// <summary>One open floor stream: the types it asked for and a queue drained by its single writer.</summary>
internal sealed class FloorStream(FloorHub hub, bool delta)
{
    private readonly Lock _gate = new();
    private readonly HashSet<string> _types = new(StringComparer.Ordinal);
    private readonly Channel<IMessage> _queue = Channel.CreateUnbounded<IMessage>(new UnboundedChannelOptions { SingleReader = true });

    public long Id { get; init; }

    public ChannelReader<IMessage> Outgoing => _queue.Reader;

    /// <summary>A request arrived: the first one of a type gets the current full state, unless it resumes (a delta
    /// reconnect listing held versions: the floor trusts them to be current and sends nothing); the rest (ACKs,
    /// NACKs, subscription changes) are ignored.</summary>
    public void OnRequest(string typeUrl, bool resumes = false)
    {
        lock (_gate)
        {
            if (!_types.Add(typeUrl) || resumes || hub.Messages is not { } messages)
            {
                return;
            }

            IMessage? full = delta ? messages.DeltaFull.GetValueOrDefault(typeUrl) : messages.SotwFull.GetValueOrDefault(typeUrl);
            if (full is not null)
            {
                _queue.Writer.TryWrite(full);
            }
        }
    }

    public void Publish(FloorMessages messages)
    {
        lock (_gate)
        {
            foreach (var typeUrl in _types)
            {
                IMessage? update = delta ? messages.DeltaUpdates.GetValueOrDefault(typeUrl) : messages.SotwUpdates.GetValueOrDefault(typeUrl);
                if (update is not null)
                {
                    _queue.Writer.TryWrite(update);
                }
            }
        }
    }

    public void Complete() => _queue.Writer.TryComplete();

    public void Close()
    {
        Complete();
        hub.Close(this);
    }
}
