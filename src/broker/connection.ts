// One client connection: framing (4-byte size, checked before anything is buffered),
// decoding, dispatch, and responses written in request order even when handlers finish
// out of order. Reading pauses while too many request bytes are in flight or while the
// socket cannot take more output.

import type { Socket } from 'node:net';
import { Reader } from '../protocol/reader.js';
import { readRequestHeader, responseHeaderFlexible, encodeResponse, type RequestHeader } from '../protocol/header.js';
import { ApiKey } from '../protocol/generated/apis.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import type { ApiStats, BrokerMetrics } from './metrics.js';
import type { BrokerConfig } from './config.js';
import type { Logger } from './logger.js';
import { Session } from './session.js';
import { refusal } from './gate.js';
import { RequestContext, type BrokerServices, type HandlerEntry } from './handlers/handler.js';

/** Smallest request: api_key, api_version, correlation_id, client_id length. */
const MIN_FRAME = 10;

/** What a connection needs of the broker that accepted it. */
export interface ConnectionHost {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  readonly metrics: BrokerMetrics;
  /** The dispatch table: handler by API key. */
  readonly handlers: readonly (HandlerEntry | undefined)[];
  readonly services: BrokerServices;
  apiVersionsResponse(errorCode: number): object;
  connectionClosed(c: Connection): void;
}

class Slot {
  chunks: Buffer[] | null = null;
  done = false;
  size = 0;
  next: Slot | null = null;
  /** The request's API stats and when its frame was read (performance.now()), for the latency histogram. */
  api: ApiStats | null = null;
  start = 0;
}

export class Connection {
  readonly socket: Socket;
  readonly session: Session;
  private readonly broker: ConnectionHost;

  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private frameSize = -1;
  private head: Slot | null = null;
  private tail: Slot | null = null;
  private inflightBytes = 0;
  private pausedForMemory = false;
  private pausedForOutput = false;
  private draining = false;
  private drainedResolve: (() => void) | null = null;

