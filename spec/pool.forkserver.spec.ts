// The shared Pool and Process suites, run with the 'forkserver' start method.
import { apiSuite } from './suites/api';
import { errorSuite } from './suites/errors';
import { imapSuite } from './suites/imap';
import { lifecycleSuite } from './suites/lifecycle';
import { processSuite } from './suites/process';

describe("startMethod 'forkserver'", () => {
  apiSuite('forkserver');
  errorSuite('forkserver');
  imapSuite('forkserver');
  lifecycleSuite('forkserver');
  processSuite('forkserver');
});
