/**
 * Entry point of the forkserver's template process (Python's forkserver): started once per parent
 * process, it preloads modules and starts every forkserver worker, which is therefore its child,
 * not the application's. Workers start warm: from a V8 startup snapshot of the preload modules when
 * they are self-contained CommonJS, and from the V8 code cache this process writes otherwise (and
 * for the pools' task modules). The worker's task and result pipes are handed to the application
 * over IPC (SCM_RIGHTS), so the template never relays a byte of work.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { Socket } from 'node:net';
import { debuglog } from 'node:util';
import { isAlive } from '../platform/processes';
import type { FromTemplate, ToTemplate } from '../transport/protocol';
import { CodeCache } from './code-cache';
import { buildSnapshot, type SnapshotResult } from './snapshot';

const debug = debuglog('procpool');
const WORKER_ENTRY = join(__dirname, 'main.js');
// Named after this process, so a later template can tell a directory whose owner died without
// removing it (killed outright: no exit handler ran) and clean it up.
const DIR_PREFIX = 'procpool-forkserver-';
const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
const cacheDir = join(dir, 'code-cache');
const cache = new CodeCache(cacheDir, 'produce');
cache.install();

/** The preload the template was configured with. */
let preload: readonly string[] = [];
/** One snapshot per set of Node options: a blob only loads under the V8 flags it was built with. */
let snapshots = new Map<string, Promise<SnapshotResult>>();
let configured: Promise<void> = Promise.resolve();
let tsLoader: string | undefined;
const loaded = new Set<string>();

function send(message: FromTemplate, handle?: Socket): void {
  if (process.connected) process.send?.(message, handle);
}

/** Loads modules here (compiling them into the code cache); their errors surface in the workers. */
function load(modules: readonly string[]): void {
  for (const module of modules) {
    if (loaded.has(module)) continue;
    loaded.add(module);
    try {
      if (tsLoader && ['.ts', '.cts', '.tsx'].includes(extname(module)) && !require.extensions[extname(module)]) require(tsLoader);
      require(module);
    } catch (error) {
      debug('forkserver: preloading %s failed: %s', module, (error as Error).message);
    }
  }
  cache.save();
}

/**
 * The snapshot for workers with these Node options, built on first use. Without one, those
 * workers start from the code cache, for which the template loads the preload itself.
 */
function snapshotFor(execArgv: readonly string[]): Promise<SnapshotResult> {
  const key = JSON.stringify(execArgv);
  let snapshot = snapshots.get(key);
  if (!snapshot) {
    snapshot = buildSnapshot(preload, dir, WORKER_ENTRY, execArgv).then((result) => {
      if ('reason' in result) {
        debug('forkserver: no startup snapshot for %s (%s); workers start from the code cache', key, result.reason);
        load(preload);
      }
      return result;
    });
    snapshots.set(key, snapshot);
  }
  return snapshot;
}

async function configure(modules: readonly string[], execArgv: readonly string[]): Promise<void> {
  preload = modules;
  snapshots = new Map();
  const snapshot = await snapshotFor(execArgv);
  // What is in a snapshot was evaluated there: loading it here too would run its top level again.
  if ('blob' in snapshot) for (const module of modules) loaded.add(module);
  cache.save();
  send({ type: 'configured', warmStart: 'blob' in snapshot ? 'snapshot' : 'code-cache', reason: 'reason' in snapshot ? snapshot.reason : undefined, preload });
}

async function spawnWorker(request: Extract<ToTemplate, { type: 'spawn' }>): Promise<void> {
  await configured;
  const snapshot = await snapshotFor(request.execArgv);
  const execArgv = 'blob' in snapshot ? [...request.execArgv, '--snapshot-blob', snapshot.blob] : [...request.execArgv];
  const args = [`--owner=${request.owner}`, `--code-cache=${cacheDir}`];
  const child = spawn(process.execPath, [...execArgv, WORKER_ENTRY, ...args], {
    cwd: request.cwd,
    env: request.env,
    stdio: ['ignore', 'inherit', 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  child.once('error', (error) => {
    if (child.pid === undefined) send({ type: 'spawn-failed', id: request.id, message: error.message });
  });
  if (child.pid === undefined) return;
  const pid = child.pid;
  child.once('exit', (code, signal) => send({ type: 'exit', pid, code, signal }));
  send({ type: 'spawned', id: request.id, pid, stream: 'input' }, child.stdio[3] as Socket);
  send({ type: 'spawned', id: request.id, pid, stream: 'output' }, child.stdio[4] as Socket);
  send({ type: 'spawned', id: request.id, pid, stream: 'stderr' }, child.stderr as Socket);
}

process.on('message', (message: ToTemplate) => {
  switch (message.type) {
    case 'configure':
      tsLoader = message.tsLoader;
      configured = configure(message.preload, message.execArgv);
      return;
    case 'learn':
      configured = configured.then(() => load(message.modules));
      return;
    case 'spawn':
      void spawnWorker(message);
      return;
  }
});

// The application is gone: so is the reason to exist. Workers already started live on (they watch
// the application themselves).
process.on('disconnect', () => process.exit(0));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Removes the directories of templates that are gone (in the background: nobody waits for it). */
function sweepStaleDirectories(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const owner = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(name);
    if (!owner || Number(owner[1]) === process.pid || isAlive(Number(owner[1]))) continue;
    void rm(join(tmpdir(), name), { recursive: true, force: true }).catch(() => {});
  }
}
setTimeout(sweepStaleDirectories, 1000).unref();
