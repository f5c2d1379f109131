// Loading the WebAssembly module, in browsers and in Node.
import wasmInit from './qmp_wasm.js';

let ready: Promise<void> | undefined;

/** What `init` accepts: the module's bytes, a compiled module, or its URL. */
export type WasmSource = BufferSource | WebAssembly.Module | URL | string | Response;

/**
 * Load the WebAssembly module (once; later calls return the same promise). In browsers
 * it is fetched from beside this file; in Node it is read from disk. `connect` and
 * `Decoder.create` call it; call it yourself to pass another source.
 */
export function init(source?: WasmSource): Promise<void> {
  ready ??= (async () => {
    let from = source;
    const nodeVersion = (globalThis as { process?: { versions?: { node?: string } } }).process
      ?.versions?.node;
    if (from === undefined && nodeVersion !== undefined) {
      const specifier = 'node:fs/promises';
      const fs = (await import(specifier)) as {
        readFile(url: URL): Promise<Uint8Array>;
      };
      from = await fs.readFile(new URL('./qmp_wasm_bg.wasm', import.meta.url));
    }
    await wasmInit(from === undefined ? undefined : { module_or_path: from });
  })();
  return ready;
}
