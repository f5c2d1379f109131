// The TypeScript client (built into qmp-wasm/pkg) against a real QEMU 10 behind
// websockify, in Node: `node --experimental-websocket --test qmp-wasm/js/test/`.
// Each test starts its own processes and stops them, passing or failing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import {
  connect,
  Decoder,
  DisconnectedError,
  QmpError,
  TimeoutError,
  isFramingError,
  isShellSyntaxError,
} from '../../pkg/index.js';
import { Harness } from './harness.mjs';

async function withHarness(body) {
  const harness = new Harness();
  try {
    await body(harness);
  } finally {
    await harness.stop();
  }
}

test('negotiates (with oob), runs commands, sees STOP and RESUME', () =>
  withHarness(async (h) => {
    const { url } = await h.websockify(await h.qemu());
    const qmp = await connect(url);
    try {
      assert.equal(qmp.greeting.version.major, 10);
      assert.equal(qmp.greeting.oobOffered, true);
      assert.equal(qmp.oob, true);
      assert.deepEqual(await qmp.execute('query-status'), { status: 'running', running: true });

      const seen = [];
      qmp.on('*', (e) => seen.push(e.name));
      const stops = [];
      const off = qmp.on('STOP', (e) => stops.push(e));
      const iterated = (async () => {
        const names = [];
        for await (const event of qmp.events('STOP', 'RESUME')) {
          names.push(event.name);
          if (names.length === 2) break;
        }
        return names;
      })();

      assert.deepEqual(await qmp.execute('stop'), {});
      assert.equal((await qmp.execute('query-status')).status, 'paused');
      assert.deepEqual(await qmp.executeLine('cont'), {});
      assert.deepEqual(await iterated, ['STOP', 'RESUME']);
      assert.deepEqual(seen, ['STOP', 'RESUME']);
      assert.equal(stops.length, 1);
      assert.ok(stops[0].timestamp.seconds > 1.7e9);
      assert.ok(stops[0].text.includes('"STOP"'));
      off();
    } finally {
      await qmp.close();
    }
  }));

test('error replies are QmpErrors with class and desc; lines in the human syntax', () =>
  withHarness(async (h) => {
    const { url } = await h.websockify(await h.qemu());
    const qmp = await connect(url);
    try {
      await assert.rejects(qmp.execute('no-such-command'), (e) => {
        assert.ok(e instanceof QmpError);
        assert.equal(e.class, 'CommandNotFound');
        assert.equal(e.desc, "The command no-such-command has not been found");
        return true;
      });
      await assert.rejects(qmp.execute('device_del', { id: 'nope' }), (e) => {
        assert.ok(e instanceof QmpError);
        assert.equal(e.class, 'DeviceNotFound');
        return true;
      });
      assert.equal(
        await qmp.executeLine('qom-get path=/machine property=type'),
        'none-machine',
      );
      assert.equal(await qmp.execute('qom-get', '{"path": "/machine", "property": "type"}'), 'none-machine');
      await assert.rejects(qmp.executeLine('qom-get path=/machine path=/x'), (e) => {
        assert.ok(isShellSyntaxError(e));
        assert.equal(e.column, 22);
        return true;
      });
      // exec-oob reaches QEMU: query-status is not allowed out of band there.
      await assert.rejects(qmp.execute('query-status', undefined, { oob: true }), (e) => {
        assert.ok(e instanceof QmpError);
        assert.match(e.desc, /does not support OOB/);
        return true;
      });
      // Commands in flight together (more than the session's table: the rest queue).
      const many = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          i % 2 ? qmp.execute('query-status') : qmp.executeLine('query-name'),
        ),
      );
      assert.equal(many.length, 100);
      assert.equal(many[1].status, 'running');
    } finally {
      await qmp.close();
    }
  }));

test('the 236 KB schema reply through a proxy that splits it at random boundaries', () =>
  withHarness(async (h) => {
    const split = await h.splitter(await h.qemu(), { seed: 7, maxPiece: 2000 });
    const { url } = await h.websockify(split);
    const qmp = await connect(url);
    try {
      const before = h.pieces;
      const schema = await qmp.execute('query-qmp-schema');
      assert.ok(Array.isArray(schema) && schema.length > 1000, `${schema.length} entries`);
      assert.ok(schema.some((e) => e.name === 'query-status' && e['meta-type'] === 'command'));
      assert.ok(h.pieces - before > 100, `only ${h.pieces - before} pieces`);
      // The session goes on after it.
      const [a, b] = await Promise.all([qmp.execute('query-status'), qmp.execute('query-kvm')]);
      assert.equal(a.status, 'running');
      assert.equal(typeof b.present, 'boolean');
    } finally {
      await qmp.close();
    }
  }));

