// One client connection: framing (4-byte size, checked before anything is buffered),
// decoding, dispatch, and responses written in request order even when handlers finish
// out of order.
//
// Memory: a connection holds the bytes buffered from the socket, a request from the moment
// its size prefix is admitted (its announced size is reserved then) until its response is
// written, a handler's estimate of its response (Fetch) until the response exists, and the
// encoded responses the client has not read yet (socket.writableLength). A frame is admitted
// only when its announced size fits in what the connection (connection.memory.bytes) and
// all connections together (queued.max.request.bytes, kept by the host) may still hold;
// otherwise its bytes wait in the socket until memory is given back. Buffered frames are
// not decoded while the connection is over its budget. The host's sweep closes a connection
// whose frame does not arrive whole, or whose responses the client does not read, within
// socket.request.timeout.ms, and one idle for connections.max.idle.ms.
//
// Quotas (quotas.ts): a response over a client quota is sent at once with its throttleTimeMs,
// then the connection is muted for that time (KIP-219): its socket is paused and buffered frames
// wait, even a frame half received. A muted connection's time counts neither against
// socket.request.timeout.ms (the sweep restarts a frame's clock while the socket is paused) nor
// as idle time.

import type { Socket } from 'node:net';
import { Reader } from '../protocol/reader.js';
import { readRequestHeader, responseHeaderFlexible, encodeResponse, type RequestHeader } from '../protocol/header.js';
import { ApiKey } from '../protocol/generated/apis.js';
import { ErrorCode, errorName } from '../protocol/errors.js';
import type { ApiStats, BrokerMetrics } from './metrics.js';
import type { BrokerConfig } from './config.js';
import type { Logger } from './logger.js';
import { Session, type SessionProtocol } from './session.js';
import { refusal, type Refusal } from './gate.js';
import { RequestContext, type BrokerServices, type HandlerEntry } from './handlers/handler.js';
import { QuotaType } from './quotas.js';

/** Smallest request: api_key, api_version, correlation_id, client_id length. */
const MIN_FRAME = 10;

/** A TLS record: alert (21), version 3.3, 2 bytes: fatal (2), handshake_failure (40). */
const TLS_HANDSHAKE_FAILURE_ALERT = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);

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
  /** Coarse clock (ms), advanced by the host's sweep: when frames started, when bytes last moved. */
  readonly clock: number;
  /** Whether `bytes` more may be held under queued.max.request.bytes by a connection now holding `own`. */
  admits(bytes: number, own: number): boolean;
  /** Adds to (negative: gives back) the bytes all connections hold. */
  memoryChanged(delta: number): void;
  /** Asks to be retried (connectionRetry) once the connections together hold less. */
  waitForMemory(c: Connection): void;
}

class Slot {
  chunks: Buffer[] | null = null;
  done = false;
  /** Request frame bytes, then also the encoded response's, held until written to the socket. */
  size = 0;
  /** The handler's estimate of the response (Fetch), held until the response is encoded. */
  estimate = 0;
  next: Slot | null = null;
  /** The request's API stats and when its frame was read (performance.now()), for the latency histogram. */
  api: ApiStats | null = null;
  start = 0;
  /** performance.now() when the handler was called, and when the response was encoded: the stage boundaries. */
  handlerStart = 0;
  encodedAt = 0;
  /** The handler's context, for the time it spent parked (Fetch). */
  ctx: RequestContext | null = null;
  /** Milliseconds of the event loop the request took until its handler returned (request_percentage), when quotas are active. */
  busyMs = 0;
}

