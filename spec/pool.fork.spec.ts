// The shared Pool and Process suites, run with the 'fork' start method.
import { apiSuite } from './suites/api';
import { errorSuite } from './suites/errors';
import { imapSuite } from './suites/imap';
import { lifecycleSuite } from './suites/lifecycle';
import { processSuite } from './suites/process';

describe("startMethod 'fork'", () => {
  apiSuite('fork');
  errorSuite('fork');
  imapSuite('fork');
  lifecycleSuite('fork');
  processSuite('fork');
});
