// The errors of the package. Those thrown by the WebAssembly side (framing, syntax,
// arguments, client misuse) are plain `Error`s told apart by `name`; the guards below
// type them. Those of the client (QMP error replies, timeouts, disconnects) are classes.

/** Bytes that were not JSON (or a message larger than the buffer), skipped. */
export interface FramingError extends Error {
  name: 'FramingError';
  /** Stream offset where the skipped bytes begin. */
  offset: number;
  /** How many bytes were skipped. */
  skipped: number;
  reason: 'invalid' | 'too-large';
  /** For `invalid`: the stream offset of the offending byte. */
  errorOffset?: number;
}

/** Valid JSON that is not a QMP message. */
export interface NotQmpError extends Error {
  name: 'NotQmpError';
  /** Stream offset of the member at fault. */
  offset: number;
  reason: string;
}

/** A command line (human syntax) that does not parse. */
export interface ShellSyntaxError extends Error {
  name: 'ShellSyntaxError';
  /** 0-based offset into the line (UTF-8 bytes; characters for ASCII lines). */
  column: number;
  reason: string;
}

/** Command arguments that are not a JSON object, or an id that cannot be sent. */
export interface ArgumentsError extends Error {
  name: 'ArgumentsError';
  offset?: number;
  reason: string;
}

/** A client call at the wrong time. */
export interface ClientError extends Error {
  name: 'ClientError';
  reason: 'busy' | 'misuse';
}

/**
 * An error about bytes received: skipped bytes, or JSON that is not QMP. It is handed
 * back among the messages (not thrown) and, in V8 (Chromium, Node), carries no stack
 * trace: it describes the stream, not the code that pushed it, and a stream full of
 * garbage should not cost a stack capture per error.
 */
export type DecodeError = FramingError | NotQmpError;

function named(e: unknown, name: string): boolean {
  return e instanceof Error && e.name === name;
}
export const isFramingError = (e: unknown): e is FramingError => named(e, 'FramingError');
export const isNotQmpError = (e: unknown): e is NotQmpError => named(e, 'NotQmpError');
export const isShellSyntaxError = (e: unknown): e is ShellSyntaxError =>
  named(e, 'ShellSyntaxError');
export const isArgumentsError = (e: unknown): e is ArgumentsError => named(e, 'ArgumentsError');

/** QEMU refused a command: its error reply. */
export class QmpError extends Error {
  override name = 'QmpError' as const;
  /** The error class, e.g. `GenericError`, `CommandNotFound`. */
  readonly class: string;
  /** QEMU's description (for people; do not parse it). */
  readonly desc: string;
  /** The command that was refused. */
  readonly command: string;
  constructor(errorClass: string, desc: string, command: string) {
    super(`${command}: ${errorClass}: ${desc}`);
    this.class = errorClass;
    this.desc = desc;
    this.command = command;
  }
}

/** The connection ended (or never opened) before the answer came. */
export class DisconnectedError extends Error {
  override name = 'DisconnectedError' as const;
  /** The websocket close code (1006 when it closed without one). */
  readonly code: number;
  readonly reason: string;
  constructor(message: string, code: number, reason: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

/** No answer within the time asked for. The command may still run in QEMU. */
export class TimeoutError extends Error {
  override name = 'TimeoutError' as const;
  readonly timeout: number;
  constructor(message: string, timeout: number) {
    super(message);
    this.timeout = timeout;
  }
}

/** A reply larger than the client's buffer (`maxMessage`): skipped, command settled. */
export class ReplyTooLargeError extends Error {
  override name = 'ReplyTooLargeError' as const;
  readonly size: number;
  constructor(command: string, size: number) {
    super(`${command}: the reply (${size} bytes) is larger than the buffer`);
    this.size = size;
  }
}