export class Connection {
  readonly socket: Socket;
  readonly session: Session;
  private readonly broker: ConnectionHost;

  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Announced size of the frame being received (admitted), or -1 while reading a size prefix. */
  private frameSize = -1;
  /** Clock when the current frame's first byte arrived (or when it was admitted), -1 when none is arriving. */
  private frameStart = -1;
  /** A size prefix was read whose frame does not fit yet; its bytes wait in the socket. */
  private waitingAdmission = false;
  private head: Slot | null = null;
  private tail: Slot | null = null;
  /** Sum of the slots' size: requests (and their encoded responses) not yet written. */
  private inflightBytes = 0;
  /** Sum of the slots' estimate. */
  private estimateBytes = 0;
  /** What this connection holds, as last reported to the host (its share of queued.max.request.bytes). */
  private accounted = 0;
  private pausedForOutput = false;
  private draining = false;
  private drainedResolve: (() => void) | null = null;
  private processing = false;
  private processAgain = false;
  /** Whether no bytes came in yet: the first two tell a TLS handshake apart. */
  private firstBytes = true;
  /** Set while the connection is muted for a quota's throttle time (KIP-219): nothing is read or decoded. */
  private muteTimer: NodeJS.Timeout | null = null;
  private mutedUntil = 0;
  /** Clock of the last bytes received or response written: idle time counts from it. */
  private lastActivity: number;
  /** Bytes handed to socket.write, and how many of them the client had taken at the last sweep. */
  private bytesWritten = 0;
  private deliveredAtSweep = 0;
  private lastDelivery: number;
  /** performance.now() of the last bytes received: when the frame they complete was read, for the queue stage. */
  private dataAt = 0;
  /** Slots whose responses were handed to socket.write and whose write callbacks are pending, oldest first (linked by next). */
  private writingHead: Slot | null = null;
  private writingTail: Slot | null = null;
  /** One callback for every response write: the socket calls them in write order, so it completes the oldest slot. */
  private readonly onWritten = (err?: Error | null): void => {
    const slot = this.writingHead;
    if (slot === null) return;
    this.writingHead = slot.next;
    if (this.writingHead === null) this.writingTail = null;
    slot.next = null;
    if (err == null && slot.api !== null) slot.api.flush.observe((performance.now() - slot.encodedAt) / 1000);
  };

