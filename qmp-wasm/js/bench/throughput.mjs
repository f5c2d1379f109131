// Decode throughput in Node on real QEMU captures, qmp-wasm's Decoder side by side with
// the naive JS approach (TextDecoder, split on "\r\n", JSON.parse per line), in one run;
// then the cases where the naive approach is wrong, in the same table.
//
//   node qmp-wasm/js/bench/throughput.mjs [--quick] [--json] [--breakdown]
//
// Every corpus is fed in 4 KiB chunks (websocket frames). MB/s = 10^6 bytes per second,
// the median of the timed rounds; a ratio is the median of the rounds' own ratios (each
// round runs the three contenders back to back, in an order that turns). `--quick`
// runs fewer rounds (for the test suite).
import { readFileSync } from 'node:fs';
import { Decoder, init } from '../../pkg/index.js';
import { Decoder as WasmDecoder } from '../../pkg/qmp_wasm.js';

const quick = process.argv.includes('--quick');
const asJson = process.argv.includes('--json');
// --breakdown: also where the time goes on the schema session (ms per MB): JSON.parse of
// every line, the naive approach without it, qmp-wasm with payloads as text, and its
// WebAssembly part alone; then how far WebAssembly could come down, from the module
// that qmp-wasm/floor/build.sh builds (qmp-wasm/floor/src/lib.rs): qmp-core's scanner
// alone, two loops that validate nothing, and a structural index followed by the
// grammar alone.
const breakdown = process.argv.includes('--breakdown');
const captures = new URL('../../../testdata/captures/', import.meta.url);
const read = (name) => readFileSync(new URL(name, captures));

