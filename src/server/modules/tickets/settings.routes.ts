import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import {
  CategoryList,
  CategoryResponse,
  CreateCategoryBody,
  CreateFieldBody,
  FieldList,
  FieldListQuery,
  FieldResponse,
  UpdateCategoryBody,
  UpdateFieldBody,
} from './settings.schema.js';
import type { SettingsService } from './settings.service.js';
import { IdParams } from './tickets.schema.js';

const security = [{ bearer: [] }];

/** Ticket categories and custom field definitions: readable by the organisation, written by admins (`admin:settings`). */
export const settingsRoutes: FastifyPluginAsyncZod<{ settings: SettingsService }> = async (
  app,
  { settings },
) => {
  const categoryTags = ['ticket settings: categories'];
  app.get('/ticket-categories', {
    schema: {
      tags: categoryTags,
      summary: 'List the category tree (every member of the organisation)',
      security,
      response: { 200: CategoryList, ...errorResponses },
    },
    handler: (request) => settings.listCategories(actorOf(request)),
  });
  app.post('/ticket-categories', {
    schema: {
      tags: categoryTags,
      summary: 'Create a category (names are unique among siblings, ignoring case)',
      security,
      body: CreateCategoryBody,
      response: { 201: CategoryResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await settings.createCategory(actorOf(request), request.body)),
  });
  app.patch('/ticket-categories/:id', {
    schema: {
      tags: categoryTags,
      summary: 'Rename, re-order or move a category (moving it below itself answers 422)',
      security,
      params: IdParams,
      body: UpdateCategoryBody,
      response: { 200: CategoryResponse, ...errorResponses },
    },
    handler: (request) => settings.updateCategory(actorOf(request), request.params.id, request.body),
  });
  app.delete('/ticket-categories/:id', {
    schema: {
      tags: categoryTags,
      summary: 'Delete a category (soft; 409 while it has sub-categories; tickets keep it)',
      security,
      params: IdParams,
      response: { 204: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      await settings.removeCategory(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  });

  const fieldTags = ['ticket settings: custom fields'];
  app.get('/ticket-fields', {
    schema: {
      tags: fieldTags,
      summary: 'List custom field definitions (requesters see those visible to them)',
      security,
      querystring: FieldListQuery,
      response: { 200: FieldList, ...errorResponses },
    },
    handler: (request) => settings.listFields(actorOf(request), request.query),
  });
  app.post('/ticket-fields', {
    schema: {
      tags: fieldTags,
      summary: 'Define a custom field (keys are unique in the organisation, archived ones included)',
      security,
      body: CreateFieldBody,
      response: { 201: FieldResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await settings.createField(actorOf(request), request.body)),
  });
  app.patch('/ticket-fields/:id', {
    schema: {
      tags: fieldTags,
      summary: 'Edit a custom field (key and type are immutable)',
      description:
        'Removing an option is allowed even when tickets use it: their values stay until the field is changed on the ticket, and the option no longer matches new writes.',
      security,
      params: IdParams,
      body: UpdateFieldBody,
      response: { 200: FieldResponse, ...errorResponses },
    },
    handler: (request) => settings.updateField(actorOf(request), request.params.id, request.body),
  });
  app.delete('/ticket-fields/:id', {
    schema: {
      tags: fieldTags,
      summary: 'Archive a custom field (no longer accepted in writes or filters; values stay on tickets)',
      security,
      params: IdParams,
      response: { 204: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      await settings.archiveField(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  });
};
