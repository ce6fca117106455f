import { isTsRegisterFlag } from '../tasks/ts-loader';

/** Flags that make no sense in a worker: they would debug, evaluate or watch instead of running it. */
const DROP_WITH_VALUE = new Set(['-e', '--eval', '-p', '--print', '-r', '--require', '--inspect-port', '--debug-port']);
const DROP_ALONE = /^(--inspect|--inspect-brk|--inspect-wait|--debug|--debug-brk|-i|--interactive|--test|--watch|--watch-path|--watch-preserve-output|-c|--check)(=|$)/;

/**
 * The parent's Node options, minus those a worker must not inherit. `-r`/`--require` hooks are
 * kept unless they register TypeScript (a worker loads that lazily, when a `.ts` module needs it).
 */
export function inheritExecArgv(argv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (DROP_WITH_VALUE.has(arg)) {
      const value = argv[++i] ?? '';
      if ((arg === '-r' || arg === '--require') && !isTsRegisterFlag(value)) kept.push(arg, value);
      continue;
    }
    const eq = /^(--require|-r)=(.*)$/.exec(arg);
    if (eq) {
      if (!isTsRegisterFlag(eq[2])) kept.push(arg);
      continue;
    }
    if (/^(--eval|--print)=/.test(arg) || DROP_ALONE.test(arg)) continue;
    kept.push(arg);
  }
  return kept;
}

/** NODE_OPTIONS without TypeScript `--require` hooks, for the same reason as `inheritExecArgv`. */
export function inheritNodeOptions(value: string | undefined): string | undefined {
  if (!value) return value;
  const words = value.split(/\s+/).filter(Boolean);
  const kept: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if ((words[i] === '-r' || words[i] === '--require') && isTsRegisterFlag(words[i + 1] ?? '')) {
      i++;
      continue;
    }
    if (/^(--require|-r)=/.test(words[i]) && isTsRegisterFlag(words[i].replace(/^[^=]*=/, ''))) continue;
    kept.push(words[i]);
  }
  return kept.join(' ');
}
