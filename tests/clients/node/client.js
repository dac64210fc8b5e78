#!/usr/bin/env node
// A real xDS client for the interop tests: @grpc/grpc-js with @grpc/grpc-js-xds.
//
//   GRPC_XDS_BOOTSTRAP_CONFIG='{...}' node client.js --target xds:///hello [--count N] [--interval-ms MS]
//       [--deadline-ms MS] [--header name=value]... [--message TEXT]
//
// Makes unary xds.test.Echo/Call calls one after another and prints one JSON line per call:
//   {"call":0,"ok":true,"backend":"a"}   or   {"call":0,"ok":false,"code":14,"details":"..."}
// --count 0 calls until standard input closes; with any count, closing standard input stops early.
// The messages are tiny, so they are encoded by hand (a proto3 string field: tag, varint length, UTF-8).
'use strict';
const grpc = require('@grpc/grpc-js');
const xds = require('@grpc/grpc-js-xds');

function parseArgs(argv) {
  const options = { target: '', count: 1, intervalMs: 0, deadlineMs: 5000, headers: [], message: 'hello' };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--target': options.target = value; i++; break;
      case '--count': options.count = Number(value); i++; break;
      case '--interval-ms': options.intervalMs = Number(value); i++; break;
      case '--deadline-ms': options.deadlineMs = Number(value); i++; break;
      case '--message': options.message = value; i++; break;
      case '--header': {
        const at = value.indexOf('=');
        if (at <= 0) throw new Error(`--header wants name=value, got ${value}`);
        options.headers.push([value.slice(0, at), value.slice(at + 1)]);
        i++;
        break;
      }
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!options.target) throw new Error('--target is required');
  return options;
}

function encodeVarint(n) {
  const bytes = [];
  while (n > 0x7f) { bytes.push((n & 0x7f) | 0x80); n >>>= 7; }
  bytes.push(n);
  return Buffer.from(bytes);
}

function encodeRequest(message) {
  const text = Buffer.from(message, 'utf8');
  return text.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), encodeVarint(text.length), text]);
}

// EchoReply { string backend = 1; string message = 2; }
function decodeReply(buffer) {
  const reply = { backend: '', message: '' };
  let at = 0;
  const varint = () => {
    let result = 0, shift = 0, b;
    do { b = buffer[at++]; result += (b & 0x7f) * 2 ** shift; shift += 7; } while (b & 0x80);
    return result;
  };
  while (at < buffer.length) {
    const key = varint();
    if ((key & 7) !== 2) throw new Error(`unexpected wire type in EchoReply: key ${key}`);
    const length = varint();
    const text = buffer.toString('utf8', at, at + length);
    at += length;
    if (key >> 3 === 1) reply.backend = text; else if (key >> 3 === 2) reply.message = text;
  }
  return reply;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  xds.register();
  const client = new grpc.Client(options.target, grpc.credentials.createInsecure());
  let stopped = false;
  process.stdin.on('end', () => { stopped = true; });
  process.stdin.on('error', () => { stopped = true; });
  process.stdin.resume();

  const call = () => new Promise(resolve => {
    const metadata = new grpc.Metadata();
    for (const [name, value] of options.headers) metadata.add(name, value);
    client.makeUnaryRequest('/xds.test.Echo/Call', encodeRequest, decodeReply, options.message, metadata,
      { deadline: Date.now() + options.deadlineMs },
      (error, reply) => resolve(error
        ? { ok: false, code: error.code, details: error.details ?? String(error.message) }
        : { ok: true, backend: reply.backend }));
  });

  for (let i = 0; (options.count === 0 || i < options.count) && !stopped; i++) {
    const outcome = await call();
    process.stdout.write(JSON.stringify({ call: i, ...outcome }) + '\n');
    if (options.intervalMs > 0) await new Promise(r => setTimeout(r, options.intervalMs));
  }
  client.close();
  process.stdout.write('', () => process.exit(0));
}

main().catch(error => {
  process.stderr.write(`client failed: ${error.stack ?? error}\n`);
  process.exit(2);
});