test('when QEMU quits, every pending command rejects and events end', () =>
  withHarness(async (h) => {
    const { url } = await h.websockify(await h.qemu());
    const qmp = await connect(url);
    const events = (async () => {
      const names = [];
      for await (const e of qmp) names.push(e.name);
      return names;
    })();
    // QEMU writes SHUTDOWN and quit's reply, then exits; through websockify the last
    // bytes may or may not get out before the close. Either way nothing hangs.
    const quit = qmp.execute('quit').then(
      (value) => assert.deepEqual(value, {}),
      (e) => assert.ok(e instanceof DisconnectedError, String(e)),
    );
    const after = qmp.execute('query-status', undefined, { timeout: 10_000 });
    await quit;
    await assert.rejects(after, (e) => e instanceof DisconnectedError);
    const seen = await events;
    assert.ok(seen.length <= 1 && seen.every((n) => n === 'SHUTDOWN'), String(seen));
    const closed = await qmp.closed;
    assert.ok(closed instanceof DisconnectedError);
    await assert.rejects(qmp.execute('query-status'), DisconnectedError);
    assert.ok(qmp.isClosed);
  }));

test('timeouts, and a server that goes away with commands pending', () =>
  withHarness(async (h) => {
    const { url } = await h.websockify(await h.silentServer());
    const qmp = await connect(url);
    await assert.rejects(qmp.execute('query-status', undefined, { timeout: 200 }), (e) => {
      assert.ok(e instanceof TimeoutError);
      assert.equal(e.timeout, 200);
      return true;
    });
    const pending = [qmp.execute('a'), qmp.executeLine('b x=1'), qmp.execute('c', {}, { oob: true })];
    const settled = Promise.allSettled(pending);
    await new Promise((r) => setTimeout(r, 100));
    h.dropClients();
    for (const result of await settled) {
      assert.equal(result.status, 'rejected');
      assert.ok(result.reason instanceof DisconnectedError, String(result.reason));
    }
  }));

test('close() rejects what is pending at once', () =>
  withHarness(async (h) => {
    const { url } = await h.websockify(await h.silentServer());
    const qmp = await connect(url);
    const pending = qmp.execute('never-answered');
    await qmp.close();
    await assert.rejects(pending, DisconnectedError);
  }));

test('connecting to nothing rejects with DisconnectedError', async () => {
  await assert.rejects(connect('ws://127.0.0.1:9/', { timeout: 5000 }), DisconnectedError);
});

test("QEMU's own websocket chardev: greeting arrives, binary commands get no reply", () =>
  withHarness(async (h) => {
    // What QEMU 10.0.2 does (see the qmp-wasm README): if this starts to pass
    // negotiation, QEMU's chardev became usable and the docs should say so.
    const url = await h.qemuWebsocket();
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const decoder = await Decoder.create();
    const messages = [];
    ws.onmessage = (m) => messages.push(...decoder.push(new Uint8Array(m.data)));
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(messages.length, 1);
    assert.equal(messages[0].kind, 'greeting');
    ws.send(new TextEncoder().encode('{"execute": "qmp_capabilities", "id": 1}\r\n'));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(messages.length, 1, 'QEMU answered: its websocket chardev now works for QMP');
    ws.close();
  }));

test('Decoder on real captures, in any chunking; garbage between messages', async () => {
  const capture = readFileSync(new URL('../../../testdata/captures/unix_basic.rx.bin', import.meta.url));
  const decoder = await Decoder.create();
  const whole = decoder.push(capture);
  assert.equal(whole.length, 27);
  const schema = whole.find((m) => m.payload?.length > 200_000);
  assert.ok(Array.isArray(schema.value));
  const ones = await Decoder.create();
  const pieces = [];
  for (let i = 0; i < capture.length; i += 1 + (i % 5000)) {
    pieces.push(...ones.push(capture.subarray(i, i + 1 + (i % 5000))));
  }
  assert.deepEqual(
    pieces.map((m) => [m.kind, m.name, m.id, m.payload]),
    whole.map((m) => [m.kind, m.name, m.id, m.payload]),
  );
  const items = decoder.push(new TextEncoder().encode('garbage\r\n{"return": {}, "id": 9}\r\n'));
  assert.equal(items.length, 2);
  assert.ok(isFramingError(items[0]));
  assert.equal(items[0].offset, capture.length);
  assert.equal(items[0].skipped, 9);
  assert.equal(items[1].id, 9);
});
