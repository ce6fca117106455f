// The shared Pool and Process suites, run with the 'spawn' start method.
import { apiSuite } from './suites/api';
import { errorSuite } from './suites/errors';
import { imapSuite } from './suites/imap';
import { lifecycleSuite } from './suites/lifecycle';
import { processSuite } from './suites/process';

describe("startMethod 'spawn'", () => {
  apiSuite('spawn');
  errorSuite('spawn');
  imapSuite('spawn');
  lifecycleSuite('spawn');
  processSuite('spawn');
});
