import { serialize } from 'node:v8';
import { AbortError, ErrorCodes, ProcPoolError, RemoteError, SerializationError, TaskReferenceError, TaskTimeoutError } from '../errors';

/**
 * Errors cross the process boundary as plain data: the V8 serializer would drop subclasses, `code`
 * and other own properties. The worker encodes what was thrown; the parent rebuilds an error with the
 * same name, message, code and own enumerable properties, whose `cause` is a {@link RemoteError}
 * carrying the worker's stack (and, as its own cause, the original error's cause).
 */
export type EncodedError =
  | {
      readonly kind: 'error';
      readonly name: string;
      readonly message: string;
      readonly stack: string;
      readonly props: Record<string, unknown>;
      readonly cause?: EncodedError;
      readonly errors?: EncodedError[];
    }
  | { readonly kind: 'value'; readonly value: unknown };

const MAX_DEPTH = 8;

function serializable(value: unknown): boolean {
  try {
    serialize(value);
    return true;
  } catch {
    return false;
  }
}

/** Turns anything a task threw into data the V8 serializer is sure to accept. */
export function encodeError(thrown: unknown, depth = 0): EncodedError {
  if (!(thrown instanceof Error) || depth > MAX_DEPTH) {
    return { kind: 'value', value: serializable(thrown) ? thrown : String(thrown) };
  }
  const props: Record<string, unknown> = {};
  for (const key of Object.keys(thrown)) {
    if (key === 'cause' || key === 'errors' || key === 'stack' || key === 'message') continue;
    const value = (thrown as unknown as Record<string, unknown>)[key];
    props[key] = serializable(value) ? value : `[unserializable ${typeof value}]`;
  }
  return {
    kind: 'error',
    name: String(thrown.name),
    message: String(thrown.message),
    stack: String(thrown.stack ?? `${thrown.name}: ${thrown.message}`),
    props,
    cause: thrown.cause === undefined ? undefined : encodeError(thrown.cause, depth + 1),
    errors: thrown instanceof AggregateError ? thrown.errors.map((e: unknown) => encodeError(e, depth + 1)) : undefined,
  };
}

const builtins: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

function construct(encoded: Extract<EncodedError, { kind: 'error' }>, cause: RemoteError): Error {
  const options = { cause };
  switch (encoded.props.code) {
    case ErrorCodes.TASK_REFERENCE:
      return new TaskReferenceError(encoded.message, options);
    case ErrorCodes.SERIALIZATION:
      return new SerializationError(encoded.message, encoded.props.direction === 'arguments' ? 'arguments' : 'result', options);
    case ErrorCodes.TASK_TIMEOUT:
      return new TaskTimeoutError(Number(encoded.props.timeout), encoded.props.kind === 'hard' ? 'hard' : 'soft', 'The task', options);
    case ErrorCodes.ABORTED:
      return new AbortError(encoded.message, options);
  }
  const code = encoded.props.code;
  if (typeof code === 'string' && (Object.values(ErrorCodes) as string[]).includes(code) && encoded.name.endsWith('Error')) {
    // Another procpool error (a WorkerLostError on a cluster agent): it keeps its class for `instanceof`.
    return ProcPoolError.remote(encoded.name, encoded.message, code as (typeof ErrorCodes)[keyof typeof ErrorCodes], options);
  }
  if (encoded.errors) return new AggregateError(encoded.errors.map((e) => decodeError(e)), encoded.message, options);
  const Ctor = builtins[encoded.name] ?? Error;
  const error = new Ctor(encoded.message, options);
  if (error.name !== encoded.name) Object.defineProperty(error, 'name', { value: encoded.name, configurable: true, writable: true });
  return error;
}

/** Rebuilds, in the parent, an error a worker encoded. `where` names the worker for the stack. */
export function decodeError(encoded: EncodedError, where = 'worker'): unknown {
  if (encoded.kind === 'value') return encoded.value;
  const remoteCause = encoded.cause === undefined ? undefined : decodeError(encoded.cause, where);
  const cause = new RemoteError(encoded.stack, remoteCause === undefined ? undefined : { cause: remoteCause });
  const error = construct(encoded, cause);
  for (const [key, value] of Object.entries(encoded.props)) {
    if (key !== 'name') (error as unknown as Record<string, unknown>)[key] = value;
  }
  error.stack = `${encoded.name}: ${encoded.message}\n    at <${where}> (remote stack in error.cause)`;
  return error;
}
