// The worker script workerpool needs: it registers the benchmark's tasks.
import workerpool from 'workerpool';
import { fib, noop, sum } from '../tasks';

workerpool.worker({ fib, noop, sum });
