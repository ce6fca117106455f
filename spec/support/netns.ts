// A network namespace joined to this one by a veth pair whose link a spec can cut: a machine that
// falls off the network, as root on Linux.
import { execFileSync } from 'node:child_process';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

/** A namespace `name` reaching this one at `hostAddress` through a veth pair. */
export class Partitionable {
  readonly hostAddress: string;
  private constructor(readonly name: string, private readonly hostLink: string, subnet: number) {
    this.hostAddress = `10.231.${subnet}.1`;
  }

  /** Sets it up; returns why not when this machine does not allow it (not root, no `ip`, no netns). */
  static create(): Partitionable | string {
    if (process.getuid?.() !== 0) return 'not root';
    const id = `pp${process.pid % 100000}`;
    const subnet = process.pid % 250;
    const ns = new Partitionable(id, `${id}h`, subnet);
    try {
      ip('netns', 'add', id);
      ip('link', 'add', ns.hostLink, 'type', 'veth', 'peer', 'name', `${id}a`);
      ip('link', 'set', `${id}a`, 'netns', id);
      ip('addr', 'add', `${ns.hostAddress}/30`, 'dev', ns.hostLink);
      ip('link', 'set', ns.hostLink, 'up');
      ip('netns', 'exec', id, 'ip', 'addr', 'add', `10.231.${subnet}.2/30`, 'dev', `${id}a`);
      ip('netns', 'exec', id, 'ip', 'link', 'set', `${id}a`, 'up');
      ip('netns', 'exec', id, 'ip', 'link', 'set', 'lo', 'up');
      return ns;
    } catch (error) {
      ns.remove();
      return `network namespaces are not available here: ${(error as Error).message.split('\n')[0]}`;
    }
  }

  /** Cuts the link: the namespace's sockets see nothing more, not even a reset. */
  cut(): void {
    ip('link', 'set', this.hostLink, 'down');
  }

  remove(): void {
    for (const args of [['link', 'del', this.hostLink], ['netns', 'del', this.name]]) {
      try {
        ip(...args);
      } catch {
        // Not made, or gone already.
      }
    }
  }
}
