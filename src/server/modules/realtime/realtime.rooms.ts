/**
 * Socket.io room names. Every socket joins its organisation, its user and its audience;
 * agents join their teams (view_team) or their organisation's view-all room; `ticket:view`
 * joins a ticket's room, and following a ticket the socket could not see otherwise joins
 * its followers' room. Rooms only narrow down who is considered: each ticket event is still
 * checked against the ticket policy for every socket before it is sent.
 */
export const rooms = {
  org: (orgId: string) => `org:${orgId}`,
  user: (userId: string) => `user:${userId}`,
  team: (teamId: string) => `team:${teamId}`,
  ticket: (ticketId: string) => `ticket:${ticketId}`,
  /** Sockets that see a ticket only because they follow it. */
  followers: (ticketId: string) => `followers:${ticketId}`,
  /** Agents who see every ticket of the organisation (ticket:view_all). */
  viewAll: (orgId: string) => `org:${orgId}:view_all`,
  /** Agents who see their teams' tickets and those without a team (ticket:view_team). */
  viewTeam: (orgId: string) => `org:${orgId}:view_team`,
  /** Every requester socket: presence is shared among agents only. */
  requesters: 'requesters',
} as const;
