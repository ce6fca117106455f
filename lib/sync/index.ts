/**
 * Coordination between processes (Python's `multiprocessing.synchronize`, plus Value and Array):
 * every primitive lives in shared memory and crosses to other processes as itself.
 */
export { Lock, RLock, type AnyLock, type Held, type HoldOptions } from './lock';
export { Semaphore, BoundedSemaphore } from './semaphore';
export { Event } from './event';
export { Condition } from './condition';
export { Barrier, type BarrierOptions } from './barrier';
export { Value, SharedArray, type SynchronizedOptions } from './value';
