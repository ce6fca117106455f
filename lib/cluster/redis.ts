import type * as BullMQ from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { ClusterUnavailableError } from './errors';
import { redactUrl } from './options';

/**
 * BullMQ and ioredis, loaded on first use: `require('procpool')` costs nothing for them unless a
 * pool or an agent uses a cluster.
 */
export function bullmq(): typeof BullMQ {
  return require('bullmq') as typeof BullMQ;
}

/**
 * Connection options for every client of one URL. `maxRetriesPerRequest: null` is what BullMQ's
 * blocking clients require; the reconnection delay is capped at 1 s so that a Redis coming back is
 * seen within about a second.
 */
export function connectionOptions(url: string): { url: string; maxRetriesPerRequest: null; enableReadyCheck: boolean; retryStrategy: (attempt: number) => number } {
  return {
    url,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
  };
}

/** A new ioredis client of `url` (errors are reported through `onError`, never unhandled). */
export function createClient(url: string, onError: (error: Error) => void): Redis {
  const IORedis = (require('ioredis') as { default: new (url: string, options: RedisOptions) => Redis }).default;
  const { url: _url, ...options } = connectionOptions(url);
  const client = new IORedis(url, { ...options, lazyConnect: false });
  client.on('error', onError);
  return client;
}

/**
 * Resolves once `client` answers PING; rejects with ClusterUnavailableError after `timeoutMs`
 * (naming the last connection error), so that a wrong URL never leaves a caller waiting for ever.
 */
export function waitForRedis(client: Redis, url: string, timeoutMs: number, lastError: () => Error | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const cause = lastError();
      reject(new ClusterUnavailableError(redactUrl(url), `no answer within ${timeoutMs} ms${cause ? ` (${cause.message})` : ''}`, { cause }));
    }, timeoutMs);
    client.ping().then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: Error) => {
        clearTimeout(timer);
        reject(new ClusterUnavailableError(redactUrl(url), error.message, { cause: error }));
      },
    );
  });
}

/** Waits for `promise` at most `ms` (closing a connection to a Redis that is gone must not hang). */
export function bounded(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    promise.then(
      () => (clearTimeout(timer), resolve()),
      () => (clearTimeout(timer), resolve()),
    );
  });
}