  constructor(socket: Socket, broker: ConnectionHost, listener: string, protocol: SessionProtocol = 'PLAINTEXT') {
    this.socket = socket;
    this.broker = broker;
    this.session = new Session(listener, socket.remoteAddress ?? '', socket.remotePort ?? 0, protocol);
    // On an SSL listener the handshake is done; the first bytes are a Kafka request.
    this.firstBytes = protocol === 'PLAINTEXT' || protocol === 'SASL_PLAINTEXT';
    this.lastActivity = broker.clock;
    this.lastDelivery = broker.clock;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.pausedForOutput = false;
      this.recount();
      this.process();
    });
    socket.on('error', (e) => this.broker.logger.debug('connection error', { remote: this.session.remote, error: e }));
    socket.on('close', () => this.onClose());
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.broker.metrics.bytesIn.inc(chunk.length);
    this.dataAt = performance.now();
    this.lastActivity = this.broker.clock;
    if (this.firstBytes) {
      this.firstBytes = false;
      // A TLS record header: handshake (22), version 3.x. Read as a size it is ~369 MB; say what it is.
      if (chunk.length >= 2 && chunk[0] === 0x16 && chunk[1] === 0x03) return this.refuseTls();
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.process();
  }

  /**
   * A TLS client cannot read a Kafka error, but it reads a TLS alert: answer its ClientHello
   * with a fatal handshake_failure alert, which clients report as a failed SSL handshake (the
   * Java client fails at once instead of retrying), then close.
   */
  private refuseTls(): void {
    this.broker.logger.warn('closing connection: TLS handshake on a PLAINTEXT listener', {
      remote: this.session.remote,
      reason: `the client started a TLS handshake, but listener ${this.session.listener} is ${this.session.securityProtocol}; configure the client with security.protocol=${this.session.securityProtocol}, or connect to an SSL or SASL_SSL listener`,
    });
    this.broker.metrics.closedForBadInputBy('tls_handshake');
    const socket = this.socket;
    this.onClose();
    // The client closes once it has read the alert; what it sends meanwhile is read and dropped.
    socket.end(TLS_HANDSHAKE_FAILURE_ALERT);
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  /** Decodes and dispatches the buffered frames that may be admitted; stops while the connection is over its budget. */
  private process(): void {
    if (this.processing) {
      this.processAgain = true;
      return;
    }
    this.processing = true;
    try {
      do {
        this.processAgain = false;
        this.processFrames();
      } while (this.processAgain && !this.closed);
    } finally {
      this.processing = false;
    }
    this.recount();
    this.updateReading();
  }

  private processFrames(): void {
    const config = this.broker.config;
    while (!this.closed && !this.draining && this.muteTimer === null) {
      if (this.frameSize < 0) {
        if (this.pendingBytes === 0) {
          this.frameStart = -1;
          return;
        }
        if (this.frameStart < 0) this.frameStart = this.broker.clock;
        if (this.pendingBytes < 4) return;
        const size = this.peekSize();
        if (size < MIN_FRAME || size > config.socketRequestMaxBytes) {
          this.closeForBadInput('frame_size', `request size ${size} is outside 10..${config.socketRequestMaxBytes} bytes (socket.request.max.bytes)`);
          return;
        }
        if (!this.session.authenticated && size > config.saslServerMaxReceiveSize) {
          // Before a login, a client may not make the broker buffer more than a SASL exchange needs.
          this.broker.metrics.authenticationFailed(this.session.listener, this.session.saslMechanism ?? 'none', 'malformed');
          this.closeForBadInput('sasl_frame_size', `request size ${size} before authentication on SASL listener ${this.session.listener} is over ${config.saslServerMaxReceiveSize} bytes (sasl.server.max.receive.size)`);
          return;
        }
        const refused = this.admission(size);
        if (refused !== null) {
          // Retried when this connection's own requests give memory back (flush), or, over the total, when another's do (the host).
          this.waitingAdmission = true;
          if (refused === 'total') this.broker.waitForMemory(this);
          return;
        }
        if (this.waitingAdmission) {
          // Waiting was the broker's doing: the frame's time starts now.
          this.waitingAdmission = false;
          this.frameStart = this.broker.clock;
        }
        this.take(4);
        this.frameSize = size;
        this.recount();
      }
      if (this.pendingBytes < this.frameSize) return;
      const frame = this.take(this.frameSize);
      this.frameSize = -1;
      this.frameStart = -1;
      this.handleFrame(frame);
      this.recount();
    }
  }

  /** The size prefix of the next frame, read without consuming it. */
  private peekSize(): number {
    const first = this.pending[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const b = Buffer.allocUnsafe(4);
    let filled = 0;
    for (const c of this.pending) {
      const k = Math.min(c.length, 4 - filled);
      c.copy(b, filled, 0, k);
      filled += k;
      if (filled === 4) break;
    }
    return b.readInt32BE(0);
  }

  /** What the connection holds besides its buffered input: requests in flight, estimates, responses not yet read. */
  private heldBesidesInput(): number {
    return this.inflightBytes + this.estimateBytes + this.socket.writableLength;
  }

  /**
   * Null when a frame of `size` may start, else which budget refuses it: it must fit in the connection's budget (unless the
   * connection holds nothing else, so one request of any accepted size can always go
   * through) and in what all connections together may still hold.
   */
  private admission(size: number): 'connection' | 'total' | null {
    // The buffered bytes (size prefix aside) already count; the frame will hold `after`.
    const after = Math.max(this.pendingBytes - 4, size);
    const other = this.heldBesidesInput();
    if (other > 0 && other + after > this.broker.config.connectionMemoryBytes) return 'connection';
    return this.broker.admits(Math.max(0, after - this.pendingBytes), this.accounted) ? null : 'total';
  }

  /** Reports what the connection holds now to the host (the received frame counts its announced size). */
  private recount(): void {
    if (this.closed) return;
    const input = this.frameSize >= 0 ? Math.max(this.pendingBytes, this.frameSize) : this.pendingBytes;
    const now = input + this.inflightBytes + this.socket.writableLength;
    if (now !== this.accounted) {
      this.broker.memoryChanged(now - this.accounted);
      this.accounted = now;
    }
  }

  /** What counts against connection.memory.bytes. */
  private held(): number {
    return this.accounted + this.estimateBytes;
  }

  /** Called by the host when memory was given back somewhere: tries the waiting frame again. */
  retry(): void {
    if (!this.closed) this.process();
  }

  /**
   * The host's sweep: reports bytes the socket handed to the kernel since the last event, and
   * closes the connection when a frame is not received whole, or responses are not read, within
   * socket.request.timeout.ms, or when it has been idle for connections.max.idle.ms.
   */
  sweep(now: number): void {
    if (this.closed) return;
    this.recount();
    // A frame waiting for memory is retried here too: a client reading its answers frees
    // socket output without any event this connection would hear.
    if (this.waitingAdmission) this.process();
    if (this.closed) return;
    // The frame's clock runs only while the broker reads: time it spent paused for memory or
    // output is the broker's doing, not a slow client's.
    if (this.frameStart >= 0 && (this.waitingAdmission || this.socket.isPaused())) this.frameStart = now;
    const config = this.broker.config;
    const timeout = config.socketRequestTimeoutMs;
    const waiting = this.socket.writableLength;
    const delivered = this.bytesWritten - waiting;
    if (waiting === 0 || delivered > this.deliveredAtSweep) this.lastDelivery = now;
    this.deliveredAtSweep = delivered;
    if (this.frameStart >= 0 && now - this.frameStart > timeout) {
      const announced = this.frameSize >= 0 ? `of ${this.frameSize} bytes ` : '';
      this.closeForBadInput('request_timeout', `the request frame ${announced}was not received whole within ${timeout} ms (socket.request.timeout.ms); ${this.pendingBytes} bytes of it arrived`);
      return;
    }
    if (waiting > 0 && now - this.lastDelivery > timeout) {
      this.closeForBadInput('responses_not_read', `the client read none of the ${waiting} response bytes waiting for it within ${timeout} ms (socket.request.timeout.ms)`);
      return;
    }
    const idle = config.connectionsMaxIdleMs;
    if (idle > 0 && this.head === null && this.pendingBytes === 0 && waiting === 0 && this.muteTimer === null && now - this.lastActivity > idle) {
      this.broker.logger.debug('closing idle connection', { remote: this.session.remote, idleMs: now - this.lastActivity, limit: 'connections.max.idle.ms' });
      this.broker.metrics.connectionsIdleClosed.inc();
      this.destroy();
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
    // A failed login: nothing more is read, the connection closes once its answers are written.
    if (this.session.closeAfterResponses) return;
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
    if (refused !== null) return this.closeRefused(refused);
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
    api.requestBytes += frame.length;
    const slot = this.enqueue(frame.length, entry.memoryEstimate === undefined ? 0 : entry.memoryEstimate(request, broker.config));
    slot.api = api;
    slot.start = start;
    const ctx = new RequestContext(header, this.session, broker.services);
    slot.ctx = ctx;
    const handlerStart = performance.now();
    slot.handlerStart = handlerStart;
    // Frames buffered while the connection waited (memory, output) count from the last bytes
    // read before they were handled, not from when each frame's own bytes came: a lower bound.
    api.queue.observe(Math.max(0, handlerStart - Math.min(this.dataAt, start)) / 1000);
    let result: object | null | Promise<object | null>;
    try {
      result = entry.handle(ctx, request);
      if (broker.services.quotas.active) slot.busyMs = performance.now() - start;
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

  private enqueue(size: number, estimate = 0): Slot {
    const slot = new Slot();
    slot.size = size;
    slot.estimate = estimate;
    if (this.tail === null) this.head = slot;
    else this.tail.next = slot;
    this.tail = slot;
    this.inflightBytes += size;
    this.estimateBytes += estimate;
    return slot;
  }

  private complete(slot: Slot, header: RequestHeader, version: number, response: object | null): void {
    if (this.closed) return this.observeLatency(slot);
    this.estimateBytes -= slot.estimate;
    slot.estimate = 0;
    if (this.broker.services.quotas.active || (slot.ctx !== null && slot.ctx.throttleMs > 0)) response = this.throttle(slot, header, response);
    if (response !== null) {
      const entry = this.broker.handlers[header.apiKey]!;
      const codec = entry.codec;
      try {
        this.countErrors(entry, response);
        slot.chunks = encodeResponse(header.correlationId, responseHeaderFlexible(header.apiKey, version), codec.writeResponse[version]!, response);
        let n = 0;
        for (const c of slot.chunks) n += c.length;
        slot.size += n;
        this.inflightBytes += n;
      } catch (e) {
        // A handler built a response the codec cannot write: a bug of ours, not the client's. Drop the connection, keep the broker.
        this.broker.logger.error('response encoding failed', { api: codec.name, version, remote: this.session.remote, error: e, stack: (e as Error).stack });
        this.observeLatency(slot);
        this.socket.destroy();
        return;
      }
    }
    slot.done = true;
    const now = performance.now();
    slot.encodedAt = now;
    const api = slot.api;
    if (api !== null) {
      api.duration.observe((now - slot.start) / 1000);
      const parkedMs = slot.ctx === null ? 0 : slot.ctx.parkedMs;
      if (parkedMs > 0 && api.parked !== null) api.parked.observe(parkedMs / 1000);
      api.handler.observe(Math.max(0, now - slot.handlerStart - parkedMs) / 1000);
    }
    slot.ctx = null;
    this.flush();
  }

  /**
   * Records the request against the client's quotas (Produce: its bytes; every API but the
   * handshakes: its time), and when it is over one (or its handler throttled it: Fetch), mutes
   * the connection and returns the response with the throttle time (a copy: handlers may share
   * response objects).
   */
  private throttle(slot: Slot, header: RequestHeader, response: object | null): object | null {
    const quotas = this.broker.services.quotas;
    const principal = this.session.principal;
    const clientId = header.clientId ?? '';
    const now = performance.now();
    const key = header.apiKey;
    let ms = slot.ctx === null ? 0 : slot.ctx.throttleMs;
    let type: QuotaType = slot.ctx === null ? QuotaType.FETCH : (slot.ctx.throttleType as QuotaType);
    if (quotas.active) {
      if (key === ApiKey.Produce) {
        // Bytes of the request frame (slot.size holds only the request until the response is encoded).
        const p = quotas.record(QuotaType.PRODUCE, principal, clientId, slot.size, now);
        if (p > ms) (ms = p), (type = QuotaType.PRODUCE);
      }
      if (key !== ApiKey.ApiVersions && key !== ApiKey.SaslHandshake && key !== ApiKey.SaslAuthenticate) {
        // request_percentage counts percent of one core: ms * 100 / 1000 per request.
        const r = quotas.record(QuotaType.REQUEST, principal, clientId, slot.busyMs / 10, now);
        if (r > ms) (ms = r), (type = QuotaType.REQUEST);
      }
    }
    if (ms <= 0) return response;
    this.broker.metrics.throttled(type, ms);
    this.mute(ms);
    if (response === null || !('throttleTimeMs' in response)) return response;
    return { ...response, throttleTimeMs: ms };
  }

  /** Stops reading and decoding for `ms` (or longer, when already muted longer). */
  private mute(ms: number): void {
    const until = performance.now() + ms;
    if (until <= this.mutedUntil) return;
    this.mutedUntil = until;
    if (this.muteTimer !== null) clearTimeout(this.muteTimer);
    this.muteTimer = setTimeout(() => {
      this.muteTimer = null;
      this.mutedUntil = 0;
      this.lastActivity = this.broker.clock;
      this.process();
    }, ms);
    this.updateReading();
  }

  /** Request latency, frame read to response queued; also when the request ends without an answer, so the histogram's count matches rivulet_requests_total. */
  private observeLatency(slot: Slot): void {
    if (slot.api !== null) slot.api.duration.observe((performance.now() - slot.start) / 1000);
  }

  private flush(): void {
    if (this.head === null || !this.head.done) {
      this.recount();
      this.updateReading();
      return;
    }
    this.socket.cork();
    let ok = true;
    while (this.head !== null && this.head.done) {
      const slot: Slot = this.head;
      this.head = slot.next;
      if (slot.chunks !== null && slot.chunks.length > 0) {
        const chunks = slot.chunks;
        const last = chunks.length - 1;
        // The slot waits for its last chunk's write callback (flush stage); the callbacks come in write order.
        slot.next = null;
        if (this.writingTail === null) this.writingHead = slot;
        else this.writingTail.next = slot;
        this.writingTail = slot;
        for (let i = 0; i <= last; i++) {
          const c = chunks[i]!;
          this.broker.metrics.bytesOut.inc(c.length);
          this.bytesWritten += c.length;
          ok = i === last ? this.socket.write(c, this.onWritten) : this.socket.write(c);
        }
        slot.chunks = null;
      }
      this.inflightBytes -= slot.size;
    }
    if (this.head === null) this.tail = null;
    this.socket.uncork();
    this.lastActivity = this.broker.clock;
    if (!ok) this.pausedForOutput = true;
    if (this.draining && this.head === null) this.drainedResolve?.();
    if (this.session.closeAfterResponses && this.head === null) return this.endAfterWrites();
    // Memory was given back: buffered frames may go on.
    this.process();
  }

  private updateReading(): void {
    if (this.closed) return;
    // A frame already admitted is received whole: its bytes are reserved.
    const receiving = this.frameSize >= 0 && this.pendingBytes < this.frameSize;
    const overBudget = this.held() > this.broker.config.connectionMemoryBytes;
    if (this.draining || this.muteTimer !== null || (!receiving && (this.waitingAdmission || overBudget || this.pausedForOutput))) this.socket.pause();
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

  /** A request the gate refused: counted and logged (a flood at most one line a second), then the connection is closed. */
  private closeRefused(r: Refusal): void {
    const s = this.session;
    this.broker.metrics.authenticationFailed(s.listener, r.reason === 'unauthenticated' ? 'none' : s.saslMechanism ?? 'none', r.reason);
    this.broker.metrics.closedForBadInputBy(r.reason);
    this.broker.services.throttledLog.warn(`gate:${r.reason}`, 'closing connection: not authenticated', { remote: s.remote, listener: s.listener, reason: r.message });
    this.destroy();
  }

  private closeForBadInput(reason: string, message: string): void {
    this.broker.logger.warn('closing connection: bad request', { remote: this.session.remote, reason: message });
    this.broker.metrics.closedForBadInputBy(reason);
    this.destroy();
  }

  /** Closes once what was written reaches the client (a failed login's answer), then forgets the connection. */
  private endAfterWrites(): void {
    const socket = this.socket;
    this.onClose();
    socket.end();
    // A client that does not read its answer or close does not keep the socket.
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  private destroy(): void {
    this.socket.destroy();
    this.onClose();
  }

  get closed(): boolean {
    return this.session.closed;
  }

  private onClose(): void {
    if (this.closed) return;
    if (this.muteTimer !== null) clearTimeout(this.muteTimer);
    this.muteTimer = null;
    this.pending = [];
    this.pendingBytes = 0;
    // Everything this connection held is given back (responses in flight are dropped when they complete).
    this.broker.memoryChanged(-this.accounted);
    this.accounted = 0;
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