/** `bytes` repeated to at least `size` bytes. */
function repeat(bytes, size) {
  const n = Math.max(1, Math.ceil(size / bytes.length));
  const out = new Uint8Array(bytes.length * n);
  for (let i = 0; i < n; i++) out.set(bytes, i * bytes.length);
  return out;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function chunks(bytes, size) {
  const out = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

// ---- the contenders: each takes chunks, returns [messages, problems] -------------------

/** The naive approach as usually written, made stream-safe: the partial last line is
 *  carried into the next chunk. Reads kind, name and id from the parsed object. */
function naive(parts, { values }) {
  const text = new TextDecoder();
  let carry = '';
  let messages = 0;
  let problems = 0;
  let sink = 0;
  for (const part of parts) {
    const chunk = text.decode(part, { stream: true });
    // Split only when the chunk ends a line, so that a long line is not split again at
    // every chunk (the carry would make that quadratic).
    if (!chunk.includes('\r\n')) {
      carry += chunk;
      continue;
    }
    const lines = (carry + chunk).split('\r\n');
    carry = lines.pop();
    for (const line of lines) {
      if (line === '') continue;
      let m;
      try {
        m = JSON.parse(line);
      } catch {
        problems++;
        continue;
      }
      if (m === null || typeof m !== 'object') {
        problems++; // a line of a pretty-printed message that happens to be JSON
        continue;
      }
      messages++;
      const kind = m.QMP ? 0 : 'return' in m ? 1 : m.error ? 2 : m.event ? 3 : 4;
      const name = m.event ?? m.error?.class;
      sink += kind + (name ? name.length : 0) + (m.id === undefined ? 0 : 1);
      if (values) sink += m.data === undefined ? 0 : 1;
    }
  }
  if (carry !== '') {
    try {
      JSON.parse(carry);
      messages++;
    } catch {
      problems++;
    }
  }
  return [messages, problems, sink];
}

/** The same without the carry: each websocket frame split on its own, as in most pages. */
function naivePerFrame(parts) {
  let messages = 0;
  let problems = 0;
  const text = new TextDecoder();
  for (const part of parts) {
    for (const line of text.decode(part).split('\r\n')) {
      if (line === '') continue;
      try {
        const m = JSON.parse(line);
        if (m !== null && typeof m === 'object') messages++;
        else problems++;
      } catch {
        problems++;
      }
    }
  }
  return [messages, problems, 0];
}

const decoder = { current: undefined };
function qmpWasm(parts, { values }) {
  const d = decoder.current;
  let messages = 0;
  let problems = 0;
  let sink = 0;
  const take = (items) => {
    for (const m of items) {
      if (m instanceof Error) {
        problems++;
        continue;
      }
      messages++;
      const name = m.name;
      sink += m.kind.length + (name ? name.length : 0) + (m.idText === undefined ? 0 : 1);
      if (values) sink += m.value === undefined ? 0 : 1;
      else sink += m.payload === undefined ? 0 : m.payload.length & 1;
    }
  };
  for (const part of parts) take(d.push(part));
  take(d.finish());
  return [messages, problems, sink];
}

// ---- corpora: real captures -------------------------------------------------------------

await init();
decoder.current = new Decoder();

const schemaSession = read('unix_basic.rx.bin');
const eventCaptures = concat(['vnc_events.rx.bin', 'vnc_unix_events.rx.bin', 'spice_events.rx.bin'].map(read));
const chatter = concat(['chardev_mon.rx.bin', 'tcp.rx.bin', 'oob.rx.bin', 'extras.rx.bin'].map(read));
const size = quick ? 1 << 20 : 8 << 20;
const corpora = [
  ['session with the 236 KB schema reply (unix_basic)', repeat(schemaSession, size)],
  ['events (VNC, SPICE captures)', repeat(eventCaptures, size)],
  ['command/reply chatter (chardev, tcp, oob, extras)', repeat(chatter, size)],
];

function time(fn) {
  const start = process.hrtime.bigint();
  const result = fn();
  return [Number(process.hrtime.bigint() - start) / 1e9, result];
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

const rounds = quick ? 3 : 11;
const throughput = [];
for (const [name, bytes] of corpora) {
  const parts = chunks(bytes, 4096);
  const row = { corpus: name, bytes: bytes.length };
  const contenders = {
    naive: () => naive(parts, { values: true }),
    text: () => qmpWasm(parts, { values: false }),
    values: () => qmpWasm(parts, { values: true }),
  };
  const counts = {};
  const samples = { naive: [], text: [], values: [] };
  const keys = Object.keys(contenders);
  for (let r = 0; r < rounds + 2; r++) {
    // The order turns every round, so that no contender always runs after the same
    // other one (and its garbage).
    for (let k = 0; k < keys.length; k++) {
      const key = keys[(r + k) % keys.length];
      const [seconds, result] = time(contenders[key]);
      counts[key] = result;
      if (r >= 2) samples[key].push(seconds); // two warm-up rounds
    }
  }
  for (const key of keys) row[key] = bytes.length / median(samples[key]) / 1e6;
  // Ratios: the median of each round's own ratio (the contenders of one round ran
  // within a second of each other, so a change of machine load moves both).
  const ratio = (key) => median(samples.naive.map((t, i) => t / samples[key][i]));
  row.textRatio = ratio('text');
  row.valuesRatio = ratio('values');
  if (counts.text[0] !== counts.naive[0] || counts.values[0] !== counts.naive[0]) {
    throw new Error(`${name}: message counts differ: ${JSON.stringify(counts)}`);
  }
  row.messages = counts.text[0];
  throughput.push(row);
}

// ---- breakdown: the schema session's time, apart ---------------------------------------

let breakdownRows;
if (breakdown) {
  const bytes = corpora[0][1];
  const parts = chunks(bytes, 4096);
  const lines = new TextDecoder().decode(bytes).split('\r\n').filter((l) => l !== '');
  const withoutParse = () => {
    const text = new TextDecoder();
    let carry = '';
    let n = 0;
    for (const part of parts) {
      const chunk = text.decode(part, { stream: true });
      if (!chunk.includes('\r\n')) {
        carry += chunk;
        continue;
      }
      const split = (carry + chunk).split('\r\n');
      carry = split.pop();
      for (const line of split) n += line.length & 1;
    }
    return n;
  };
  const steps = {
    'JSON.parse of every line': () => lines.reduce((n, l) => n + (JSON.parse(l) ? 1 : 0), 0),
    'naive approach without JSON.parse': withoutParse,
    'qmp-wasm, payloads as text': () => qmpWasm(parts, { values: false }),
    // The WebAssembly module alone: framing, validation and classification, with the
    // batch cleared unread (no text decoding, no JS objects).
    'qmp-wasm, its WebAssembly part alone': () => {
      const inner = new WasmDecoder();
      let n = 0;
      for (const part of parts) {
        n += inner.push(part);
        inner.clear();
      }
      inner.free();
      return n;
    },
  };
  // The floor module: the corpus is written past the memory it uses.
  const floorFile = new URL('../../floor/floor.wasm', import.meta.url);
  let floor;
  try {
    floor = (await WebAssembly.instantiate(readFileSync(floorFile))).instance.exports;
  } catch (e) {
    throw new Error(`--breakdown needs ${floorFile.pathname}: run qmp-wasm/floor/build.sh (${e.message})`);
  }
  const at = floor.memory.buffer.byteLength;
  floor.memory.grow(Math.ceil(bytes.length / 65536));
  new Uint8Array(floor.memory.buffer, at, bytes.length).set(bytes);
  steps["qmp-core's scanner alone, in WebAssembly"] = () => floor.scanner(at, bytes.length);
  steps['a byte loop over strings and nesting, validating nothing'] = () => floor.skim(at, bytes.length);
  steps['a SIMD128 structural index (simdjson stage 1), validating nothing'] = () => floor.index(at, bytes.length);
  steps['the same index, then the grammar at each structural character (strings, numbers, literals unchecked)'] = () => floor.grammar(at, bytes.length);
  const samples = Object.fromEntries(Object.keys(steps).map((k) => [k, []]));
  for (let r = 0; r < rounds + 2; r++) {
    for (const [key, fn] of Object.entries(steps)) {
      decoder.current.free();
      decoder.current = new Decoder();
      const [seconds] = time(fn);
      if (r >= 2) samples[key].push(seconds);
    }
  }
  breakdownRows = Object.entries(samples).map(([step, t]) => ({ step, msPerMB: (median(t) * 1e3) / (bytes.length / 1e6) }));
}

// ---- correctness: where the naive approach goes wrong ----------------------------------

const pretty = read('chardev_mon_pretty.rx.bin');
const compact = read('chardev_mon.rx.bin');
const events = eventCaptures;
const expected = (bytes) => {
  const d = new Decoder();
  const n = [...d.push(bytes), ...d.finish()].filter((m) => !(m instanceof Error)).length;
  d.free();
  return n;
};
const enc = new TextEncoder();
// A message cut short (its writer died), a line of junk, and a 0xFF byte (QMP's resync
// byte) right before a message.
const cut = enc.encode('{"return": {"status": "runn\r\n');
const junk = enc.encode('\x00junk\r\n');
const lines = new TextDecoder().decode(compact).split('\r\n').filter(Boolean).map((l) => enc.encode(l + '\r\n'));
const garbage = concat([lines[0], cut, junk, new Uint8Array([0xff]), ...lines.slice(1)]);
// Several messages on one line, as a server that writes no newlines would send them.
const oneLine = enc.encode(new TextDecoder().decode(compact).replaceAll('\r\n', ''));
const garbageExpected = lines.length; // every whole message, none of the damaged ones

function random(seed) {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % n) + 1;
  };
}
function randomChunks(bytes, seed, max) {
  const next = random(seed);
  const out = [];
  for (let i = 0; i < bytes.length; ) {
    const n = next(max);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

const cases = [
  ['compact, one frame per capture', [compact], expected(compact)],
  ['compact, frames of 1..64 bytes at random', randomChunks(events, 5, 64), expected(events)],
  ['pretty (pretty=on), whole', [pretty], expected(pretty)],
  ['garbage: a cut message, a junk line, 0xFF before a message', [garbage], garbageExpected],
  ['no newlines between messages', [oneLine], lines.length],
];
const correctness = cases.map(([name, parts, want]) => {
  decoder.current.free();
  decoder.current = new Decoder();
  const [ours, ourProblems] = qmpWasm(parts, { values: true });
  const [carry, carryProblems] = naive(parts, { values: true });
  const [perFrame, perFrameProblems] = naivePerFrame(parts);
  return { case: name, expected: want, qmp: [ours, ourProblems], naive: [carry, carryProblems], naivePerFrame: [perFrame, perFrameProblems] };
});

if (asJson) {
  console.log(JSON.stringify({ throughput, correctness, breakdown: breakdownRows }, null, 2));
} else {
  const f = (x) => x.toFixed(0);
  console.log(`Node ${process.version}; 4 KiB chunks; MB/s, median of ${rounds} rounds; ratios: median of the rounds' ratios\n`);
  console.log('| corpus | size | naive JS (TextDecoder + split + JSON.parse) | qmp-wasm, payload as text | qmp-wasm, payload as JS value | text ÷ naive | value ÷ naive |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of throughput) {
    console.log(`| ${r.corpus} | ${(r.bytes / 1e6).toFixed(1)} MB, ${r.messages} msgs | ${f(r.naive)} | ${f(r.text)} | ${f(r.values)} | ${r.textRatio.toFixed(2)} | ${r.valuesRatio.toFixed(2)} |`);
  }
  console.log('\nMessages decoded (and errors reported) where the input is not plain compact lines:\n');
  console.log('| case | messages in it | qmp-wasm | naive, line carried across frames | naive, each frame on its own |');
  console.log('|---|---:|---:|---:|---:|');
  const cell = ([n, p], want) => `${n}${n === want ? ' ✓' : ' ✗'} (${p} error${p === 1 ? '' : 's'})`;
  for (const c of correctness) {
    console.log(`| ${c.case} | ${c.expected} | ${cell(c.qmp, c.expected)} | ${cell(c.naive, c.expected)} | ${cell(c.naivePerFrame, c.expected)} |`);
  }
  if (breakdownRows) {
    console.log(`\nWhere the time goes on the ${corpora[0][0]} (ms per MB, median of ${rounds} rounds):\n`);
    console.log('| step | ms per MB |');
    console.log('|---|---:|');
    for (const { step, msPerMB } of breakdownRows) console.log(`| ${step} | ${msPerMB.toFixed(1)} |`);
    // With every payload a JS value, both sides run JSON.parse over about the same
    // bytes; what is left for the WebAssembly part is the naive side's other work less
    // qmp-wasm's own JS work.
    const ms = Object.fromEntries(breakdownRows.map((r) => [r.step, r.msPerMB]));
    const room = ms['naive approach without JSON.parse'] - (ms['qmp-wasm, payloads as text'] - ms['qmp-wasm, its WebAssembly part alone']);
    console.log(`\nRoom for the WebAssembly part if payloads as JS values are to keep up with the naive approach: ${room.toFixed(1)} ms per MB`);
  }
}

// The claims these tables back. Exit status: 1 if qmp-wasm decoded a case wrong, 3 if
// a throughput ratio is under its budget (2x as text, 1x as JS values), else 0.
for (const r of throughput) {
  if (r.textRatio < 2 || r.valuesRatio < 1) {
    console.log(`under budget: ${r.corpus}`);
    process.exitCode = 3;
  }
}
for (const c of correctness) {
  if (c.qmp[0] !== c.expected) {
    console.error(`qmp-wasm decoded ${c.qmp[0]} of ${c.expected} messages in: ${c.case}`);
    process.exitCode = 1;
  }
}
