/** Message passing between processes through shared memory: queues and pipes. */
export { Queue, JoinableQueue, SimpleQueue, type QueueOptions } from './queue';
export { Pipe, Connection } from './pipe';
