import { STATUS_CODES } from 'node:http';
import { AppError } from '../../platform/http/app-error.js';

/** Errors on the socket, in the common error shape (no path or request id: there is no request). */

/** The reason a refused handshake is counted under (`switchboard_realtime_rejected_total`). */
export function refusalReason(error: AppError): string {
  if (error.statusCode === 401) return 'auth';
  return error.code === 'RATE_LIMITED' ? 'connection_limit' : 'handshake';
}

/** A handshake refusal as the client sees it: `connect_error` with `data` in the common error shape. */
export function handshakeError(error: unknown): Error {
  const refused = new Error(error instanceof AppError ? error.message : 'Connection refused') as Error & {
    data?: unknown;
  };
  refused.data = errorBody(error);
  return refused;
}

/** The common error body's fields that make sense without a request (no path, request id). */
export function errorBody(error: unknown) {
  if (error instanceof AppError) {
    return {
      statusCode: error.statusCode,
      error: STATUS_CODES[error.statusCode] ?? 'Error',
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
      ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
    };
  }
  return { statusCode: 500, error: STATUS_CODES[500], code: 'INTERNAL', message: 'Internal error' };
}
