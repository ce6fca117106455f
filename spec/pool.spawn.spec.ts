// The shared Pool and Process suites, run with the 'spawn' start method.
import { apiSuite } from './suites/api';
import { errorSuite } from './suites/errors';
import { faultSuite } from './suites/faults';
import { imapSuite } from './suites/imap';
import { lifecycleSuite } from './suites/lifecycle';
import { processSuite } from './suites/process';
import { issue9Suite } from './suites/issue-9';
import { resilienceSuite } from './suites/resilience';
import { serviceSuite } from './suites/service';
import { sharedMemorySuite } from './suites/shared-memory';
import { syncSuite } from './suites/sync';
import { queueSuite } from './suites/queues';

describe("startMethod 'spawn'", () => {
  apiSuite('spawn');
  errorSuite('spawn');
  imapSuite('spawn');
  lifecycleSuite('spawn');
  processSuite('spawn');
  faultSuite('spawn');
  resilienceSuite('spawn');
  issue9Suite('spawn');
  sharedMemorySuite('spawn');
  syncSuite('spawn');
  queueSuite('spawn');
  serviceSuite('spawn');
});
