import type { Server, Socket } from 'socket.io';
import type { Actor } from '../identity/index.js';
import { isAgent } from '../tickets/index.js';
import { rooms } from './realtime.rooms.js';

/** What this process knows of one of its sockets. Kept off `socket.data`, which the adapter ships to other processes. */
export interface Session {
  actor: Actor;
  /** The credential, as an Authorization header value, re-checked on revocations and expiry. */
  authorization: string;
  name: string;
  /** Live teams of the user (agents with ticket:view_team). */
  teamIds: string[];
  /** Client events in the current rate window. */
  rate: { windowStart: number; count: number };
}

/** The sessions of this process's sockets, and the rooms that follow from them. */
export class Sessions {
  private readonly bySocket = new WeakMap<Socket, Session>();

  constructor(private readonly io: Server) {}

  set(socket: Socket, session: Session): void {
    this.bySocket.set(socket, session);
  }

  get(socket: Socket): Session | undefined {
    return this.bySocket.get(socket);
  }

  /** A local socket by id with its session, when it is still connected. */
  find(socketId: string): { socket: Socket; session: Session } | undefined {
    const socket = this.io.of('/').sockets.get(socketId);
    const session = socket && this.bySocket.get(socket);
    return socket && session ? { socket, session } : undefined;
  }

  /** Local sockets in a room (this process only). */
  localSockets(room: string): Array<{ socket: Socket; session: Session }> {
    const found: Array<{ socket: Socket; session: Session }> = [];
    this.eachLocal(room, (socket, session) => {
      found.push({ socket, session });
    });
    return found;
  }

  /** Calls `visit` for each local socket in a room, without building a list (the fan-out's hot path). */
  eachLocal(room: string, visit: (socket: Socket, session: Session) => void): void {
    const ids = this.io.of('/').adapter.rooms.get(room);
    if (!ids) return;
    const sockets = this.io.of('/').sockets;
    for (const id of ids) {
      const socket = sockets.get(id);
      const session = socket && this.bySocket.get(socket);
      if (socket && session) visit(socket, session);
    }
  }

  all(): Array<{ socket: Socket; session: Session }> {
    return [...this.io.of('/').sockets.values()].flatMap((socket) => {
      const session = this.bySocket.get(socket);
      return session ? [{ socket, session }] : [];
    });
  }
}

/** Joins the rooms of a session's user, audience, organisation and teams. */
export function joinSessionRooms(socket: Socket, session: Session): void {
  const { actor } = session;
  const joined = [rooms.org(actor.orgId), rooms.user(actor.userId)];
  if (!isAgent(actor)) joined.push(rooms.requesters);
  if (actor.permissions.has('ticket:view_all')) joined.push(rooms.viewAll(actor.orgId));
  if (actor.permissions.has('ticket:view_team')) {
    joined.push(rooms.viewTeam(actor.orgId), ...session.teamIds.map(rooms.team));
  }
  socket.join(joined);
}

/** Moves a socket from its old team rooms to its current ones. */
export function updateTeamRooms(socket: Socket, session: Session, teamIds: string[]): void {
  const next = new Set(teamIds.map(rooms.team));
  for (const room of socket.rooms) if (room.startsWith('team:') && !next.has(room)) socket.leave(room);
  session.teamIds = teamIds;
  if (session.actor.permissions.has('ticket:view_team')) socket.join([...next]);
}
