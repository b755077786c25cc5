import { randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../infra/logger.js';
import { CLIENT_REQUEST_ID } from '../pipelines/decisions/decision-record.js';
import type { ModelRegistry } from '../pipelines/registry/model-registry.js';
import { errorHandler } from './http-error-handler.js';
import { UnauthorizedError } from './http-errors.js';
import type { ModelHolder } from './model-holder.js';
import {
  EntityEmbeddingsRequestSchema, FeatureEmbeddingsRequestSchema, FieldParam, IdParam, PromoteRequestSchema, ValueParam,
} from './request-schemas.js';
import { parseRecommendRequest, parseScoreRequest } from './request-check.js';
import type { ServingMetrics } from './serving-metrics.js';
import type { ServingService } from './serving-service.js';

export interface AppOptions {
  service: ServingService;
  models: ModelHolder;
  registry: ModelRegistry;
  metrics: ServingMetrics;
  log: Logger;
  /** '' disables the admin routes. */
  adminToken: string;
  maxBodyBytes: number;
  /** False while starting or stopping: /readyz answers 503. */
  ready?: () => boolean;
}

/**
 * The HTTP surface: /v1/score, /v1/recommend, /v1/embeddings/…, health,
 * metrics and the token-guarded /admin routes. Every body is validated with
 * a schema; errors go through errorHandler (no stack traces leave).
 */
export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req: Request, res: Response, next: NextFunction) => {
    // The server names every request: a caller's x-request-id is a trace field
    // (logs, decision record), never the key, or two calls sending the same
    // header would share one decision.
    const requestId = randomUUID();
    const given = req.header('x-request-id');
    res.locals.requestId = requestId;
    if (given && CLIENT_REQUEST_ID.test(given)) res.locals.clientRequestId = given;
    res.setHeader('x-request-id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      options.metrics.latency.observe({ route, method: req.method, status: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  });
  // Admin callers are checked before any body is read: an unauthenticated request costs no parsing and gets 401/403, not 400/413.
  app.use('/admin', adminAuth(options.adminToken));
  app.use(express.json({ limit: options.maxBodyBytes }));

  const requestId = (res: Response): string => res.locals.requestId as string;

  app.get('/healthz', (_req, res) => { res.json({ status: 'ok' }); });
  app.get('/readyz', (_req, res) => {
    const bundle = options.models.current;
    const ready = bundle !== undefined && (options.ready?.() ?? true);
    res.status(ready ? 200 : 503).json({
      ready,
      ranker: bundle ? { model: bundle.ranker.served.model, version: bundle.ranker.served.version, via: bundle.ranker.served.via } : null,
      retrieval: bundle?.retrieval ? { model: bundle.retrieval.served.model, version: bundle.retrieval.served.version, via: bundle.retrieval.served.via, index: bundle.retrieval.index.kind, items: bundle.retrieval.index.size, recall_at_100: bundle.retrieval.recall } : null,
    });
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('content-type', options.metrics.registry.contentType);
    res.send(await options.metrics.registry.metrics());
  });

  app.post('/v1/score', async (req, res) => {
    const body = parseScoreRequest(req.body);
    res.json(await options.service.score(body, requestId(res)));
  });
  app.post('/v1/recommend', async (req, res) => {
    const body = parseRecommendRequest(req.body);
    res.json(await options.service.recommend(body, requestId(res), res.locals.clientRequestId as string | undefined));
  });

  app.get('/v1/embeddings/features/:field/:value', async (req, res) => {
    const field = FieldParam.parse(req.params.field);
    const value = ValueParam.parse(req.params.value);
    const { embeddings, ...rest } = await options.service.featureEmbeddings([{ field, value }]);
    res.json({ ...rest, ...embeddings[0]! });
  });
  app.post('/v1/embeddings/features', async (req, res) => {
    const { features } = FeatureEmbeddingsRequestSchema.parse(req.body);
    res.json(await options.service.featureEmbeddings(features));
  });
  for (const kind of ['items', 'users'] as const) {
    app.get(`/v1/embeddings/${kind}/:id`, async (req, res) => {
      const id = IdParam.parse(req.params.id);
      const { embeddings, ...rest } = await options.service.entityEmbeddings(kind, [id], { strict: true });
      res.json({ ...rest, id, embedding: embeddings[0]!.embedding });
    });
    app.post(`/v1/embeddings/${kind}`, async (req, res) => {
      const { ids } = EntityEmbeddingsRequestSchema.parse(req.body);
      res.json(await options.service.entityEmbeddings(kind, ids, { strict: false }));
    });
  }

  const admin = express.Router();
  admin.post('/reload', async (_req, res) => {
    res.json(await options.models.refresh('admin'));
  });
  admin.post('/promote', async (req, res) => {
    const body = PromoteRequestSchema.parse(req.body);
    const change = await options.registry.promote(body.model, body.version, { actor: 'serving-admin', reason: body.reason ?? 'promoted through the serving admin route' });
    const reload = await options.models.refresh('admin:promote');
    res.json({ model: change.model, from: change.from, to: change.to, changed: change.changed, reload });
  });
  app.use('/admin', admin);

  app.use((_req: Request, res: Response) => { res.status(404).json({ error: 'not found', request_id: requestId(res) }); });
  app.use(errorHandler(options.log));
  return app;
}

function adminAuth(token: string) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (token === '') throw new UnauthorizedError('admin routes are disabled (no admin token configured: RECSYS_ADMIN_TOKEN or RECSYS_ADMIN_TOKEN_FILE)', 403);
    const match = /^Bearer (.+)$/.exec(req.header('authorization') ?? '');
    if (!match || !sameToken(match[1]!, token)) throw new UnauthorizedError('admin routes need the bearer token (Authorization: Bearer <token>)');
    next();
  };
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
