/**
 * Every native call procpool makes, in one small module: mapping shared memory (`mmap`/`munmap`)
 * and reserving a segment's space (`posix_fallocate`). Node cannot map memory itself, so these go
 * through koffi, an FFI whose binaries come prebuilt inside its npm packages (nothing is compiled
 * on the user's machine). koffi is loaded on first use only: a pool that shares no memory never
 * loads it (~7 ms, and its memory, in each process that does).
 *
 * `PROCPOOL_NO_SHARED_MEMORY=1` makes mapping unavailable, as on a platform koffi does not cover
 * (the specs force the fallback this way).
 */
import { SharedMemoryUnavailableError } from '../errors';

/** A mapping of a shared segment into this process. */
export interface Mapping {
  /** The mapped memory: every write is seen by every process that mapped the same segment. */
  readonly buffer: ArrayBuffer;
  readonly size: number;
  /** Where it is mapped in this process. */
  readonly address: bigint;
  /** Unmaps it. Only once nothing can reach `buffer` any more: a view into unmapped memory crashes. */
  unmap(): void;
}

/** What the rest of procpool may ask of the operating system's memory calls. */
export interface NativeMemory {
  /** Maps `size` bytes of the open segment `fd`, shared and writable. */
  map(fd: number, size: number): Mapping;
  /** Reserves the segment's space now: 0, or the errno (ENOSPC on a full /dev/shm). */
  reserve(fd: number, size: number): number;
  /**
   * An ArrayBuffer of its own over `length` bytes at `address`, inside a mapping that must stay
   * mapped while the buffer lives: one buffer per region lets its collection be noticed.
   */
  viewAt(address: bigint, length: number): ArrayBuffer;
  /**
   * Sleeps while the 32-bit word at `address` (in shared memory) holds `expected`, until another
   * process wakes it or `timeoutMs` passes: false when the time ran out. A shared (not private)
   * futex, so a wake from any process that maps the word reaches it; Atomics.wait cannot do this
   * (V8 keeps its waiters per process).
   */
  futexWait(address: bigint, expected: number, timeoutMs: number): boolean;
  /** Wakes up to `count` processes sleeping on the word at `address`; how many it woke. */
  futexWake(address: bigint, count: number): number;
  /**
   * A blocking Unix stream socket connected to `address` (an abstract one starts with NUL): its
   * fd, for `fs.readSync`/`fs.writeSync`, which Node's own sockets (non-blocking) cannot serve.
   * Closed when the process execs (forkserver children do not inherit it).
   */
  connectUnix(address: string): number;
}

interface Koffi {
  load(path: string): { func(signature: string): (...args: unknown[]) => unknown };
  view(pointer: unknown, length: number): ArrayBuffer;
  address(pointer: unknown): bigint;
  decode(buffer: Uint8Array, type: string): unknown;
  errno(): number;
}

const PROT_READ_WRITE = 0x1 | 0x2;
const MAP_SHARED = 0x01;
const MAP_FAILED = 0xffffffffffffffffn;
/** The futex system call's number: Linux's generic table (arm64, riscv) differs from x86-64's. */
const SYS_FUTEX = process.arch === 'x64' ? 202 : process.arch === 'ia32' ? 240 : 98;
const FUTEX_WAIT = 0;
const FUTEX_WAKE = 1;
const ETIMEDOUT = 110;
const AF_UNIX = 1;
const SOCK_STREAM_CLOEXEC = 1 | 0o2000000;
const SOCKADDR_UN = 2 + 108;

let loaded: NativeMemory | Error | undefined;

/** Why shared memory cannot be mapped here, or undefined if it can (loads koffi the first time). */
export function unavailableReason(): string | undefined {
  const native = load();
  return native instanceof Error ? native.message : undefined;
}

/**
 * The native calls, loading koffi the first time.
 * @throws {SharedMemoryUnavailableError} where memory cannot be mapped (no koffi binary for this
 *   platform, no libc, or `PROCPOOL_NO_SHARED_MEMORY=1`).
 */
export function nativeMemory(): NativeMemory {
  const native = load();
  if (native instanceof Error) throw native;
  return native;
}

