export { operationsRoutes } from './operations.routes.js';