  constructor(socket: Socket, broker: ConnectionHost, listener: string) {
    this.socket = socket;
    this.broker = broker;
    this.session = new Session(listener, socket.remoteAddress ?? '', socket.remotePort ?? 0);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.pausedForOutput = false;
      this.updateReading();
    });
    socket.on('error', (e) => this.broker.logger.debug('connection error', { remote: this.session.remote, error: e }));
    socket.on('close', () => this.onClose());
  }

  private onData(chunk: Buffer): void {
    this.broker.metrics.bytesIn.inc(chunk.length);
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (!this.closed) {
      if (this.frameSize < 0) {
        if (this.pendingBytes < 4) return;
        const size = this.take(4).readInt32BE(0);
        if (size < MIN_FRAME || size > this.broker.config.socketRequestMaxBytes) {
          this.closeForBadInput('frame_size', `request size ${size} is outside 10..${this.broker.config.socketRequestMaxBytes} bytes (socket.request.max.bytes)`);
          return;
        }
        this.frameSize = size;
      }
      if (this.pendingBytes < this.frameSize) return;
      const frame = this.take(this.frameSize);
      this.frameSize = -1;
      this.handleFrame(frame);
    }
  }

  /** Takes n buffered bytes: a view when they lie in one chunk, a copy when they span chunks. */
  private take(n: number): Buffer {
    const first = this.pending[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.pending[0]!;
        const k = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, k);
        filled += k;
        if (k === c.length) this.pending.shift();
        else this.pending[0] = c.subarray(k);
      }
    }
    this.pendingBytes -= n;
    return out;
  }

  private handleFrame(frame: Buffer): void {
    const start = performance.now();
    const broker = this.broker;
    const r = new Reader(frame);
    r.entriesLeft = broker.config.requestMaxEntries;
    const header = readRequestHeader(r);
    if (r.bad) return this.closeForBadInput('bad_header', `unreadable request header: ${r.reason}`);
    const entry = broker.handlers[header.apiKey];
    if (entry === undefined) {
      return this.closeForBadInput('unknown_api', `unknown or unsupported API key ${header.apiKey}`);
    }
    if (header.apiVersion < entry.minVersion || header.apiVersion > entry.maxVersion) {
      if (header.apiKey === ApiKey.ApiVersions) {
        // KIP-511: answer in v0 with UNSUPPORTED_VERSION and our ranges, so the client can pick a version.
        const slot = this.enqueue(0);
        this.complete(slot, header, 0, broker.apiVersionsResponse(ErrorCode.UNSUPPORTED_VERSION));
        return;
      }
      return this.closeForBadInput('unsupported_version', `${entry.codec.name} v${header.apiVersion} is not supported (supported: v${entry.minVersion}-v${entry.maxVersion})`);
    }
    const refused = refusal(this.session, header.apiKey);
    if (refused !== null) return this.closeForBadInput('unauthenticated', refused);
    const codec = entry.codec;
    if (header.apiVersion >= codec.flexibleFrom) r.skipTaggedFields();
    let request: object;
    try {
      request = codec.readRequest[header.apiVersion]!(r);
    } catch (e) {
      return this.closeForBadInput('malformed', `${codec.name} v${header.apiVersion} could not be decoded: ${(e as Error).message}`);
    }
    if (r.bad) {
      if (r.entriesLeft < 0) return this.closeForBadInput('too_many_entries', `${codec.name} v${header.apiVersion} holds more than ${broker.config.requestMaxEntries} array entries (request.max.entries)`);
      return this.closeForBadInput('malformed', `${codec.name} v${header.apiVersion} is malformed: ${r.reason}`);
    }
    const api = broker.metrics.apis[header.apiKey] ?? broker.metrics.api(header.apiKey, codec.name);
    api.requests++;
    const slot = this.enqueue(frame.length);
    slot.api = api;
    slot.start = start;
    const ctx = new RequestContext(header, this.session, broker.services);
    let result: object | null | Promise<object | null>;
    try {
      result = entry.handle(ctx, request);
    } catch (e) {
      broker.logger.error('request handler failed', { api: codec.name, version: header.apiVersion, remote: this.session.remote, error: e, stack: (e as Error).stack });
      this.observeLatency(slot);
      this.socket.destroy();
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (res) => this.complete(slot, header, header.apiVersion, res),
        (e) => {
          broker.logger.error('request handler failed', { api: codec.name, version: header.apiVersion, remote: this.session.remote, error: e, stack: (e as Error).stack });
          this.observeLatency(slot);
          this.socket.destroy();
        },
      );
    } else {
      this.complete(slot, header, header.apiVersion, result);
    }
  }

  private enqueue(size: number): Slot {
    const slot = new Slot();
    slot.size = size;
    if (this.tail === null) this.head = slot;
    else this.tail.next = slot;
    this.tail = slot;
    this.inflightBytes += size;
    if (this.inflightBytes > this.broker.config.connectionMemoryBytes) {
      this.pausedForMemory = true;
      this.updateReading();
    }
    return slot;
  }

  private complete(slot: Slot, header: RequestHeader, version: number, response: object | null): void {
    if (this.closed) return this.observeLatency(slot);
    if (response !== null) {
      const entry = this.broker.handlers[header.apiKey]!;
      const codec = entry.codec;
      try {
        this.countErrors(entry, response);
        slot.chunks = encodeResponse(header.correlationId, responseHeaderFlexible(header.apiKey, version), codec.writeResponse[version]!, response);
      } catch (e) {
        // A handler built a response the codec cannot write: a bug of ours, not the client's. Drop the connection, keep the broker.
        this.broker.logger.error('response encoding failed', { api: codec.name, version, remote: this.session.remote, error: e, stack: (e as Error).stack });
        this.observeLatency(slot);
        this.socket.destroy();
        return;
      }
    }
    slot.done = true;
    this.observeLatency(slot);
    this.flush();
  }

  /** Request latency, frame read to response queued; also when the request ends without an answer, so the histogram's count matches rivulet_requests_total. */
  private observeLatency(slot: Slot): void {
    if (slot.api !== null) slot.api.duration.observe((performance.now() - slot.start) / 1000);
  }

  private flush(): void {
    if (this.head === null || !this.head.done) return;
    this.socket.cork();
    let ok = true;
    while (this.head !== null && this.head.done) {
      const slot: Slot = this.head;
      if (slot.chunks !== null) {
        for (const c of slot.chunks) {
          this.broker.metrics.bytesOut.inc(c.length);
          ok = this.socket.write(c);
        }
      }
      this.inflightBytes -= slot.size;
      this.head = slot.next;
    }
    if (this.head === null) this.tail = null;
    this.socket.uncork();
    if (!ok) this.pausedForOutput = true;
    if (this.pausedForMemory && this.inflightBytes <= this.broker.config.connectionMemoryBytes) this.pausedForMemory = false;
    this.updateReading();
    if (this.draining && this.head === null) this.drainedResolve?.();
  }

  private updateReading(): void {
    if (this.closed) return;
    if (this.pausedForMemory || this.pausedForOutput || this.draining) this.socket.pause();
    else this.socket.resume();
  }

  /** Counts the response's non-zero error codes: through the API's own visitor where it has one (the hot APIs), else by walking the response. */
  private countErrors(entry: HandlerEntry, response: object): void {
    const metrics = this.broker.metrics;
    const api = entry.codec.name;
    if (entry.errorCodes !== undefined) {
      entry.errorCodes(response, (code) => {
        if (code !== 0) metrics.responseError(api, errorName(code));
      });
      return;
    }
    const walk = (o: any): void => {
      for (const key in o) {
        const v = o[key];
        if (key === 'errorCode') {
          if (v !== 0) metrics.responseError(api, errorName(v));
        } else if (Array.isArray(v)) {
          for (const e of v) if (e !== null && typeof e === 'object' && !Buffer.isBuffer(e)) walk(e);
        } else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
          walk(v);
        }
      }
    };
    walk(response);
  }

  private closeForBadInput(reason: string, message: string): void {
    this.broker.logger.warn('closing connection: bad request', { remote: this.session.remote, reason: message });
    this.broker.metrics.closedForBadInputBy(reason);
    this.socket.destroy();
    this.onClose();
  }

  get closed(): boolean {
    return this.session.closed;
  }

  private onClose(): void {
    if (this.closed) return;
    this.pending = [];
    this.pendingBytes = 0;
    this.session.close();
    this.broker.connectionClosed(this);
    this.drainedResolve?.();
  }

  /** Stops reading new requests and resolves once every request already read has been answered. */
  drain(): Promise<void> {
    this.draining = true;
    this.updateReading();
    if (this.head === null || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainedResolve = resolve;
    });
  }
}