function load(): NativeMemory | Error {
  if (loaded) return loaded;
  if (process.env.PROCPOOL_NO_SHARED_MEMORY === '1') {
    return (loaded = new SharedMemoryUnavailableError('shared memory is switched off (PROCPOOL_NO_SHARED_MEMORY=1)'));
  }
  // Segments are files in /dev/shm (POSIX shm_open's home on Linux, where Python puts them too).
  if (process.platform !== 'linux') {
    return (loaded = new SharedMemoryUnavailableError(`procpool maps shared memory on Linux only, not on ${process.platform}`));
  }
  let koffi: Koffi;
  let libc: ReturnType<Koffi['load']>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    koffi = require('koffi') as Koffi;
    libc = koffi.load('libc.so.6');
  } catch (error) {
    return (loaded = new SharedMemoryUnavailableError(`the koffi FFI could not be loaded: ${(error as Error).message}`, { cause: error }));
  }
  const mmap = libc.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)');
  const munmap = libc.func('int munmap(void *addr, size_t length)');
  const fallocate = libc.func('int posix_fallocate(int fd, int64_t offset, int64_t length)');
  // syscall() is variadic; declared with its futex arguments, integers all, it is called the same
  // way on x86-64 and arm64 Linux. Addresses go as integers: koffi takes pointers it made only.
  const futex = libc.func('long syscall(long nr, uint64_t addr, int op, int val, void *timeout, uint64_t addr2, int val3)');
  const socket = libc.func('int socket(int domain, int type, int protocol)');
  const connect = libc.func('int connect(int fd, const void *addr, uint32_t addrlen)');
  const close = libc.func('int close(int fd)');
  // The relative timeout, a struct timespec; a wake costs ~0.8 µs here, a wait that times out its time.
  const timespec = Buffer.alloc(16);
  // koffi takes pointers it made, not numbers: one made from an address is read back from memory.
  const holder = Buffer.alloc(8);
  return (loaded = {
    map(fd, size) {
      const pointer = mmap(null, size, PROT_READ_WRITE, MAP_SHARED, fd, 0);
      if (pointer === null || koffi.address(pointer) === MAP_FAILED) {
        const code = koffi.errno();
        throw Object.assign(new Error(`mmap of ${size} bytes failed (errno ${code})`), { errno: code });
      }
      let mapped = true;
      return {
        buffer: koffi.view(pointer, size),
        size,
        address: koffi.address(pointer),
        unmap() {
          if (!mapped) return;
          mapped = false;
          munmap(pointer, size);
        },
      };
    },
    // posix_fallocate returns the error number itself (it does not set errno).
    reserve: (fd, size) => fallocate(fd, 0, size) as number,
    viewAt(address, length) {
      holder.writeBigUInt64LE(address);
      return koffi.view(koffi.decode(holder, 'void *'), length);
    },
    futexWait(address, expected, timeoutMs) {
      const ms = Math.max(0, Math.ceil(timeoutMs));
      timespec.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
      timespec.writeBigInt64LE(BigInt((ms % 1000) * 1_000_000), 8);
      // 0 when woken, or EAGAIN (the word had changed already) or EINTR: all but a timeout mean "look again".
      return futex(SYS_FUTEX, address, FUTEX_WAIT, expected | 0, timespec, 0n, 0) === 0 || koffi.errno() !== ETIMEDOUT;
    },
    futexWake: (address, count) => futex(SYS_FUTEX, address, FUTEX_WAKE, count, null, 0n, 0) as number,
    connectUnix(address) {
      // struct sockaddr_un: the family, then the path, padded with NULs to its full 108 bytes as
      // Node (libuv) binds abstract names: an abstract name's length is part of the name.
      const path = Buffer.from(address, 'latin1');
      if (path.length > SOCKADDR_UN - 2) throw new Error(`the socket address is longer than ${SOCKADDR_UN - 2} bytes`);
      const sockaddr = Buffer.alloc(SOCKADDR_UN);
      sockaddr.writeUInt16LE(AF_UNIX, 0);
      path.copy(sockaddr, 2);
      const fd = socket(AF_UNIX, SOCK_STREAM_CLOEXEC, 0) as number;
      if (fd < 0) throw Object.assign(new Error(`socket() failed (errno ${koffi.errno()})`), { errno: koffi.errno() });
      if ((connect(fd, sockaddr, sockaddr.length) as number) !== 0) {
        const code = koffi.errno();
        close(fd);
        throw Object.assign(new Error(`connect() failed (errno ${code})`), { errno: code });
      }
      return fd;
    },
  });
}
