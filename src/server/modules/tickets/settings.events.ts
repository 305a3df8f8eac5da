import { z } from 'zod';
import { defineEvent } from '../../platform/events/events.js';
import { FIELD_TYPES } from './tickets.table.js';

/** Events of an organisation's ticket settings: the category tree and custom field definitions. */

const Changes = z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() }));

export const TicketCategoryCreated = defineEvent(
  'ticket_category.created',
  'ticket_category',
  z.object({ name: z.string(), parentId: z.uuid().nullable(), path: z.string() }),
);
export const TicketCategoryUpdated = defineEvent(
  'ticket_category.updated',
  'ticket_category',
  z.object({ path: z.string(), changes: Changes }),
);
export const TicketCategoryDeleted = defineEvent(
  'ticket_category.deleted',
  'ticket_category',
  z.object({ name: z.string(), parentId: z.uuid().nullable() }),
);

export const TicketFieldCreated = defineEvent(
  'ticket_field.created',
  'ticket_field',
  z.object({ key: z.string(), label: z.string(), type: z.enum(FIELD_TYPES) }),
);
export const TicketFieldUpdated = defineEvent(
  'ticket_field.updated',
  'ticket_field',
  z.object({ key: z.string(), changes: Changes }),
);
export const TicketFieldArchived = defineEvent(
  'ticket_field.archived',
  'ticket_field',
  z.object({ key: z.string() }),
);
