#!/usr/bin/python3
"""A real xDS client for the interop tests: Debian's python3-grpcio (gRPC C-core).

Run with /usr/bin/python3 (Debian's interpreter, where python3-grpcio is installed):

    GRPC_XDS_BOOTSTRAP_CONFIG='{...}' /usr/bin/python3 client.py --target xds:///hello [--count N]
        [--interval-ms MS] [--deadline-ms MS] [--header name=value]... [--message TEXT]

Makes unary xds.test.Echo/Call calls one after another and prints one JSON line per call:
    {"call": 0, "ok": true, "backend": "a"}   or   {"call": 0, "ok": false, "code": 14, "details": "..."}
--count 0 calls until standard input closes; with any count, closing standard input stops early.
No generated code: the calls are generic with bytes in and out, and the tiny messages are encoded by hand
(a proto3 string field is tag, varint length, UTF-8 bytes).
"""
import argparse
import json
import os
import sys
import threading
import time

import grpc


def encode_varint(n):
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def encode_request(message):
    text = message.encode("utf-8")
    return b"\x0a" + encode_varint(len(text)) + text if text else b""


def decode_reply(data):
    """EchoReply { string backend = 1; string message = 2; }"""
    fields = {}
    at = 0

    def varint():
        nonlocal at
        result, shift = 0, 0
        while True:
            b = data[at]
            at += 1
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result

    while at < len(data):
        key = varint()
        if key & 7 != 2:
            raise ValueError("unexpected wire type in EchoReply: key %d" % key)
        length = varint()
        fields[key >> 3] = data[at:at + length].decode("utf-8")
        at += length
    return fields.get(1, ""), fields.get(2, "")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--interval-ms", type=int, default=0)
    parser.add_argument("--deadline-ms", type=int, default=5000)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--message", default="hello")
    args = parser.parse_args()
    metadata = []
    for header in args.header:
        name, sep, value = header.partition("=")
        if not sep or not name:
            parser.error("--header wants name=value, got %s" % header)
        metadata.append((name.lower(), value))

    stopped = threading.Event()

    def watch_stdin():
        try:  # os.read: unbuffered, so interpreter shutdown never waits on the stdin buffer's lock
            while os.read(sys.stdin.fileno(), 4096):
                pass
        except OSError:
            pass
        stopped.set()

    threading.Thread(target=watch_stdin, daemon=True).start()

    with grpc.insecure_channel(args.target) as channel:
        call = channel.unary_unary("/xds.test.Echo/Call")  # no (de)serializers: bytes in, bytes out
        i = 0
        while (args.count == 0 or i < args.count) and not stopped.is_set():
            try:
                reply = call(encode_request(args.message), timeout=args.deadline_ms / 1000.0, metadata=metadata)
                backend, _ = decode_reply(reply)
                outcome = {"call": i, "ok": True, "backend": backend}
            except grpc.RpcError as error:
                outcome = {"call": i, "ok": False, "code": error.code().value[0], "details": error.details()}
            sys.stdout.write(json.dumps(outcome) + "\n")
            sys.stdout.flush()
            i += 1
            if args.interval_ms > 0:
                stopped.wait(args.interval_ms / 1000.0)


if __name__ == "__main__":
    main()
