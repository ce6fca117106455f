// The shared Pool suite, run with the 'spawn' start method.
import { apiSuite } from './suites/api';
import { errorSuite } from './suites/errors';
import { imapSuite } from './suites/imap';
import { lifecycleSuite } from './suites/lifecycle';

describe("Pool (startMethod 'spawn')", () => {
  apiSuite('spawn');
  errorSuite('spawn');
  imapSuite('spawn');
  lifecycleSuite('spawn');
});
