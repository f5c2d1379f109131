// A promise-based QMP client over a WebSocket (binary frames only), a thin shell around
// the sans-IO session of the WebAssembly module: it moves bytes between the two and
// turns the session's outcomes into promises and event callbacks.
import { Client as WasmClient, batchMemory } from './qmp_wasm.js';
import {
  DisconnectedError,
  QmpError,
  ReplyTooLargeError,
  TimeoutError,
  type DecodeError,
} from './errors.js';
import type { Timestamp } from './decoder.js';
import { init } from './wasm.js';

/** The `WebSocket` constructor to use (the global one by default). */
export type WebSocketConstructor = new (url: string | URL, protocols?: string | string[]) => WebSocket;

/** Options of `connect`. */
export interface ConnectOptions {
  /** Enable out-of-band execution when the server offers it (default `true`). */
  oob?: boolean;
  /** Milliseconds for opening, the greeting and negotiation together (default 10 000). */
  timeout?: number;
  /** The default timeout of `execute`, in milliseconds (default: none). */
  commandTimeout?: number;
  /** The largest message accepted, in bytes (default 1 MiB). */
  maxMessage?: number;
  /** Another `WebSocket` implementation (e.g. in Node before version 22). */
  WebSocket?: WebSocketConstructor;
  /** Websocket subprotocols to offer (websockify wants none, or `binary`). */
  protocols?: string | string[];
}

/** Options of `execute`. */
export interface ExecuteOptions {
  /** Milliseconds to wait for the reply before rejecting with a `TimeoutError`. */
  timeout?: number;
  /** Send as `exec-oob` (only once `oob` is negotiated). */
  oob?: boolean;
  /** Resolve to the return value's JSON text as received, not parsed. */
  text?: boolean;
}

/** `ExecuteOptions` asking for the reply as JSON text. */
export type ExecuteTextOptions = ExecuteOptions & { text: true };

/** An asynchronous event from QEMU. */
export interface QmpEvent {
  /** Its name, e.g. `STOP`. */
  name: string;
  /** Its `data` member, parsed (`undefined` for events without data). */
  data: unknown;
  timestamp: Timestamp;
  /** The event's JSON text, as received. */
  text: string;
}

/** What QEMU said in its greeting. */
export interface Greeting {
  version?: { major: number; minor: number; micro: number; package?: string };
  /** Whether it offered out-of-band execution. */
  oobOffered: boolean;
  /** The greeting's JSON text. */
  text: string;
}

/** Something the client received that it could not use; the session goes on. */
export interface ProtocolProblem {
  type: 'fault' | 'unknown-reply' | 'unexpected' | 'idless-error' | 'text-frame';
  /** The error for skipped bytes or JSON that is not QMP. */
  error?: DecodeError;
  /** The message's JSON text (for `text-frame`, the frame's text); none for `fault`. */
  text?: string;
  errorClass?: string;
  desc?: string;
}

type EventHandler = (event: QmpEvent) => void;

interface Pending {
  name: string;
  /** Resolve to the JSON text. */
  text: boolean;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer?: ReturnType<typeof setTimeout>;
}

// The batch layout of the WebAssembly client (qmp-wasm/src/client.rs, `outcome`).
const HEAD = 3;
const STRIDE = 11;
const TEXT = 1;
const NAME = 3;
const PAYLOAD = 5;
const N = 7;
const GREETING = 0;
const NEGOTIATED = 1;
const REFUSED = 2;
const RETURN = 3;
const ERROR = 4;
const TOO_LARGE = 5;
const EVENT = 6;
const RESYNCED = 7;
const FAULT = 11;
// What `send` sends (qmp-wasm/src/client.rs, `send`).
const NEGOTIATE = 0;
const COMMAND = 1;
const LINE = 2;
/** The `ProtocolProblem` type of the other kinds, by kind. */
const PROBLEMS: Record<number, ProtocolProblem['type']> = { 8: 'unknown-reply', 9: 'unexpected', 10: 'idless-error' };

/** The module's memory, where batches are read (its `buffer` changes as it grows). */
let wasmMemory: WebAssembly.Memory | undefined;
const utf8 = new TextDecoder();

/** One push's outcomes, copied out of the WebAssembly memory. */
class Batch {
  constructor(
    readonly r: Float64Array,
    readonly text: Uint8Array,
    readonly session: WasmClient,
  ) {}
  #errors: unknown[] | undefined;

