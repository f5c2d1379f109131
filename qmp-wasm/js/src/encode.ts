// Command encoding: the bytes to send for a command, from a name and arguments or from a
// line in the human syntax.
import { encode } from './qmp_wasm.js';

/** A command id: QEMU echoes any JSON value back. */
export type Id = number | string | null | boolean | object;

/** Options of the encoders. */
export interface EncodeOptions {
  /** The command's id. */
  id?: Id;
  /** Send as `exec-oob` (needs `oob` negotiated; QEMU then wants an id). */
  oob?: boolean;
}

/**
 * The bytes of command `name` with `args` (a JS object or the JSON text of one), as
 * compact, ASCII-only JSON. Throws an `ArgumentsError` for arguments that are not an
 * object. Needs `init()` to have resolved.
 */
export function encodeCommand(
  name: string,
  args?: object | string,
  options: EncodeOptions = {},
): Uint8Array {
  return encode(name, false, args, options.id, options.oob ?? false);
}

/**
 * The bytes of a command typed in the human syntax: `device_del id=net0`,
 * `blockdev-add driver=qcow2 file.driver=file file.filename=/tmp/a.qcow2` (dotted keys
 * nest), JSON where a value starts with `{`, `[` or `"`. Throws a `ShellSyntaxError`
 * with the column at fault. Needs `init()` to have resolved.
 */
export function encodeLine(line: string, options: EncodeOptions = {}): Uint8Array {
  return encode(line, true, undefined, options.id, options.oob ?? false);
}
