// The shared Pool suite, run with the 'forkserver' start method.
import { apiSuite } from './suites/api';
import { errorSuite } from './suites/errors';
import { imapSuite } from './suites/imap';
import { lifecycleSuite } from './suites/lifecycle';

describe("Pool (startMethod 'forkserver')", () => {
  apiSuite('forkserver');
  errorSuite('forkserver');
  imapSuite('forkserver');
  lifecycleSuite('forkserver');
});