  /** The string at span `i` of the outcome at `at`, if any. */
  part(at: number, i: number): string | undefined {
    const start = this.r[at + i];
    return start < 0 ? undefined : utf8.decode(this.text.subarray(start, this.r[at + i + 1]));
  }

  error(index: number): DecodeError {
    this.#errors ??= this.session.takeErrors();
    return this.#errors[index] as DecodeError;
  }
}

/**
 * Open a websocket to a QMP proxy (websockify in front of QEMU's QMP socket), read the
 * greeting and negotiate capabilities (`oob` too when offered, unless `oob: false`).
 * Resolves once commands may be sent.
 */
export async function connect(url: string | URL, options: ConnectOptions = {}): Promise<QmpClient> {
  await init();
  const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (WS === undefined) {
    throw new Error('no WebSocket implementation: pass one as options.WebSocket');
  }
  const ws = new WS(url, options.protocols);
  const client = new QmpClient(ws, options);
  await client.negotiated(options.timeout ?? 10_000);
  return client;
}

/** A negotiated QMP session over a websocket. Create it with `connect`. */
export class QmpClient {
  readonly #ws: WebSocket;
  readonly #session: WasmClient;
  readonly #oobWanted: boolean;
  readonly #commandTimeout: number | undefined;
  readonly #pending = new Map<number, Pending>();
  /** Commands waiting for room in the session's pending table, oldest first: each
   * returns false, and stays, while the table is still full. */
  readonly #queue: Array<() => boolean> = [];
  readonly #handlers = new Map<string, Set<EventHandler>>();
  readonly #problems = new Set<(problem: ProtocolProblem) => void>();
  readonly #iterators = new Set<EventStream>();
  #greeting: Greeting | undefined;
  #oob = false;
  #closed: DisconnectedError | undefined;
  #onReady: { resolve(): void; reject(e: Error): void } | undefined;
  readonly #closedPromise: Promise<DisconnectedError>;
  #resolveClosed!: (e: DisconnectedError) => void;

  /** @internal use `connect` */
  constructor(ws: WebSocket, options: ConnectOptions) {
    this.#ws = ws;
    this.#session = new WasmClient(options.maxMessage);
    this.#oobWanted = options.oob ?? true;
    this.#commandTimeout = options.commandTimeout;
    this.#closedPromise = new Promise((resolve) => (this.#resolveClosed = resolve));
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (message: MessageEvent) => this.#receive(message.data);
    ws.onclose = (e: CloseEvent) => this.#ended(e.code, e.reason);
    ws.onerror = () => {
      // Once open, a close event follows with its code. Before, some implementations
      // never send one: the connection failed.
      if (ws.readyState !== 1) this.#ended(1006, 'connection failed');
    };
  }

