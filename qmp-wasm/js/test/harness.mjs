// Processes for the live tests: a real QEMU with its QMP monitor on a unix socket, an
// optional proxy that splits what QEMU sends at random boundaries (so that websockify
// forwards it in websocket frames that end anywhere), a fake QMP server for the cases
// QEMU cannot be made to produce on demand, and websockify in front. Everything a test
// starts is stopped by `stop()`, passing or failing.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** In CI a missing tool is a failure; elsewhere too (the suite's script installs them). */
export function requireTool(name) {
  const paths = (process.env.PATH ?? '').split(':');
  if (!paths.some((p) => existsSync(path.join(p, name)))) {
    throw new Error(`${name} not found on PATH: run scripts/install-wasm-tools`);
  }
}

export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(check, what, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function canConnect(options) {
  return new Promise((resolve) => {
    const socket = net.connect(options);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A reproducible pseudo-random sequence (xorshift32). */
export function rng(seed) {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

export class Harness {
  constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), 'qmp-wasm-test-'));
    this.children = [];
    this.servers = [];
    this.sockets = new Set();
  }

  #spawn(command, args) {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderrText = '';
    child.stderr.on('data', (d) => (child.stderrText += d));
    this.children.push(child);
    return child;
  }

  /** QEMU with `-machine none` and a QMP monitor on a unix socket. Returns its path. */
  async qemu(extra = []) {
    requireTool('qemu-system-x86_64');
    const socket = path.join(this.dir, `qmp-${this.children.length}.sock`);
    const child = this.#spawn('qemu-system-x86_64', [
      '-machine', 'none', '-nodefaults', '-display', 'none',
      '-qmp', `unix:${socket},server=on,wait=off`, ...extra,
    ]);
    await waitFor(() => existsSync(socket) || child.exitCode !== null, 'QEMU socket');
    if (child.exitCode !== null) throw new Error(`QEMU exited: ${child.stderrText}`);
    this.qemuProcess = child;
    return socket;
  }

  /**
   * A unix-socket proxy to `target` that relays what the server sends in pieces of
   * 1..`maxPiece` bytes, one write per timer tick, so that each piece is read (and
   * forwarded as a websocket frame) on its own. Returns its path; `pieces` counts them.
   */
  async splitter(target, { seed = 1, maxPiece = 3000 } = {}) {
    const listen = path.join(this.dir, `split-${this.servers.length}.sock`);
    const next = rng(seed);
    this.pieces = 0;
    const server = net.createServer((client) => {
      this.sockets.add(client);
      const upstream = net.connect(target);
      this.sockets.add(upstream);
      client.pipe(upstream);
      let queue = Buffer.alloc(0);
      let writing = false;
      let ended = false;
      const pump = () => {
        if (queue.length === 0) {
          writing = false;
          if (ended) client.end();
          return;
        }
        writing = true;
        const n = Math.min(queue.length, 1 + next(maxPiece));
        client.write(queue.subarray(0, n));
        queue = queue.subarray(n);
        this.pieces++;
        setTimeout(pump, 1);
      };
      upstream.on('data', (d) => {
        queue = Buffer.concat([queue, d]);
        if (!writing) pump();
      });
      upstream.on('end', () => {
        ended = true;
        if (!writing) client.end();
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
    });
    await new Promise((resolve) => server.listen(listen, resolve));
    this.servers.push(server);
    return listen;
  }

  /**
   * A fake QMP server: greets (offering oob), accepts `qmp_capabilities`, and never
   * answers anything else. `dropClients()` cuts every connection.
   */
  async silentServer() {
    const listen = path.join(this.dir, `silent-${this.servers.length}.sock`);
    const clients = new Set();
    const server = net.createServer((socket) => {
      clients.add(socket);
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.write('{"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": ""}, "capabilities": ["oob"]}}\r\n');
      let text = '';
      socket.on('data', (d) => {
        text += d;
        const match = /"execute":\s*"qmp_capabilities".*?"id":\s*(\d+)/.exec(text);
        if (match) {
          socket.write(`{"return": {}, "id": ${match[1]}}\r\n`);
          text = '';
        }
      });
    });
    await new Promise((resolve) => server.listen(listen, resolve));
    this.servers.push(server);
    this.dropClients = () => clients.forEach((s) => s.destroy());
    return listen;
  }

  /** websockify from 127.0.0.1:PORT to the unix socket `target`; resolves to its URL. */
  async websockify(target, { web } = {}) {
    requireTool('websockify');
    const port = await freePort();
    const args = [`--unix-target=${target}`];
    if (web) args.push(`--web=${web}`);
    const child = this.#spawn('websockify', [...args, `127.0.0.1:${port}`]);
    await waitFor(
      async () => child.exitCode !== null || (await canConnect({ port, host: '127.0.0.1' })),
      'websockify',
    );
    if (child.exitCode !== null) throw new Error(`websockify exited: ${child.stderrText}`);
    return { url: `ws://127.0.0.1:${port}/`, http: `http://127.0.0.1:${port}/`, port };
  }

  /** QEMU's own websocket chardev as the QMP monitor. Returns its ws:// URL. */
  async qemuWebsocket() {
    requireTool('qemu-system-x86_64');
    const port = await freePort();
    const child = this.#spawn('qemu-system-x86_64', [
      '-machine', 'none', '-nodefaults', '-display', 'none',
      '-chardev', `socket,id=m,host=127.0.0.1,port=${port},server=on,wait=off,websocket=on`,
      '-mon', 'chardev=m,mode=control',
    ]);
    await waitFor(
      async () => child.exitCode !== null || (await canConnect({ port, host: '127.0.0.1' })),
      'QEMU websocket chardev',
    );
    return `ws://127.0.0.1:${port}/`;
  }

  async stop() {
    for (const s of this.sockets) s.destroy();
    for (const server of this.servers) server.close();
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', resolve);
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 2000).unref();
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}
