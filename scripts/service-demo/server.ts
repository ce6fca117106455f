// The demo service: a node:http server that renders markdown in a procpool pool. Run as a child of
// the demo's driver (index.ts): it prints `{"port":N}` when it listens, SIGKILLs one of its pool's
// workers every `--kill-every` ms if asked, and on SIGTERM shuts the pool down and prints what it
// saw as one JSON line.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Pool, QueueFullError, type StartMethod } from '../../lib';
import { derive, render, sampleDocument, warmUp } from './render';

/** What the server reports when it stops. */
export interface ServerReport {
  /** Workers it SIGKILLed. */
  readonly kills: number;
  /** Requests answered with an error, by status. */
  readonly failed: Record<string, number>;
  /** The slowest failed request, in ms (a failure should be fast). */
  readonly slowestFailureMs: number;
  /** Requests answered in all. */
  readonly answered: number;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      'start-method': { type: 'string', default: 'fork' },
      processes: { type: 'string', default: '2' },
      'kill-every': { type: 'string', default: '0' },
      'document-kb': { type: 'string', default: '16' },
      spares: { type: 'string', default: '1' },
      // Renders each worker does in its initializer before it takes requests (0: none).
      warm: { type: 'string', default: '0' },
      // 'markdown' (marked, JIT-compiled JavaScript) or 'pbkdf2' (node:crypto, native code).
      handler: { type: 'string', default: 'markdown' },
    },
  });
  const startMethod = values['start-method'] as StartMethod;
  const warm = Number(values.warm);
  const pool = new Pool({
    startMethod,
    processes: Number(values.processes),
    ...(startMethod === 'fork' ? { spares: Number(values.spares) } : {}),
    ...(warm > 0 ? { initializer: warmUp, initargs: [warm] as [number] } : {}),
  });
  const document = sampleDocument(Number(values['document-kb']));
  const failed: Record<string, number> = {};
  let slowestFailureMs = 0;
  let answered = 0;
  let kills = 0;

  const server = createServer((request, response) => {
    const start = performance.now();
    // Every request does the same work.
    const work = values.handler === 'pbkdf2' ? pool.apply(derive, [request.url ?? '/', 20_000]) : pool.apply(render, [document]);
    work.then(
      (html) => {
        answered++;
        response.end(html);
      },
      (error: unknown) => {
        answered++;
        // A full queue asks the client to come back; anything else (a killed worker) is a fast 500.
        const status = error instanceof QueueFullError ? 503 : 500;
        failed[status] = (failed[status] ?? 0) + 1;
        slowestFailureMs = Math.max(slowestFailureMs, performance.now() - start);
        response.statusCode = status;
        response.end(`${(error as Error).name}: ${(error as Error).message.split('\n')[0]}`);
      },
    );
  });

  const killEvery = Number(values['kill-every']);
  let killer: NodeJS.Timeout | undefined;
  // The workers serving requests: a kill hits one of them, never a worker still starting (killing
  // those would count as failed starts, and enough in a row stop the pool, as they should).
  const serving = new Set<number>();
  pool.on('workerStart', ({ pid }) => serving.add(pid));
  pool.on('workerExit', ({ pid }) => serving.delete(pid));
  void pool.ready().then(() => {
    server.listen(0, '127.0.0.1', () => {
      process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
      if (killEvery > 0) {
        killer = setInterval(() => {
          const pids = [...serving];
          if (!pids.length) return;
          try {
            process.kill(pids[Math.floor(Math.random() * pids.length)], 'SIGKILL');
            kills++;
          } catch {
            // Gone already.
          }
        }, killEvery);
      }
    });
  });

  process.once('SIGTERM', async () => {
    clearInterval(killer);
    server.close();
    server.closeAllConnections();
    await pool.shutdown({ timeout: 10_000 });
    const report: ServerReport = { kills, failed, slowestFailureMs, answered };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  });
}

main();
