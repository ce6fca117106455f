// The shared Pool suite, run with the 'fork' start method.
import { apiSuite } from './suites/api';
import { errorSuite } from './suites/errors';
import { imapSuite } from './suites/imap';
import { lifecycleSuite } from './suites/lifecycle';

describe("Pool (startMethod 'fork')", () => {
  apiSuite('fork');
  errorSuite('fork');
  imapSuite('fork');
  lifecycleSuite('fork');
});
