// `Decoder`: QMP messages from a byte stream pushed in chunks of any size.
import { Decoder as WasmDecoder, batchMemory } from './qmp_wasm.js';
import type { DecodeError } from './errors.js';
import { init } from './wasm.js';

/** What a message is. `request` appears only when decoding what a client sends. */
export type MessageKind = 'greeting' | 'return' | 'error' | 'event' | 'request';

const KINDS: readonly MessageKind[] = ['greeting', 'return', 'error', 'event', 'request'];
// The record layout of the WebAssembly decoder (qmp-wasm/src/decoder.rs, `record`).
const STRIDE = 12;
const TEXT = 1;
const NAME = 3;
const ID = 5;
const PAYLOAD = 7;
const EXTRA = 9;
const OFFSET = 11;
const FAULT = 5;

/** An event's time: host wall clock since the Unix epoch (both -1 if unknown). */
export interface Timestamp {
  seconds: number;
  microseconds: number;
}

/** The module's memory, where batches are read (its `buffer` changes as it grows). */
let wasmMemory: WebAssembly.Memory | undefined;

const UNPARSED: unique symbol = Symbol('unparsed');

/**
 * One QMP message, its parts as JSON text; `value` and `id` are parsed on request.
 *
 * The parts are read from the batch the message arrived in when first asked for, so a
 * message costs little until it is looked at.
 */
export class QmpMessage {
  /** What it is. */
  readonly kind: MessageKind;
  readonly #text: string;
  readonly #r: Float64Array;
  readonly #at: number;
  #value: unknown = UNPARSED;

  /** @internal */
  constructor(text: string, r: Float64Array, at: number) {
    this.kind = KINDS[r[at]];
    this.#text = text;
    this.#r = r;
    this.#at = at;
  }

  #part(i: number): string | undefined {
    const r = this.#r;
    const start = r[this.#at + i];
    return start < 0 ? undefined : this.#text.slice(start, r[this.#at + i + 1]);
  }

  /** The whole message's JSON text, as received. */
  get text(): string {
    return this.#part(TEXT)!;
  }

  /** The event name, the error class, or a request's command name. */
  get name(): string | undefined {
    return this.#part(NAME);
  }

  /** The id's JSON text, if any (`id` gives it parsed). */
  get idText(): string | undefined {
    return this.#part(ID);
  }

  /**
   * The payload's JSON text: the greeting's `QMP` object, the `return` value, the
   * `error` object, the event's `data`, a request's `arguments`; `undefined` if absent.
   */
  get payload(): string | undefined {
    return this.#part(PAYLOAD);
  }

  /** An error reply's description. */
  get desc(): string | undefined {
    return this.kind === 'error' ? this.#part(EXTRA) : undefined;
  }

  /** An event's timestamp. */
  get timestamp(): Timestamp | undefined {
    if (this.kind !== 'event') return undefined;
    const r = this.#r;
    return { seconds: r[this.#at + EXTRA], microseconds: r[this.#at + EXTRA + 1] };
  }

  /** The stream offset of the message's first byte. */
  get offset(): number {
    return this.#r[this.#at + OFFSET];
  }

  /** The id, parsed (any JSON value QEMU echoed back). */
  get id(): unknown {
    const t = this.idText;
    if (t === undefined) return undefined;
    const c = t.charCodeAt(0);
    return c >= 48 && c <= 57 && t.length < 16 ? Number(t) : JSON.parse(t);
  }

  /** The payload as a JS value (`JSON.parse`, once). */
  get value(): unknown {
    if (this.#value === UNPARSED) {
      const payload = this.payload;
      this.#value = payload === undefined ? undefined : JSON.parse(payload);
    }
    return this.#value;
  }

  /** The parts as plain data: what `JSON.stringify` writes. */
  toJSON(): object {
    return {
      kind: this.kind,
      name: this.name,
      idText: this.idText,
      payload: this.payload,
      desc: this.desc,
      timestamp: this.timestamp,
      offset: this.offset,
    };
  }

  /** What Node's `console.log` and `util.inspect` show: the parts, not the internals. */
  [Symbol.for('nodejs.util.inspect.custom')](): object {
    return this.toJSON();
  }
}

/** What `push` hands back: messages, and errors for bytes that could not be used. */
export type DecodedItem = QmpMessage | DecodeError;

/**
 * Decodes QMP from a byte stream (websocket frames, socket reads) pushed in chunks of
 * any size: pretty or compact output, messages split anywhere, garbage in between.
 * Bytes that are not JSON come out as `FramingError`s (with the stream offset and the
 * number of bytes skipped) in their place among the messages, and decoding goes on.
 *
 * Create it with `await Decoder.create()` (which loads the WebAssembly module), or with
 * `new Decoder()` once `init()` has resolved. Call `free()` when done with it.
 */
export class Decoder {
  readonly #inner: WasmDecoder;
  readonly #utf8 = new TextDecoder();

  /** @param options.maxMessage the largest message handed out, in bytes (1 MiB). */
  constructor(options: { maxMessage?: number } = {}) {
    this.#inner = new WasmDecoder(options.maxMessage);
  }

  /** `init()`, then a new decoder. */
  static async create(options: { maxMessage?: number } = {}): Promise<Decoder> {
    await init();
    return new Decoder(options);
  }

  /** Take a chunk; returns the messages (and errors) it completed, in order. */
  push(chunk: Uint8Array | ArrayBuffer): DecodedItem[] {
    const bytes = chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk);
    const n = this.#inner.push(bytes);
    return n === 0 ? [] : this.#take();
  }

  /** The stream ended: what only its end completes, and the error for a cut message. */
  finish(): DecodedItem[] {
    return this.#inner.finish() === 0 ? [] : this.#take();
  }

  /** The stream offset of the next byte. */
  get offset(): number {
    return this.#inner.offset;
  }

  /** Release the WebAssembly memory now rather than at garbage collection. */
  free(): void {
    this.#inner.free();
  }

  /** The batch, read in place from the WebAssembly memory, then cleared. */
  #take(): DecodedItem[] {
    const inner = this.#inner;
    wasmMemory ??= batchMemory() as WebAssembly.Memory;
    const buffer = wasmMemory.buffer;
    const text = this.#utf8.decode(new Uint8Array(buffer, inner.textPtr(), inner.textLen()));
    // Copied: the messages read their parts later, after the batch is reused.
    const r = new Float64Array(buffer, inner.recordsPtr(), inner.recordsLen()).slice();
    const out: DecodedItem[] = new Array(r.length / STRIDE);
    let errors: unknown[] | undefined;
    for (let at = 0, i = 0; at < r.length; at += STRIDE, i++) {
      if (r[at] === FAULT) {
        errors ??= inner.takeErrors();
        out[i] = errors[r[at + OFFSET]] as DecodeError;
      } else {
        out[i] = new QmpMessage(text, r, at);
      }
    }
    inner.clear();
    return out;
  }
}
