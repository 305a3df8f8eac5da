import Fastify from 'fastify';

/**
 * The baseline of http-throughput.ts: a bare Fastify app with no logger, no plugins and
 * one route, started as its own process on PORT.
 */
const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));

process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
await app.listen({ host: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 3000) });
