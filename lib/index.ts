/**
 * procpool: Python's `multiprocessing.Pool` for Node.js, on real OS child processes.
 *
 * @packageDocumentation
 */
export { Pool } from './pool/pool';
export type { TaskOptions, MapOptions, MapAsyncOptions, IMapOptions, ApplyAsyncOptions, Items } from './pool/call-options';
export type {
  PoolEventMap,
  WorkerStartEvent,
  WorkerExitEvent,
  TaskQueuedEvent,
  TaskStartEvent,
  TaskSettledEvent,
} from './pool/events';
export type { WorkerExitReason } from './pool/death';
export { taskSignal } from './tasks/task-signal';
export { AsyncResult } from './pool/async-result';
export type { ResultCallbacks } from './pool/async-result';
export { IMapIterator } from './pool/imap';
export type { PoolState } from './pool/lifecycle';
export type { PoolStats } from './pool/counters';
export type { PoolOptions } from './options';
export type { StartMethod } from './launchers/launcher';
export { taskRef, registerTaskModule } from './tasks/task-ref';
export { Context, getContext, setForkserverPreload, cpuCount } from './context';
export { setStartMethod, getStartMethod, getAllStartMethods } from './start-method';
export { Process, currentProcess, parentProcess, activeChildren } from './process';
export type { ProcessOptions, ProcessInfo } from './process';
export type { ForkServerStatus } from './launchers/forkserver';
export { SharedMemory, ShareableList, RawValue, RawArray } from './shared';
export type { SharedMemoryOptions, ShareableValue, Typecode, TypeName, PythonTypecode, ElementOf, ArrayFor } from './shared';
export * from './coordination';
export type { Task, TaskRef, TaskFunction } from './tasks/task-ref';
export {
  ErrorCodes,
  ProcPoolError,
  PoolClosedError,
  PoolTerminatedError,
  WorkerLostError,
  WorkerStartError,
  TaskReferenceError,
  SerializationError,
  TimeoutError,
  RemoteError,
  InvalidArgumentError,
  InvalidStateError,
  TaskTimeoutError,
  AbortError,
  SharedMemoryUnavailableError,
  SharedMemoryNotFoundError,
  SharedMemoryFullError,
  IndexError,
  ReleaseError,
  BrokenBarrierError,
  QueueEmptyError,
  QueueFullError,
  ClosedError,
  ManagerClosedError,
} from './errors';
export type { ErrorCode, WorkerExitInfo, UnknownExitReason } from './errors';
// Running a service: backpressure, progress, context, measurement, shutdown.
export { reportProgress } from './tasks/progress';
export { taskContext } from './tasks/task-context';
export { PROGRESS_INTERVAL_MS } from './transport/protocol';
export { STATS_WINDOW_MS } from './pool/stats';
export type { ApplyOptions, MapProgress } from './pool/call-options';
export type { MaxQueue } from './pool/backpressure';
export type { LatencyStats, WindowStats } from './pool/stats';
export type { ShutdownOptions, ShutdownResult } from './pool/shutdown';
// Past one machine: a cluster backend on Redis, and the agent that serves it.
export { ClusterUnavailableError, HostLostError, PayloadTooLargeError, TaskVersionMismatchError } from './cluster/errors';
export type { ClusterOptions } from './cluster/options';
export { Agent } from './cluster/agent';
export type { AgentOptions, AgentCounts } from './cluster/agent';
