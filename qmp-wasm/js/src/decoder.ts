// `Decoder`: QMP messages from a byte stream pushed in chunks of any size.
import { Decoder as WasmDecoder } from './qmp_wasm.js';
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

/** One QMP message, its parts as JSON text; `value` and `id` are parsed on request. */
export class QmpMessage {
  /** What it is. */
  readonly kind: MessageKind;
  /** The whole message's JSON text, as received. */
  readonly text: string;
  /** The event name, the error class, or a request's command name. */
  readonly name: string | undefined;
  /** The id's JSON text, if any (`id` gives it parsed). */
  readonly idText: string | undefined;
  /**
   * The payload's JSON text: the greeting's `QMP` object, the `return` value, the
   * `error` object, the event's `data`, a request's `arguments`; `undefined` if absent.
   */
  readonly payload: string | undefined;
  /** An error reply's description. */
  readonly desc: string | undefined;
  /** An event's timestamp. */
  readonly timestamp: Timestamp | undefined;
  /** The stream offset of the message's first byte. */
  readonly offset: number;
  #value: unknown;
  #parsed = false;

  /** @internal */
  constructor(text: string, r: Float64Array, at: number) {
    const part = (i: number): string | undefined => {
      const start = r[at + i];
      return start < 0 ? undefined : text.slice(start, r[at + i + 1]);
    };
    const kind = KINDS[r[at]];
    this.kind = kind;
    this.text = text.slice(r[at + TEXT], r[at + TEXT + 1]);
    this.name = part(NAME);
    this.idText = part(ID);
    this.payload = part(PAYLOAD);
    this.desc = kind === 'error' ? part(EXTRA) : undefined;
    this.timestamp =
      kind === 'event' ? { seconds: r[at + EXTRA], microseconds: r[at + EXTRA + 1] } : undefined;
    this.offset = r[at + OFFSET];
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
    if (!this.#parsed) {
      this.#value = this.payload === undefined ? undefined : JSON.parse(this.payload);
      this.#parsed = true;
    }
    return this.#value;
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
    const n = this.#inner.push(chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk));
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

  #take(): DecodedItem[] {
    const text = this.#utf8.decode(this.#inner.takeText());
    const r = this.#inner.takeRecords();
    const out: DecodedItem[] = new Array(r.length / STRIDE);
    let errors: unknown[] | undefined;
    for (let at = 0, i = 0; at < r.length; at += STRIDE, i++) {
      if (r[at] === FAULT) {
        errors ??= this.#inner.takeErrors();
        out[i] = errors[r[at + OFFSET]] as DecodeError;
      } else {
        out[i] = new QmpMessage(text, r, at);
      }
    }
    return out;
  }
}
