import type { Launcher, StartMethod } from './launcher';
import { ForkLauncher } from './fork';
import { ForkServerLauncher, forkServer } from './forkserver';
import { SpawnLauncher } from './spawn';
import { WarmReserve } from './warm-reserve';

/** What a launcher is built from, per pool. */
export interface LauncherSettings {
  /** Pre-initialized spare workers a 'fork' pool keeps. */
  readonly spares: number;
  /** The CommonJS TypeScript hook workers load lazily, if any. */
  readonly tsLoader: string | undefined;
}

let reserve: WarmReserve | undefined;

/** The process-wide reserve of booted processes that 'fork' pools take first. */
export function forkReserve(): WarmReserve {
  return (reserve ??= new WarmReserve());
}

/** The launcher for a start method (CPython's context table: one entry per method). */
export function createLauncher(method: StartMethod, settings: LauncherSettings): Launcher {
  switch (method) {
    case 'spawn':
      return new SpawnLauncher();
    case 'fork':
      return new ForkLauncher(forkReserve(), settings.spares);
    case 'forkserver':
      return new ForkServerLauncher(forkServer(), settings.tsLoader);
  }
}
