/**
 * The pool's events on `node:diagnostics_channel`, one channel per event, for APM and tracing
 * tools, which subscribe by name without a reference to any pool:
 *
 * | channel                  | message                                                        |
 * | ------------------------ | -------------------------------------------------------------- |
 * | `procpool:task:queued`   | `{ pool, id, task }`: a call or a map chunk joined the queue    |
 * | `procpool:task:start`    | `{ pool, id, pid }`: it was handed to worker `pid`              |
 * | `procpool:task:settled`  | `{ pool, id, ok, error?, durationMs }`: it settled              |
 * | `procpool:worker:start`  | `{ pool, pid, name, startMethod }`: a worker is ready           |
 * | `procpool:worker:exit`   | `{ pool, pid, name, exitCode, signal, reason }`: a worker left  |
 *
 * A message is built only when its channel has subscribers: without them a channel costs one
 * property read per event.
 */
import { channel, type Channel } from 'node:diagnostics_channel';

/** The channel of each pool event that has one, by the event's name (`'drain'` has none). */
export const poolChannels: Readonly<Record<string, Channel | undefined>> = {
  taskQueued: channel('procpool:task:queued'),
  taskStart: channel('procpool:task:start'),
  taskSettled: channel('procpool:task:settled'),
  workerStart: channel('procpool:worker:start'),
  workerExit: channel('procpool:worker:exit'),
};
