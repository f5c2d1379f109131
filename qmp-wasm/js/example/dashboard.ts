// What a VM dashboard writes against the package's types; `tsc --noEmit` checks it
// (scripts/test), so the published `.d.ts` files stay usable. Not run.
import {
  connect,
  Decoder,
  encodeCommand,
  encodeLine,
  init,
  isFramingError,
  isShellSyntaxError,
  QmpError,
  DisconnectedError,
  TimeoutError,
  type QmpClient,
  type QmpEvent,
  type DecodedItem,
} from 'qmp-wasm';

interface StatusInfo {
  status: string;
  running: boolean;
}

export async function dashboard(url: string, badge: { textContent: string | null }): Promise<void> {
  const qmp: QmpClient = await connect(url, { oob: true, timeout: 5000, commandTimeout: 10_000 });
  const version = qmp.greeting?.version;
  console.log(`QEMU ${version?.major}.${version?.minor}.${version?.micro}, oob ${qmp.oob}`);

  const status = await qmp.execute<StatusInfo>('query-status');
  const schemaText: string = await qmp.execute('query-qmp-schema', undefined, { text: true });
  console.log(`schema: ${schemaText.length} bytes`);
  badge.textContent = status.running ? 'running' : 'paused';
  const off = qmp.on('STOP', (event: QmpEvent) => {
    badge.textContent = `paused at ${event.timestamp.seconds}`;
  });
  qmp.on('RESUME', () => (badge.textContent = 'running'));

  try {
    await qmp.execute('device_del', { id: 'net0' }, { timeout: 2000 });
  } catch (e) {
    if (e instanceof QmpError) console.log(e.class, e.desc, e.command);
    else if (e instanceof TimeoutError) console.log(`no reply in ${e.timeout} ms`);
    else if (e instanceof DisconnectedError) console.log(e.code, e.reason);
    else throw e;
  }
  try {
    await qmp.executeLine('blockdev-add driver=null-co node-name=d0 size=1024');
  } catch (e) {
    if (isShellSyntaxError(e)) console.log(`column ${e.column}: ${e.reason}`);
  }

  for await (const event of qmp.events('SHUTDOWN')) {
    const data = event.data as { guest: boolean; reason: string };
    console.log(data.reason);
    break;
  }
  off();
  const closed: DisconnectedError = await qmp.closed;
  console.log(closed.code);
  await qmp.close();
}

export async function decodeStream(chunks: AsyncIterable<Uint8Array>): Promise<number> {
  const decoder = await Decoder.create({ maxMessage: 1 << 20 });
  let events = 0;
  for await (const chunk of chunks) {
    const items: DecodedItem[] = decoder.push(chunk);
    for (const item of items) {
      if (isFramingError(item)) {
        console.log(`skipped ${item.skipped} bytes at ${item.offset} (${item.reason})`);
      } else if (item instanceof Error) {
        console.log(item.message);
      } else if (item.kind === 'event') {
        events++;
        console.log(item.name, item.timestamp?.seconds, item.payload);
      } else if (item.kind === 'return') {
        const value: unknown = item.value;
        console.log(item.id, value);
      }
    }
  }
  decoder.finish();
  decoder.free();
  return events;
}

export async function encode(): Promise<Uint8Array[]> {
  await init();
  return [
    encodeCommand('qom-get', { path: '/machine', property: 'type' }, { id: 1 }),
    encodeCommand('migrate-pause', undefined, { id: 'p', oob: true }),
    encodeLine('device_del id=net0', { id: 2 }),
  ];
}