  /** @internal */
  negotiated(timeout: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new TimeoutError(`no QMP session within ${timeout} ms`, timeout));
        this.#ws.close();
      }, timeout);
      this.#onReady = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** The server's greeting. */
  get greeting(): Greeting | undefined {
    return this.#greeting;
  }

  /** Whether out-of-band execution is on. */
  get oob(): boolean {
    return this.#oob;
  }

  /** Commands awaiting their reply (sent or queued). */
  get pending(): number {
    return this.#pending.size + this.#queue.length;
  }

  /** Whether the connection has ended. */
  get isClosed(): boolean {
    return this.#closed !== undefined;
  }

  /** Resolves when the connection ends, with why. */
  get closed(): Promise<DisconnectedError> {
    return this.#closedPromise;
  }

  /**
   * Run command `name` with `args` (an object, or its JSON text). Resolves to its return
   * value (parsed); rejects with a `QmpError` (class, desc) when QEMU refuses it, a
   * `TimeoutError` after `timeout` ms, a `DisconnectedError` when the connection ends
   * first, or an `ArgumentsError` for arguments that are not an object.
   */
  execute(name: string, args: object | string | undefined, options: ExecuteTextOptions): Promise<string>;
  execute<T = unknown>(name: string, args?: object | string, options?: ExecuteOptions): Promise<T>;
  execute<T>(name: string, args?: object | string, options: ExecuteOptions = {}): Promise<T> {
    return this.#submit<T>(name, options, () => this.#session.send(COMMAND, name, args, options.oob === true));
  }

  /**
   * Run a command typed in the human syntax (`device_del id=net0`); otherwise as
   * `execute`. A line that does not parse rejects with a `ShellSyntaxError` (with the
   * column) and sends nothing.
   */
  executeLine(line: string, options: ExecuteTextOptions): Promise<string>;
  executeLine<T = unknown>(line: string, options?: ExecuteOptions): Promise<T>;
  executeLine<T>(line: string, options: ExecuteOptions = {}): Promise<T> {
    const name = line.trim().split(/\s+/, 1)[0] ?? '';
    return this.#submit<T>(name, options, () => this.#session.send(LINE, line, undefined, options.oob === true));
  }

  /**
   * Call `handler` for every event named `name` (`'*'` for all). Returns a function
   * that removes it.
   */
  on(name: string, handler: EventHandler): () => void {
    let set = this.#handlers.get(name);
    if (set === undefined) this.#handlers.set(name, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Call `handler` for what the client received and could not use (rare). */
  onProblem(handler: (problem: ProtocolProblem) => void): () => void {
    this.#problems.add(handler);
    return () => this.#problems.delete(handler);
  }

  /**
   * The events from now on, as an async iterator (of those named in `names`, or all);
   * it ends when the connection does. Events are buffered until read.
   */
  events(...names: string[]): AsyncIterableIterator<QmpEvent> {
    const stream = new EventStream(names, () => this.#iterators.delete(stream));
    if (this.#closed !== undefined) stream.end();
    else this.#iterators.add(stream);
    return stream;
  }

  /** All events, as `events()`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<QmpEvent> {
    return this.events();
  }

  /**
   * Close the connection. Every command still waiting rejects with a
   * `DisconnectedError`; resolves once the socket has closed.
   */
  close(): Promise<void> {
    if (this.#closed === undefined) {
      try {
        this.#ws.close(1000, 'client closed');
      } catch {
        // Already closing.
      }
      // Settle everything now: a close handshake the proxy never answers must not keep
      // promises waiting.
      this.#ended(1000, 'client closed');
    }
    return this.#closedPromise.then(() => undefined);
  }

  #submit<T>(name: string, options: ExecuteOptions, send: () => number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // False when the session's table is full (nothing sent).
      const attempt = (): boolean => {
        if (this.#closed !== undefined) {
          reject(this.#closed);
          return true;
        }
        let id: number;
        try {
          id = send();
        } catch (e) {
          if ((e as { reason?: string }).reason === 'busy') return false;
          reject(e as Error);
          return true;
        }
        const pending: Pending = { name, text: options.text === true, resolve: resolve as (v: unknown) => void, reject };
        const timeout = options.timeout ?? this.#commandTimeout;
        if (timeout !== undefined) {
          pending.timer = setTimeout(() => {
            // The session still counts it; a late reply is dropped below.
            this.#pending.delete(id);
            reject(new TimeoutError(`${name}: no reply within ${timeout} ms`, timeout));
          }, timeout);
        }
        this.#pending.set(id, pending);
        this.#flush();
        return true;
      };
      if (this.#queue.length > 0 || !attempt()) this.#queue.push(attempt);
    });
  }

  #flush(): void {
    const bytes = this.#session.takeOutput();
    if (bytes.length > 0 && this.#closed === undefined) this.#ws.send(bytes);
  }

  #receive(data: unknown): void {
    if (typeof data === 'string') {
      this.#problem({ type: 'text-frame', text: data });
      return;
    }
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Uint8Array);
    const session = this.#session;
    const at = session.push(bytes);
    wasmMemory ??= batchMemory() as WebAssembly.Memory;
    const buffer = wasmMemory.buffer;
    const head = new Float64Array(buffer, at, HEAD);
    if (head[2] > 0) {
      // Copied: handlers may call into the module, whose memory may then grow.
      const batch = new Batch(
        new Float64Array(buffer, at + HEAD * 8, head[2] * STRIDE).slice(),
        new Uint8Array(buffer, head[0], head[1]).slice(),
        session,
      );
      for (let i = 0; i < batch.r.length; i += STRIDE) this.#outcome(batch, i);
    }
    this.#flush();
    while (this.#queue.length > 0 && this.#queue[0]()) this.#queue.shift();
  }

  #outcome(b: Batch, at: number): void {
    const r = b.r;
    const kind = r[at];
    const n = at + N;
    switch (kind) {
      case GREETING: {
        const flags = r[n];
        this.#greeting = {
          version:
            flags & 2
              ? { major: r[n + 1], minor: r[n + 2], micro: r[n + 3], package: b.part(at, NAME) }
              : undefined,
          oobOffered: (flags & 1) !== 0,
          text: b.part(at, TEXT)!,
        };
        this.#session.send(NEGOTIATE, '', undefined, this.#oobWanted);
        return;
      }
      case NEGOTIATED:
        this.#oob = r[n] !== 0;
        this.#onReady?.resolve();
        this.#onReady = undefined;
        return;
      case REFUSED:
        this.#onReady?.reject(new QmpError(b.part(at, NAME)!, b.part(at, PAYLOAD)!, 'qmp_capabilities'));
        this.#onReady = undefined;
        this.#ws.close();
        return;
      case RETURN:
      case ERROR:
      case TOO_LARGE: {
        const id = r[n];
        const pending = this.#pending.get(id);
        if (pending === undefined) return; // timed out earlier
        this.#pending.delete(id);
        clearTimeout(pending.timer);
        if (kind === TOO_LARGE) {
          pending.reject(new ReplyTooLargeError(pending.name, r[n + 1]));
        } else if (kind === ERROR) {
          pending.reject(new QmpError(b.part(at, NAME)!, b.part(at, PAYLOAD)!, pending.name));
        } else if (pending.text) {
          pending.resolve(b.part(at, PAYLOAD));
        } else {
          let value: unknown;
          try {
            value = JSON.parse(b.part(at, PAYLOAD)!);
          } catch (e) {
            pending.reject(e as Error);
            return;
          }
          pending.resolve(value);
        }
        return;
      }
      case EVENT: {
        const payload = b.part(at, PAYLOAD);
        const event: QmpEvent = {
          name: b.part(at, NAME)!,
          data: payload === undefined ? undefined : JSON.parse(payload),
          timestamp: { seconds: r[n], microseconds: r[n + 1] },
          text: b.part(at, TEXT)!,
        };
        for (const key of [event.name, '*']) {
          for (const handler of this.#handlers.get(key) ?? []) {
            try {
              handler(event);
            } catch (e) {
              queueMicrotask(() => {
                throw e;
              });
            }
          }
        }
        for (const stream of this.#iterators) stream.offer(event);
        return;
      }
      case RESYNCED:
        return;
      case FAULT:
        this.#problem({ type: 'fault', error: b.error(r[n]) });
        return;
      default:
        this.#problem({
          type: PROBLEMS[kind],
          text: b.part(at, TEXT),
          errorClass: b.part(at, NAME),
          desc: b.part(at, PAYLOAD),
        });
    }
  }

  #problem(problem: ProtocolProblem): void {
    for (const handler of this.#problems) handler(problem);
  }

  #ended(code: number, reason: string): void {
    if (this.#closed !== undefined) return;
    const error = new DisconnectedError(
      `QMP connection closed (code ${code}${reason ? `: ${reason}` : ''})`,
      code,
      reason,
    );
    this.#closed = error;
    this.#session.handleClose();
    this.#onReady?.reject(error);
    this.#onReady = undefined;
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.#pending.clear();
    for (const queued of this.#queue.splice(0)) queued();
    for (const stream of this.#iterators) stream.end();
    this.#iterators.clear();
    this.#resolveClosed(error);
  }
}

/** The async iterator of `QmpClient.events()`. */
class EventStream implements AsyncIterableIterator<QmpEvent> {
  readonly #names: Set<string>;
  readonly #buffer: QmpEvent[] = [];
  readonly #waiting: Array<(r: IteratorResult<QmpEvent>) => void> = [];
  readonly #detach: () => void;
  #ended = false;

  constructor(names: string[], detach: () => void) {
    this.#names = new Set(names);
    this.#detach = detach;
  }

  offer(event: QmpEvent): void {
    if (this.#names.size > 0 && !this.#names.has(event.name)) return;
    const waiter = this.#waiting.shift();
    if (waiter !== undefined) waiter({ value: event, done: false });
    else this.#buffer.push(event);
  }

  end(): void {
    this.#ended = true;
    for (const waiter of this.#waiting.splice(0)) waiter({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<QmpEvent>> {
    const event = this.#buffer.shift();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  return(): Promise<IteratorResult<QmpEvent>> {
    this.#detach();
    this.end();
    this.#buffer.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<QmpEvent> {
    return this;
  }
}
