// The shared Pool and Process suites, run with the 'fork' start method.
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

describe("startMethod 'fork'", () => {
  apiSuite('fork');
  errorSuite('fork');
  imapSuite('fork');
  lifecycleSuite('fork');
  processSuite('fork');
  faultSuite('fork');
  resilienceSuite('fork');
  issue9Suite('fork');
  sharedMemorySuite('fork');
  syncSuite('fork');
  queueSuite('fork');
  serviceSuite('fork');
});
