/**
 * Proxies of the objects a Manager keeps (Python's `DictProxy`, `ListProxy`, `NamespaceProxy`):
 * every method is one round trip to the server and returns a promise. A proxy passed to a task, a
 * `Process` or another proxy reaches the same object from there.
 */
import { inspect } from 'node:util';
import { kDescribe, markSharedUsed, registerSharedKind, type SharedDescriptor, type SharedObject } from '../shared/shared-object';
import { clientFor, printable } from './client';

/** What every proxy has: its server and its object there. */
abstract class Proxy implements SharedObject {
  /** The address of its Manager's server. */
  readonly address: string;
  /** @internal */
  protected readonly id: number;

  /** @internal Proxies are made by a Manager (or arrive from another process). */
  constructor(address: string, id: number) {
    this.address = address;
    this.id = id;
    markSharedUsed();
  }

  /** @internal */
  protected call<R>(method: string, ...args: unknown[]): Promise<R> {
    return clientFor(this.address).call(this.id, method, args) as Promise<R>;
  }

  /** @internal How it crosses to another process. */
  [kDescribe](): SharedDescriptor {
    return { kind: this.constructor.name, address: this.address, id: this.id };
  }

  toString(): string {
    return `<${this.constructor.name} ${this.id} of the Manager at ${printable(this.address)}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** A dict kept by a Manager (Python's `manager.dict()`), with a Map's method names. */
export class DictProxy<K = unknown, V = unknown> extends Proxy {
  /** The value of `key`, or `fallback` (default undefined) if there is none. */
  get(key: K, fallback?: V): Promise<V | undefined> {
    return this.call('get', key, fallback);
  }
  set(key: K, value: V): Promise<void> {
    return this.call('set', key, value);
  }
  /** Removes `key`: whether it was there. */
  delete(key: K): Promise<boolean> {
    return this.call('delete', key);
  }
  has(key: K): Promise<boolean> {
    return this.call('has', key);
  }
  keys(): Promise<K[]> {
    return this.call('keys');
  }
  values(): Promise<V[]> {
    return this.call('values');
  }
  items(): Promise<[K, V][]> {
    return this.call('items');
  }
  size(): Promise<number> {
    return this.call('size');
  }
  clear(): Promise<void> {
    return this.call('clear');
  }
  /** Sets every entry of `entries` (a Map, or [key, value] pairs). */
  update(entries: Iterable<[K, V]>): Promise<void> {
    return this.call('update', [...entries]);
  }
  /** Removes `key` and returns its value (or `fallback`). */
  pop(key: K, fallback?: V): Promise<V | undefined> {
    return this.call('pop', key, fallback);
  }
  /** The value of `key`, setting it to `value` first if there is none (one round trip: atomic). */
  setdefault(key: K, value: V): Promise<V> {
    return this.call('setdefault', key, value);
  }
}

/** A list kept by a Manager (Python's `manager.list()`). Negative indexes count from the end. */
export class ListProxy<T = unknown> extends Proxy {
  append(value: T): Promise<void> {
    return this.call('append', value);
  }
  extend(values: Iterable<T>): Promise<void> {
    return this.call('extend', [...values]);
  }
  /** @throws {IndexError} (the promise rejects) outside the list. */
  get(index: number): Promise<T> {
    return this.call('get', index);
  }
  set(index: number, value: T): Promise<void> {
    return this.call('set', index, value);
  }
  length(): Promise<number> {
    return this.call('length');
  }
  pop(index?: number): Promise<T> {
    return index === undefined ? this.call('pop') : this.call('pop', index);
  }
  insert(index: number, value: T): Promise<void> {
    return this.call('insert', index, value);
  }
  remove(value: T): Promise<void> {
    return this.call('remove', value);
  }
  /** The first index of `value`, or -1. */
  index(value: T): Promise<number> {
    return this.call('index', value);
  }
  /** A copy of the whole list. */
  toArray(): Promise<T[]> {
    return this.call('toArray');
  }
  clear(): Promise<void> {
    return this.call('clear');
  }
}

/** A namespace kept by a Manager (Python's `manager.Namespace()`): named values. */
export class NamespaceProxy extends Proxy {
  get<T = unknown>(name: string): Promise<T | undefined> {
    return this.call('get', name);
  }
  set(name: string, value: unknown): Promise<void> {
    return this.call('set', name, value);
  }
  delete(name: string): Promise<boolean> {
    return this.call('delete', name);
  }
  /** A copy of every name and value. */
  toObject(): Promise<Record<string, unknown>> {
    return this.call('toObject');
  }
}

registerSharedKind('DictProxy', (d) => new DictProxy(d.address as string, d.id as number));
registerSharedKind('ListProxy', (d) => new ListProxy(d.address as string, d.id as number));
registerSharedKind('NamespaceProxy', (d) => new NamespaceProxy(d.address as string, d.id as number));
