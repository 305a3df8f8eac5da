import { ErrorResponse } from './error-handler.js';

/** Error statuses every API route documents; bodies follow the common error shape. */
export const errorResponses = {
  '4xx': ErrorResponse,
  '5xx': ErrorResponse,
} as const;
