/**
 * Shared state between processes: every kind of shared object, registered so that it can cross
 * the process boundary. Loading this module loads no native code; mapping memory does (lazily).
 */
export { SharedMemory, type SharedMemoryOptions } from './shared-memory';
export { ShareableList, type ShareableValue } from './shareable-list';
export { RawValue, RawArray } from './raw';
export type { Typecode, TypeName, PythonTypecode, ElementOf, ArrayFor } from './typecodes';
