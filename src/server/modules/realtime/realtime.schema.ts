import { z } from 'zod';

/** Contracts of the socket protocol (docs/realtime.md) and of the presence endpoint. */

/** What a client sends in the handshake: `io(url, { auth: { token, lastEventId } })`. */
export const HandshakeAuth = z.object({
  token: z.string().min(1).max(4096).optional(),
  lastEventId: z.uuid().optional(),
});

export const TicketRef = z.object({ ticketId: z.uuid() }).strict();

export const ComposeKind = z.enum(['reply', 'note']);
export type ComposeKind = z.infer<typeof ComposeKind>;

export const TypingStart = z.object({ ticketId: z.uuid(), kind: ComposeKind.default('reply') }).strict();

/** `draft: true` keeps the agent shown as composing (a draft stays open) after typing stops. */
export const TypingStop = z.object({ ticketId: z.uuid(), draft: z.boolean().default(false) }).strict();

export const PresencePing = z.object({}).strict().optional();

export const SyncRequest = z.object({ lastEventId: z.uuid() }).strict();

export const AuthRefresh = z.object({ token: z.string().min(1).max(4096) }).strict();

export const PresenceViewer = z.object({
  userId: z.uuid(),
  name: z.string(),
  /** Since when (ISO time) the user has had the ticket open. */
  since: z.string(),
  /** A reply or note the user is writing (typing now or a draft left open), else null. */
  composing: ComposeKind.nullable(),
});

export const PresenceTyper = z.object({ userId: z.uuid(), name: z.string(), kind: ComposeKind });

export const PresenceResponse = z
  .object({
    ticketId: z.uuid(),
    viewers: z.array(PresenceViewer),
    typers: z.array(PresenceTyper),
  })
  .meta({ id: 'TicketPresence' });
export type PresenceResponse = z.infer<typeof PresenceResponse>;
