// A minimal Kafka protocol client over the project's own codec, for tests that need
// exact control of what goes on the wire (bad input, crash checks, raw fetches).

import { connect, type Socket } from 'node:net';
import { Reader } from '../../src/protocol/reader.js';
import { codecs } from '../../src/protocol/generated/index.js';
import { encodeRequest, responseHeaderFlexible } from '../../src/protocol/header.js';

export class WireClient {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting = new Map<number, { apiKey: number; version: number; resolve: (v: any) => void; reject: (e: Error) => void }>();
  private nextCorrelation = 1;
  closed = false;
  /** The client id the requests carry (quotas are per client id). */
  clientId = 'wire-test';
  /** Correlation ids of the responses received, in the order they arrived. */
  readonly received: number[] = [];
  private closeWaiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiting.values()) w.reject(new Error('connection closed'));
      this.waiting.clear();
      for (const c of this.closeWaiters) c();
    });
    socket.on('error', () => undefined);
  }

  /** `localAddress` picks the client's own address (any of 127.0.0.0/8 on loopback), for limits per address. */
  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host, noDelay: true, ...(localAddress === undefined ? {} : { localAddress }) }, () => resolve(new WireClient(s)));
      s.once('error', reject);
    });
  }

  private onData(d: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, d]);
    while (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length < 4 + size) return;
      const frame = this.buffered.subarray(4, 4 + size);
      this.buffered = this.buffered.subarray(4 + size);
      const correlationId = frame.readInt32BE(0);
      this.received.push(correlationId);
      const w = this.waiting.get(correlationId);
      if (!w) continue;
      this.waiting.delete(correlationId);
      const r = new Reader(frame, 4);
      if (responseHeaderFlexible(w.apiKey, w.version)) r.skipTaggedFields();
      const body = codecs[w.apiKey]!.readResponse[w.version]!(r);
      if (r.bad) w.reject(new Error(`undecodable response: ${r.reason}`));
      else w.resolve(body);
    }
  }

  /** The correlation id the next request will carry (ids count up from 1 per connection). */
  get nextCorrelationId(): number {
    return this.nextCorrelation;
  }

  /** Sends a request and resolves with the decoded response. */
  request<T = any>(apiKey: number, version: number, body: object): Promise<T> {
    const correlationId = this.nextCorrelation++;
    const chunks = encodeRequest({ apiKey, apiVersion: version, correlationId, clientId: this.clientId }, codecs[apiKey]!.writeRequest[version]!, body);
    const p = new Promise<T>((resolve, reject) => this.waiting.set(correlationId, { apiKey, version, resolve, reject }));
    this.writeChunks(chunks);
    return p;
  }

  /** Sends a request without waiting (acks=0). */
  send(apiKey: number, version: number, body: object): void {
    const chunks = encodeRequest({ apiKey, apiVersion: version, correlationId: this.nextCorrelation++, clientId: this.clientId }, codecs[apiKey]!.writeRequest[version]!, body);
    this.writeChunks(chunks);
  }

  /** One frame's chunks in one TCP write (cork), so the broker never waits for a frame's tail. */
  private writeChunks(chunks: Buffer[]): void {
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves when the broker closes the connection, or rejects after `ms`. */
  waitClosed(ms = 5000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`connection still open after ${ms} ms`)), ms);
      this.closeWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
